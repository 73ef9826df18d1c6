package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/spf13/pflag"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

// esFlags are the Elasticsearch connection settings of setup, search and
// export. Secrets come from the environment, a file (- for stdin), the
// config file, or (with a warning) a flag or the URL.
type esFlags struct {
	fs                                                    *pflag.FlagSet
	url, apiKey, apiKeyFile, user, password, passwordFile *string
}

// addESFlags declares the connection flags, for every command that
// reaches Elasticsearch.
func addESFlags(fs *pflag.FlagSet) esFlags {
	return esFlags{
		fs:           fs,
		url:          fs.String("es", env("ELASTICSEARCH_URL", "http://localhost:9200"), "Elasticsearch URL"),
		apiKey:       fs.String("api-key", env("ELASTICSEARCH_API_KEY", ""), "Elasticsearch API key (prefer ELASTICSEARCH_API_KEY or --api-key-file: ps shows flags)"),
		apiKeyFile:   fs.String("api-key-file", env("ELASTICSEARCH_API_KEY_FILE", ""), "read the Elasticsearch API key from this file (- for stdin)"),
		user:         fs.String("es-user", env("ELASTICSEARCH_USER", ""), "Elasticsearch user"),
		password:     fs.String("es-password", env("ELASTICSEARCH_PASSWORD", ""), "Elasticsearch password (prefer ELASTICSEARCH_PASSWORD or --es-password-file: ps shows flags)"),
		passwordFile: fs.String("es-password-file", env("ELASTICSEARCH_PASSWORD_FILE", ""), "read the Elasticsearch password from this file (- for stdin)"),
	}
}

// esConn is what the flags resolved to.
type esConn struct {
	cfg elasticsearch.Config
	// URL is the address without credentials: the one to print or record.
	URL string
}

// origin names where a setting came from, for messages.
func (f esFlags) origin(flagName, envName, fileKey string) string {
	switch {
	case f.fs.Changed(flagName):
		return "--" + flagName
	case os.Getenv(envName) != "":
		return envName
	}
	return fileKey + " in the config file"
}

// maxSecretBytes bounds a secret file: an API key or password is short.
const maxSecretBytes = 64 << 10

func readSecret(flagName, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flagName, err)
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretBytes+1))
	if err != nil {
		return "", fmt.Errorf("--%s %s: %w", flagName, path, err)
	}
	if len(b) > maxSecretBytes {
		return "", fmt.Errorf("--%s %s: longer than %d bytes; the file should hold the secret alone", flagName, path, maxSecretBytes)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("--%s %s: empty; the file should hold the secret alone", flagName, path)
	}
	return s, nil
}

// secret is one secret setting: a value (flag, environment, config file)
// or a file holding it.
type secret struct {
	flag, env, key    string // --api-key, ELASTICSEARCH_API_KEY, api_key
	fileFlag, envFile string
	value, path       string
}

// from names where the secret came from.
func (s secret) from(f esFlags) string {
	if s.path != "" {
		return f.origin(s.fileFlag, s.envFile, "-")
	}
	return f.origin(s.flag, s.env, s.key)
}

// read resolves the secret: its value, or its file's content.
func (s *secret) read(f esFlags) error {
	if s.path == "" {
		return nil
	}
	if s.value != "" {
		return fmt.Errorf("--%s and --%s are both set: use one (from %s and %s)", s.flag, s.fileFlag, f.origin(s.flag, s.env, s.key), f.origin(s.fileFlag, s.envFile, "-"))
	}
	v, err := readSecret(s.fileFlag, s.path)
	s.value = v
	return err
}

