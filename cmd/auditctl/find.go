package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// findFlags are the flags of search and export, declared once in
// addFindFlags.
type findFlags struct {
	fs                   *pflag.FlagSet
	es                   esFlags
	q                    auditquery.Query
	since, from, to, tz  string
	resource             string
	size, page, maxLine  int
	maxIDs               int
	output, file         string
	archive              string
	auditEndpoint, actor string
	auditTokenFile       string
	noAudit              bool
	collectorConfig      *string
}

func addFindFlags(cmd *cobra.Command) *findFlags {
	fs := cmd.Flags()
	f := &findFlags{fs: fs, es: addESFlags(fs)}
	fs.StringVar(&f.since, "since", "", "yesterday, 2d, 7d, 30d, 90d, or a duration such as 12h")
	fs.StringVar(&f.from, "from", "", "start: RFC 3339 or a date (YYYY-MM-DD)")
	fs.StringVar(&f.to, "to", "", "end: RFC 3339 or a date (YYYY-MM-DD)")
	fs.StringVar(&f.tz, "tz", "Local", "time zone for dates and the table (e.g. UTC, Asia/Tokyo)")
	fs.StringVar(&f.q.User, "user", "", "masked email (***@example.com) or user.hash pseudonym")
	fs.StringVar(&f.q.Action, "action", "", "exact action name")
	fs.StringVar(&f.q.Category, "category", "", "catalog category, e.g. access_control")
	fs.StringVar(&f.resource, "resource", "", "TYPE or TYPE:ID: a resource's change log")
	fs.StringVar(&f.q.Outcome, "outcome", "", "success, failure or unknown")
	fs.StringVar(&f.q.IP, "ip", "", "client address or prefix (203.0.113.0/24)")
	fs.BoolVar(&f.q.Quarantined, "quarantined", false, "only events the collector quarantined (unknown actions; see audit.invalid_reason)")
	fs.IntVar(&f.size, "size", 50, "hits per page (search)")
	fs.IntVar(&f.page, "page", 1, "page, from 1 (search); deep pages use search_after")
	fs.StringVar(&f.output, "output", "", outputUsage)
	fs.StringVar(&f.file, "file", "", "write to this file instead of stdout (export)")
	addArchiveFlag(fs, &f.archive)
	fs.IntVar(&f.maxLine, "max-line-bytes", auditctl.DefaultMaxLineBytes, "with --archive: skip (and report) archive lines longer than this")
	fs.IntVar(&f.maxIDs, "max-distinct-ids", auditctl.DefaultMaxDistinctIDs, "with --archive: fail past this many distinct matching events (each held in memory, about 40 bytes, to show it once); 0: no bound")
	addAuditFlags(fs, &f.auditEndpoint, &f.auditTokenFile)
	fs.BoolVar(&f.noAudit, "no-audit", env("AUDITCTL_AUDIT", "") == "off", "do not record this access in the audit log (also AUDITCTL_AUDIT=off)")
	fs.StringVar(&f.actor, "actor", env("AUDITCTL_ACTOR", loginName()), "who is reading: user.name of the access record (user.id is who Elasticsearch authenticated, else this account)")
	complete := func(name string, values ...string) {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	complete("output", auditctl.Table, auditctl.JSON, auditctl.CSV)
	complete("outcome", auditquery.Outcomes...)
	complete("since", "yesterday", "2d", "7d", "30d", "90d")
	_ = cmd.MarkFlagFilename("archive", "jsonl")
	f.collectorConfig = addCollectorConfigFlag(cmd, "config/local.yaml")
	return f
}

func findCommand(name string) *cobra.Command {
	short := map[string]string{
		"search": "Find events, newest first (table, json or csv)",
		"export": "Write every match as CSV or NDJSON, streaming",
	}[name]
	cmd := &cobra.Command{
		Use:   name + " [flags] [TEXT]",
		Short: short,
		Long: short + `.

TEXT is a case-insensitive partial match over the user, action, resource and message;
flags may follow it (auditctl ` + name + ` jane --since 7d).`,
		Args: cobra.ArbitraryArgs,
	}
	f := addFindFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, words []string) error {
		return f.run(cmd, name, words)
	}
	return cmd
}

