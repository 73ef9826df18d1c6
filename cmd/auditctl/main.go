// Command auditctl administers the audit store: `setup` installs the
// Elasticsearch assets, roles and Kibana saved objects; `catalog lint` and
// `catalog docs` check and document catalogs. Run `auditctl help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

const usage = `auditctl administers the otelcol-audit store.

  auditctl setup [flags]              install or upgrade the Elasticsearch assets (ILM policies,
                                      templates, the dead-letter data stream), the writer and
                                      reader roles and, with --kibana [--kibana-space ID], the
                                      Kibana saved objects and quick ranges
  auditctl search [flags] [TEXT]      find events, newest first (table, json or csv)
  auditctl export [flags] [TEXT]      write every match as CSV or NDJSON, streaming
  auditctl catalog lint FILE...       validate catalogs with the processor's rules
  auditctl catalog docs FILE          print a catalog as a Markdown table

Settings come from flags, then the environment, then an optional YAML file (--config FILE,
AUDITCTL_CONFIG, or ~/.config/auditctl/config.yaml) with keys elasticsearch_url, api_key,
es_user, es_password, audit_endpoint, actor and audit (off).
Elasticsearch: --es or ELASTICSEARCH_URL (default http://localhost:9200), and an API key
(ELASTICSEARCH_API_KEY, --api-key-file FILE or ELASTICSEARCH_API_KEY_FILE; - reads stdin) or a
user (--es-user, ELASTICSEARCH_USER) with a password (ELASTICSEARCH_PASSWORD, --es-password-file
FILE or ELASTICSEARCH_PASSWORD_FILE). --api-key and --es-password work too, with a warning: ps
shows the command line. Credentials in a URL are used but never printed or recorded.
`

func main() {
	// Ctrl-C stops an export cleanly (its partial file removed); a second
	// one kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		printError(os.Stderr, err)
		os.Exit(1)
	}
}

// printError writes err for a person: an error may quote what a sender
// wrote (an Elasticsearch reason, a decoder's context), so every line is
// escaped; the error's own line breaks are kept.
func printError(w io.Writer, err error) {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = auditctl.Printable(l)
	}
	fmt.Fprintln(w, "auditctl:", strings.Join(lines, "\n"))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := loadConfigFile(args)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "setup":
		return setup(ctx, args[1:], stdout, stderr)
	case "search", "export":
		return find(ctx, args[0], args[1:], stdout, stderr)
	case "catalog":
		if len(args) < 2 {
			return errors.New("catalog: use `catalog lint FILE...` or `catalog docs FILE`")
		}
		switch args[1] {
		case "lint":
			return auditctl.CatalogLint(stdout, args[2:])
		case "docs":
			if len(args) != 3 {
				return errors.New("catalog docs: name exactly one catalog file")
			}
			return auditctl.CatalogDocs(stdout, args[2])
		}
		return fmt.Errorf("catalog: unknown command %q; use lint or docs", args[1])
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}

// fileConfig holds the optional config file's values (--config or
// AUDITCTL_CONFIG, default ~/.config/auditctl/config.yaml). Precedence:
// flags, then environment, then this file, then built-in defaults.
var fileConfig = map[string]string{}

// fileKeys maps config-file keys to the environment variables they stand in for.
var fileKeys = map[string]string{
	"elasticsearch_url": "ELASTICSEARCH_URL", "api_key": "ELASTICSEARCH_API_KEY",
	"es_user": "ELASTICSEARCH_USER", "es_password": "ELASTICSEARCH_PASSWORD",
	"audit_endpoint": "AUDITCTL_AUDIT_ENDPOINT", "actor": "AUDITCTL_ACTOR", "audit": "AUDITCTL_AUDIT",
}