// resolve reads the secret files, refuses conflicting credentials, warns
// (to stderr) about secrets that ps or the URL expose, and moves the URL's
// userinfo into the client's user and password so that no message or
// record carries it.
func (f esFlags) resolve(stderr io.Writer) (esConn, error) {
	clean, urlUser, urlPassword, hasUserinfo, err := auditctl.SplitUserinfo(*f.url)
	if err == nil {
		var u *url.URL
		u, err = url.Parse(clean)
		if err == nil && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			err = errors.New("not http(s)")
		}
	}
	if err != nil {
		return esConn{}, fmt.Errorf("--es %q: use an http(s) URL with a host, e.g. https://localhost:9200", auditctl.RedactURL(*f.url))
	}
	key := secret{flag: "api-key", env: "ELASTICSEARCH_API_KEY", key: "api_key", fileFlag: "api-key-file", envFile: "ELASTICSEARCH_API_KEY_FILE", value: *f.apiKey, path: *f.apiKeyFile}
	pw := secret{flag: "es-password", env: "ELASTICSEARCH_PASSWORD", key: "es_password", fileFlag: "es-password-file", envFile: "ELASTICSEARCH_PASSWORD_FILE", value: *f.password, path: *f.passwordFile}
	if key.path == "-" && pw.path == "-" {
		return esConn{}, errors.New("--api-key-file and --es-password-file both read stdin (-): give one of them a file")
	}
	if err := key.read(f); err != nil {
		return esConn{}, err
	}
	if err := pw.read(f); err != nil {
		return esConn{}, err
	}
	user, userFrom := *f.user, f.origin("es-user", "ELASTICSEARCH_USER", "es_user")
	inURL := "the Elasticsearch URL carries credentials (user:password@) and %s is also set: use one; remove user:password@ from the URL"
	switch {
	case hasUserinfo && key.value != "":
		return esConn{}, fmt.Errorf(inURL, key.from(f))
	case hasUserinfo && user != "":
		return esConn{}, fmt.Errorf(inURL, userFrom)
	case hasUserinfo && pw.value != "":
		return esConn{}, fmt.Errorf(inURL, pw.from(f))
	case key.value != "" && user != "":
		return esConn{}, fmt.Errorf("an API key (%s) and a user/password (%s) are both set: use one", key.from(f), userFrom)
	case key.value != "" && pw.value != "":
		return esConn{}, fmt.Errorf("an API key (%s) and a user/password (%s) are both set: use one", key.from(f), pw.from(f))
	case pw.value != "" && user == "":
		return esConn{}, fmt.Errorf("a password (%s) without a user: set --es-user or ELASTICSEARCH_USER", pw.from(f))
	}
	for _, s := range []secret{key, pw} {
		if f.fs.Changed(s.flag) {
			fmt.Fprintf(stderr, "auditctl: warning: --%s puts the secret on the command line, where ps shows it to every user of this machine and the shell history keeps it; use %s or --%s FILE (- for stdin)\n", s.flag, s.env, s.fileFlag)
		}
	}
	password := pw.value
	if hasUserinfo {
		where := "ELASTICSEARCH_URL or the config file"
		if f.fs.Changed("es") {
			where = "--es, where ps shows them"
		}
		fmt.Fprintf(stderr, "auditctl: warning: the Elasticsearch URL carries credentials (in %s); auditctl prints and records the URL without them; prefer --es-user with ELASTICSEARCH_PASSWORD or --es-password-file\n", where)
		user, password = urlUser, urlPassword
	}
	return esConn{cfg: elasticsearch.Config{Addresses: []string{clean}, APIKey: key.value, Username: user, Password: password}, URL: clean}, nil
}

func (c esConn) client() (*elasticsearch.Client, error) {
	es, err := elasticsearch.NewClient(c.cfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client for %s: %v", auditctl.RedactURL(c.URL), err)
	}
	return es, nil
}

// warnUserinfo warns about credentials in another URL flag and returns
// the URL without them, and them.
func warnUserinfo(stderr io.Writer, flagName, raw string) (clean, user, password string, has bool, err error) {
	clean, user, password, has, err = auditctl.SplitUserinfo(raw)
	if err != nil {
		return "", "", "", false, fmt.Errorf("--%s %q: not a URL", flagName, auditctl.RedactURL(raw))
	}
	if has {
		fmt.Fprintf(stderr, "auditctl: warning: --%s carries credentials (user:password@), which ps may show; auditctl prints and records the URL without them\n", flagName)
	}
	return clean, user, password, has, nil
}