// query builds the query from the flags and words, refusing what would
// silently match everything or nothing.
func (f *findFlags) query(words []string) (auditquery.Query, *time.Location, error) {
	q := f.q
	if err := refuseEmpty(f.fs, words); err != nil {
		return q, nil, err
	}
	q.Text = strings.Join(words, " ")
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return q, nil, fmt.Errorf("--tz %q: %v", f.tz, err)
	}
	now := time.Now()
	switch {
	case f.since != "" && f.from != "":
		return q, nil, errors.New("--since and --from both set: use one")
	case f.since != "":
		if q.From, err = auditquery.ParseSince(f.since, now, loc); err != nil {
			return q, nil, err
		}
	case f.from != "":
		if q.From, err = auditquery.ParseTime("--from", f.from, loc); err != nil {
			return q, nil, err
		}
	}
	if f.to != "" {
		if q.To, err = auditquery.ParseTime("--to", f.to, loc); err != nil {
			return q, nil, err
		}
	}
	if f.fs.Changed("resource") {
		if q.ResourceType, q.ResourceID, err = auditquery.ParseResource(f.resource); err != nil {
			return q, nil, err
		}
	}
	return q, loc, q.Validate()
}

// run is search or export: check everything, record the access, read.
func (f *findFlags) run(cmd *cobra.Command, name string, words []string) error {
	ctx := cmd.Context()
	stderr := &statusLine{w: cmd.ErrOrStderr()}
	q, loc, err := f.query(words)
	if err != nil {
		return err
	}
	if name == "search" {
		if err := auditctl.CheckPage(f.size, f.page); err != nil {
			return err
		}
	}
	if f.maxLine < 1<<10 || f.maxLine > auditctl.MaxLineBytesLimit {
		return fmt.Errorf("--max-line-bytes %d: use %d to %d", f.maxLine, 1<<10, auditctl.MaxLineBytesLimit)
	}
	if f.maxIDs < 0 {
		return fmt.Errorf("--max-distinct-ids %d: use 0 (no bound) or more", f.maxIDs)
	}
	b, source, err := f.backend(stderr)
	if err != nil {
		return err
	}
	if f.noAudit {
		return f.suggestArchive(name, f.read(cmd, stderr, name, b, q, loc))
	}
	if _, _, _, _, err := warnUserinfo(stderr, "audit-endpoint", f.auditEndpoint); err != nil {
		return err
	}
	token, err := f.auditToken()
	if err != nil {
		return err
	}
	log := auditctl.AccessLog{Endpoint: f.auditEndpoint, Token: token, Actor: f.actor, ReaderID: loginName(), Identity: "os", Source: source}
	// Who reads, and whether the read can start at all: a read that
	// cannot is recorded as a failure, and nothing is read.
	id, err := b.preflight(ctx)
	if id != "" {
		log.ReaderID, log.Identity = id, "elasticsearch"
	}
	if err != nil {
		recordFailure(ctx, log, name, q, err, stderr)
		return f.suggestArchive(name, err)
	}
	if err := log.Record(ctx, name, q); err != nil {
		return err
	}
	if err := f.read(cmd, stderr, name, b, q, loc); err != nil {
		recordFailure(ctx, log, name, q, err, stderr)
		return f.suggestArchive(name, err)
	}
	return nil
}

// auditToken is the collector's bearer token: AUDITCTL_AUDIT_TOKEN (or
// audit_token in the config file), or --audit-token-file. No flag takes
// the token itself: ps would show it.
func (f *findFlags) auditToken() (string, error) { return readAuditToken(f.auditTokenFile, f.es) }

// readAuditToken is AUDITCTL_AUDIT_TOKEN (or audit_token in the config
// file), or the --audit-token-file named.
func readAuditToken(file string, es esFlags) (string, error) {
	token := env("AUDITCTL_AUDIT_TOKEN", "")
	if file == "" {
		return token, nil
	}
	if token != "" {
		return "", errors.New("AUDITCTL_AUDIT_TOKEN (or audit_token in the config file) and --audit-token-file are both set: use one")
	}
	if file == "-" && (*es.apiKeyFile == "-" || *es.passwordFile == "-") {
		return "", errors.New("--audit-token-file and an Elasticsearch secret file both read stdin (-): give one of them a file")
	}
	return readSecret("audit-token-file", file)
}

// addArchiveFlag declares --archive, for search, export and serve.
func addArchiveFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "archive", "", "read the collector's JSON-lines archive instead of Elasticsearch: its directory (every *.jsonl file) or one file")
}