func loadConfigFile(args []string) ([]string, error) {
	path, explicit := os.Getenv("AUDITCTL_CONFIG"), os.Getenv("AUDITCTL_CONFIG") != ""
	var rest []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--config" || args[i] == "-config":
			if i+1 >= len(args) {
				return nil, errors.New("--config needs a file")
			}
			path, explicit = args[i+1], true
			i++
		case strings.HasPrefix(args[i], "--config="):
			path, explicit = strings.TrimPrefix(args[i], "--config="), true
		default:
			rest = append(rest, args[i])
		}
	}
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = home + "/.config/auditctl/config.yaml"
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("--config: %w", err)
		}
		return rest, nil
	}
	var m map[string]string
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	for k, v := range m {
		if _, ok := fileKeys[k]; !ok {
			keys := make([]string, 0, len(fileKeys))
			for key := range fileKeys {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("config file %s: unknown key %q; the keys are %s", path, k, strings.Join(keys, ", "))
		}
		fileConfig[fileKeys[k]] = v
	}
	return rest, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if v, ok := fileConfig[name]; ok {
		return v
	}
	return def
}

func setup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	esf := addESFlags(fs)
	kibanaURL := fs.String("kibana", "", "Kibana URL; also import the saved objects and add the quick ranges")
	kibanaSpace := fs.String("kibana-space", "", "Kibana space id to install into (default: the default space)")
	collectorCfg := fs.String("collector-config", "config/elasticsearch.yaml", "collector config whose audit_elasticsearch exporter gives the retention tiers and dataset")
	namespace := fs.String("namespace", "", "namespace of the dead-letter data stream to create (default: the exporter's)")
	dryRun := fs.Bool("dry-run", false, "print what would be done, change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := exporterConfig(*collectorCfg)
	if err != nil {
		return err
	}
	ns := cfg.DataStream.Namespace
	if *namespace != "" {
		ns = *namespace
	}
	conn, err := esf.resolve(stderr)
	if err != nil {
		return err
	}
	kibana, kUser, kPassword, kHasUser, err := warnUserinfo(stderr, "kibana", *kibanaURL)
	if err != nil {
		return err
	}
	if kHasUser && (conn.cfg.APIKey != "" || conn.cfg.Username != "") {
		return errors.New("--kibana carries credentials (user:password@) and Elasticsearch credentials are set, which Kibana calls also use: use one; remove user:password@ from --kibana")
	}
	es, err := conn.client()
	if err != nil {
		return err
	}
	if !*dryRun {
		if _, err := es.Info(); err != nil {
			return fmt.Errorf("cannot reach Elasticsearch at %s: %v; set ELASTICSEARCH_URL or --es", auditctl.RedactURL(conn.URL), err)
		}
	}
	if err := auditctl.ValidateSpace(*kibanaSpace); err != nil {
		return err
	}
	o := auditctl.SetupOptions{ES: es, Tiers: cfg.Tiers(), Namespace: ns, Kibana: auditctl.Kibana{URL: kibana, Space: *kibanaSpace}, DryRun: *dryRun, Out: stdout}
	if kibana != "" {
		c := conn.cfg
		o.Kibana.Auth = func(r *http.Request) {
			switch {
			case c.APIKey != "":
				r.Header.Set("Authorization", "ApiKey "+c.APIKey)
			case c.Username != "":
				r.SetBasicAuth(c.Username, c.Password)
			case kHasUser:
				r.SetBasicAuth(kUser, kPassword)
			}
		}
	}
	return auditctl.Setup(ctx, o)
}

// exporterConfig reads the audit_elasticsearch section of a collector
// config, so setup installs exactly the tiers the collector writes to.
func exporterConfig(path string) (*auditelasticsearchexporter.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--collector-config: %w", err)
	}
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("--collector-config %s: %w", path, err)
	}
	f := auditelasticsearchexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	for name, section := range doc.Exporters {
		if name != "audit_elasticsearch" && !strings.HasPrefix(name, "audit_elasticsearch/") {
			continue
		}
		keep := map[string]any{}
		for _, k := range []string{"data_stream", "retention"} {
			if v, ok := section[k]; ok {
				keep[k] = v
			}
		}
		if err := confmap.NewFromStringMap(keep).Unmarshal(cfg); err != nil {
			return nil, fmt.Errorf("--collector-config %s: exporters.%s: %w", path, name, err)
		}
		return cfg, nil
	}
	return nil, fmt.Errorf("--collector-config %s has no audit_elasticsearch exporter", path)
}