// addAuditFlags declares where reads are recorded, for search, export and
// serve.
func addAuditFlags(fs *pflag.FlagSet, endpoint, tokenFile *string) {
	fs.StringVar(endpoint, "audit-endpoint", env("AUDITCTL_AUDIT_ENDPOINT", "http://localhost:4318"), "collector OTLP/HTTP URL that records each read")
	fs.StringVar(tokenFile, "audit-token-file", env("AUDITCTL_AUDIT_TOKEN_FILE", ""), "read the collector's bearer token (its AUDIT_RECEIVER_TOKEN) from this file (- for stdin); or set AUDITCTL_AUDIT_TOKEN")
}

// recordFailure records a failed read; the read's error is what the
// command reports, so a failure to record it is a warning.
func recordFailure(ctx context.Context, log auditctl.AccessLog, name string, q auditquery.Query, readErr error, stderr io.Writer) {
	// Still recorded after Ctrl-C stopped the read.
	if err := log.RecordFailure(context.WithoutCancel(ctx), name, q, readErr); err != nil {
		fmt.Fprintln(stderr, "auditctl: warning: the failed read could not be recorded either:", auditctl.Printable(err.Error()))
	}
}

// backend resolves where to read, and the source the access record names.
func (f *findFlags) backend(stderr io.Writer) (backend, string, error) {
	if f.archive != "" {
		return archiveBackend{&auditctl.Archive{Dir: f.archive, MaxLineBytes: f.maxLine, MaxDistinctIDs: f.maxIDs, Warn: stderr}}, "archive " + f.archive, nil
	}
	conn, err := f.es.resolve(stderr)
	if err != nil {
		return nil, "", err
	}
	client, err := conn.client()
	if err != nil {
		return nil, "", err
	}
	return esBackend{client}, "elasticsearch " + conn.URL, nil
}

// read runs the search or the export.
func (f *findFlags) read(cmd *cobra.Command, stderr *statusLine, name string, b backend, q auditquery.Query, loc *time.Location) error {
	if name != "search" {
		return f.export(cmd, stderr, b, q)
	}
	stdout := cmd.OutOrStdout()
	format := f.output
	if format == "" {
		format = auditctl.JSON
		if isTerminal(stdout) {
			format = auditctl.Table
		}
	}
	total, err := b.search(cmd.Context(), q, f.size, f.page, format, loc, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d matching events%s; page %d of %d\n", total, b.where(), f.page, (total+f.size-1)/max(f.size, 1))
	return nil
}

// export writes every match to stdout or --file, with a progress bar on
// stderr when it is a terminal.
func (f *findFlags) export(cmd *cobra.Command, stderr *statusLine, b backend, q auditquery.Query) error {
	ctx := cmd.Context()
	format := f.output
	if format == "" {
		format = auditctl.CSV
	}
	out := cmd.OutOrStdout()
	var file *outFile
	if f.file != "" {
		var err error
		if file, err = createOutput(f.file); err != nil {
			return err
		}
		defer file.abort()
		out = file
	}
	var progress func(done, total int64)
	if isTerminal(stderr.w) {
		progress = func(done, total int64) { stderr.bar(b.bar(done, total)) }
	}
	n, err := b.export(ctx, q, format, out, progress)
	stderr.end()
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.commit(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d events%s\n", n, b.fromWhere())
	return nil
}

// refuseEmpty refuses a filter given empty (--action "", or an empty
// word of free text, as from an unset shell variable): left as it is, it
// would match every event.
func refuseEmpty(fs *pflag.FlagSet, words []string) error {
	for _, name := range []string{"user", "action", "category", "outcome", "ip"} {
		if fs.Changed(name) && fs.Lookup(name).Value.String() == "" {
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

// defaultArchive is where `make run` has the collector write its archive.
const defaultArchive = "data/archive"

// suggestArchive adds to "cannot reach Elasticsearch" the archive to
// read instead, when there is one: data/archive, or where the collector
// config's file exporter writes (first, when --collector-config is set).
func (f *findFlags) suggestArchive(name string, err error) error {
	if !errors.Is(err, auditctl.ErrUnreachable) {
		return err
	}
	candidates := []string{defaultArchive}
	if f.fs.Changed("collector-config") {
		candidates = append(archiveDirs(*f.collectorConfig), candidates...)
	} else {
		candidates = append(candidates, archiveDirs(*f.collectorConfig)...)
	}
	for _, dir := range candidates {
		if auditctl.HasArchive(dir) {
			return fmt.Errorf("%w, or read the archive: auditctl %s --archive %s", err, name, dir)
		}
	}
	return err
}