// find runs search or export.
func find(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	es := addESFlags(fs)
	since := fs.String("since", "", "yesterday, 2d, 7d, 30d, 90d, or a duration such as 12h")
	from := fs.String("from", "", "start: RFC 3339 or a date (YYYY-MM-DD)")
	to := fs.String("to", "", "end: RFC 3339 or a date (YYYY-MM-DD)")
	tz := fs.String("tz", "Local", "time zone for dates and the table (e.g. UTC, Asia/Tokyo)")
	var q auditquery.Query
	fs.StringVar(&q.User, "user", "", "masked email (***@example.com) or user.hash pseudonym")
	fs.StringVar(&q.Action, "action", "", "exact action name")
	fs.StringVar(&q.Category, "category", "", "catalog category, e.g. access_control")
	resource := fs.String("resource", "", "TYPE or TYPE:ID: a resource's change log")
	fs.StringVar(&q.Outcome, "outcome", "", "success, failure or unknown")
	fs.StringVar(&q.IP, "ip", "", "client address or prefix (203.0.113.0/24)")
	size := fs.Int("size", 50, "hits per page (search)")
	page := fs.Int("page", 1, "page, from 1 (search); deep pages use search_after")
	output := fs.String("output", "", "table, json or csv (search: table on a terminal, else json; export: csv)")
	file := fs.String("file", "", "write to this file instead of stdout (export)")
	archive := fs.String("archive", "", "read the collector's JSON-lines archive in this directory instead of Elasticsearch")
	maxLine := fs.Int("max-line-bytes", auditctl.DefaultMaxLineBytes, "with --archive: skip (and report) archive lines longer than this")
	auditEndpoint := fs.String("audit-endpoint", env("AUDITCTL_AUDIT_ENDPOINT", "http://localhost:4318"), "collector OTLP/HTTP URL that records this access")
	noAudit := fs.Bool("no-audit", env("AUDITCTL_AUDIT", "") == "off", "do not record this access in the audit log (also AUDITCTL_AUDIT=off)")
	actor := fs.String("actor", env("AUDITCTL_ACTOR", env("USER", "unknown")), "who is reading, for the access record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Flags may follow the free text: auditctl search jane --since 7d.
	var words []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		words = append(words, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
	}
	if err := refuseEmpty(fs, words); err != nil {
		return err
	}
	q.Text = strings.Join(words, " ")
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("--tz %q: %v", *tz, err)
	}
	now := time.Now()
	switch {
	case *since != "" && *from != "":
		return errors.New("--since and --from both set: use one")
	case *since != "":
		if q.From, err = auditquery.ParseSince(*since, now, loc); err != nil {
			return err
		}
	case *from != "":
		if q.From, err = auditquery.ParseTime("--from", *from, loc); err != nil {
			return err
		}
	}
	if *to != "" {
		if q.To, err = auditquery.ParseTime("--to", *to, loc); err != nil {
			return err
		}
	}
	if isSet(fs, "resource") {
		if q.ResourceType, q.ResourceID, err = auditquery.ParseResource(*resource); err != nil {
			return err
		}
	}
	if err := q.Validate(); err != nil {
		return err
	}
	if cmd == "search" && (*size < 1 || *size > 10000) {
		return fmt.Errorf("--size %d: use 1 to 10000", *size)
	}
	if cmd == "search" && *page < 1 {
		return fmt.Errorf("--page %d: pages start at 1", *page)
	}
	if *maxLine < 1<<10 || *maxLine > auditctl.MaxLineBytesLimit {
		return fmt.Errorf("--max-line-bytes %d: use %d to %d", *maxLine, 1<<10, auditctl.MaxLineBytesLimit)
	}
	var conn esConn
	source := "archive " + *archive
	if *archive == "" {
		if conn, err = es.resolve(stderr); err != nil {
			return err
		}
		source = "elasticsearch " + conn.URL
	}
	if !*noAudit {
		if _, _, _, _, err := warnUserinfo(stderr, "audit-endpoint", *auditEndpoint); err != nil {
			return err
		}
		if err := (auditctl.AccessLog{Endpoint: *auditEndpoint, Actor: *actor, Source: source}).Record(ctx, cmd, q); err != nil {
			return err
		}
	}
	if *archive != "" {
		return fromArchive(ctx, cmd, &auditctl.Archive{Dir: *archive, MaxLineBytes: *maxLine, Warn: stderr}, q, *size, *page, *output, *file, loc, stdout, stderr)
	}
	client, err := conn.client()
	if err != nil {
		return err
	}
	if cmd == "search" {
		format := *output
		if format == "" {
			format = auditctl.JSON
			if isTerminal(stdout) {
				format = auditctl.Table
			}
		}
		total, err := auditctl.Search(ctx, auditctl.SearchOptions{ES: client, Query: q, Size: *size, Page: *page, Output: format, TZ: loc, Out: stdout})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d matching events; page %d of %d\n", total, *page, (total+*size-1)/max(*size, 1))
		return nil
	}
	format := *output
	if format == "" {
		format = auditctl.CSV
	}
	out := stdout
	if *file != "" {
		f, err := createOutput(*file)
		if err != nil {
			return err
		}
		defer f.abort()
		out = f
	}
	opts := auditctl.ExportOptions{ES: client, Query: q, Output: format, Out: out}
	if isTerminal(stderr) {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(stderr, "\r%s", auditctl.ProgressBar(done, total, 40))
		}
	}
	n, err := auditctl.Export(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	if f, ok := out.(*outFile); ok {
		if err := f.commit(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d events\n", n)
	return nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// refuseEmpty refuses a filter given empty (--action "", or an empty
// word of free text, as from an unset shell variable): left as it is, it
// would match every event.
func refuseEmpty(fs *flag.FlagSet, words []string) error {
	for _, name := range []string{"user", "action", "category", "outcome", "ip"} {
		if isSet(fs, name) && fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("--%s \"\" is empty: give a value, or leave the flag out to match every event", name)
		}
	}
	for _, w := range words {
		switch {
		case w == "":
			return errors.New(`free text "" is empty (an unset shell variable?): give words, or none to match every event`)
		case strings.TrimSpace(w) == "":
			return fmt.Errorf("free text %q is blank: give words, or none to match every event", w)
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func fromArchive(ctx context.Context, cmd string, a *auditctl.Archive, q auditquery.Query, size, page int, output, file string, loc *time.Location, stdout, stderr io.Writer) error {
	if cmd == "search" {
		format := output
		if format == "" {
			format = auditctl.JSON
			if isTerminal(stdout) {
				format = auditctl.Table
			}
		}
		total, err := auditctl.SearchArchive(ctx, a, q, size, page, format, loc, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d matching events in the archive; page %d of %d\n", total, page, (total+size-1)/max(size, 1))
		return nil
	}
	if output == "" {
		output = auditctl.CSV
	}
	out := stdout
	if file != "" {
		f, err := createOutput(file)
		if err != nil {
			return err
		}
		defer f.abort()
		out = f
	}
	n, err := auditctl.ExportArchive(ctx, a, q, output, out)
	if err != nil {
		return err
	}
	if f, ok := out.(*outFile); ok {
		if err := f.commit(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d events from the archive\n", n)
	return nil
}

// stdin is where a secret file named - is read from (tests replace it).
var stdin io.Reader = os.Stdin
