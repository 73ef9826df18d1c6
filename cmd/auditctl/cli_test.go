package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
)

// Help is an answer, not an error: every command's --help exits 0 and
// prints that command's flags.
func TestHelpExitsZero(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "auditctl setup"},
		{[]string{"-h"}, "auditctl setup"},
		{[]string{"help"}, "auditctl setup"},
		{[]string{"search", "--help"}, "--since"},
		{[]string{"export", "-h"}, "--file"},
		{[]string{"setup", "--help"}, "--collector-config"},
		{[]string{"catalog", "lint", "--help"}, "catalog lint"},
		{[]string{"help", "search"}, "--archive"},
	} {
		var out, errOut bytes.Buffer
		require.NoError(t, run(context.Background(), tt.args, &out, &errOut), "%q", tt.args)
		assert.Contains(t, out.String(), tt.want, "%q", tt.args)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}))
	assert.True(t, strings.HasPrefix(out.String(), "auditctl "+version), out.String())
}

// Completion scripts for the four shells, with the commands and flags.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_auditctl", "zsh": "#compdef auditctl", "fish": "complete -c auditctl", "powershell": "Register-ArgumentCompleter",
	} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"completion", shell}, &out, &bytes.Buffer{}), shell)
		assert.Contains(t, out.String(), want, shell)
	}
	// Flag values complete too: cobra's hidden __complete command.
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"__complete", "search", "--outcome", ""}, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "failure")
}

// Each flag means the same on every command that has it, declared once.
func TestSharedFlagsAreTheSame(t *testing.T) {
	root := newRoot(context.Background(), &bytes.Buffer{}, &bytes.Buffer{})
	usage := map[string]string{}
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if prev, ok := usage[f.Name]; ok {
				assert.Equal(t, prev, f.Usage, "--%s differs on %s", f.Name, c.Name())
			}
			usage[f.Name] = f.Usage
		})
	}
	assert.Contains(t, usage, "es")
	assert.Contains(t, usage, "archive")
}

// twoExporters is a collector config with two audit_elasticsearch
// exporters, whose settings come from the environment.
const twoExporters = `exporters:
  audit_elasticsearch/eu:
    data_stream: {dataset: audit, namespace: eu}
    retention:
      default: ${env:EU_RETENTION}
      tiers: []
  audit_elasticsearch/us:
    data_stream: {dataset: audit, namespace: "${env:US_NAMESPACE:-us}"}
    retention: {default: 30d, tiers: []}
`

func TestExporterIsNamedNotPicked(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(twoExporters), 0o600))
	t.Setenv("EU_RETENTION", "777d")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"setup", "--dry-run", "--collector-config", cfg}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit_elasticsearch/eu, audit_elasticsearch/us")
	assert.Contains(t, err.Error(), "--exporter NAME")

	for _, tt := range []struct{ exporter, want string }{
		{"audit_elasticsearch/eu", "logs-audit.deadletter-eu"},
		{"audit_elasticsearch/us", "logs-audit.deadletter-from-env"},
	} {
		t.Setenv("US_NAMESPACE", "from-env")
		out.Reset()
		require.NoError(t, run(context.Background(), []string{"setup", "--dry-run", "--collector-config", cfg, "--exporter", tt.exporter}, &out, &errOut), tt.exporter)
		assert.Contains(t, out.String(), tt.want, tt.exporter)
	}
	err = run(context.Background(), []string{"setup", "--dry-run", "--collector-config", cfg, "--exporter", "audit_elasticsearch/asia"}, &out, &errOut)
	assert.ErrorContains(t, err, `no exporter "audit_elasticsearch/asia"`)
}

// ${env:…} is expanded as the collector expands it, defaults included.
func TestCollectorConfigExpandsEnv(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`exporters:
  audit_elasticsearch:
    data_stream: {dataset: audit, namespace: "${env:AUDIT_NS:-fallback}"}
    retention: {default: "${env:AUDIT_DEFAULT_RETENTION}"}
`), 0o600))
	t.Setenv("AUDIT_DEFAULT_RETENTION", "123d")
	got, err := exporterConfig(cfg, "")
	require.NoError(t, err)
	assert.Equal(t, "fallback", got.DataStream.Namespace)
	assert.Equal(t, "123d", got.Retention.Default)
}

// /dev/null is a character device but no terminal: output sent there is
// not a table and gets no progress bar.
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))
	assert.False(t, isTerminal(&bytes.Buffer{}))
}

// writeArchive writes n generated events as one archive line.
func writeArchive(t *testing.T, path string, n int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	ld := auditgen.Batch(n, auditgen.Options{Seed: 1})
	// As the processor marks an unknown action: every third record.
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i += 3 {
		recs.At(i).Attributes().PutStr("audit.route", "quarantine")
	}
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o600))
}

// An export from the archive draws a progress bar when stderr is a
// terminal, and none otherwise.
func TestArchiveExportShowsProgressOnATerminal(t *testing.T) {
	dir := t.TempDir()
	writeArchive(t, filepath.Join(dir, "a.jsonl"), 20)
	writeArchive(t, filepath.Join(dir, "b.jsonl"), 20) // the same ids again: a warning
	for _, terminal := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		isTerminal = func(w io.Writer) bool { return terminal && w == &stderr }
		require.NoError(t, run(context.Background(), []string{"export", "--archive", dir, "--no-audit"}, &stdout, &stderr))
		assert.Equal(t, terminal, strings.Contains(stderr.String(), "\r[========================================] 100% of "), "terminal %v: %q", terminal, stderr.String())
		assert.Contains(t, stderr.String(), "exported 20 events from the archive")
		for _, line := range strings.Split(stderr.String(), "\n") {
			if i := strings.Index(line, "auditctl:"); i >= 0 {
				assert.Zero(t, i, "a message starts its own line, not the bar's: %q", line)
			}
		}
	}
	isTerminal = stdTerminal
}

// --max-distinct-ids bounds the matching events an archive read holds to
// show each once; past it the read fails and says how to narrow it.
func TestArchiveMaxDistinctIDs(t *testing.T) {
	dir := t.TempDir()
	writeArchive(t, filepath.Join(dir, "a.jsonl"), 20)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{args: []string{"export"}},
		{args: []string{"export", "--max-distinct-ids", "20"}},
		{args: []string{"export", "--max-distinct-ids", "0"}},
		{args: []string{"export", "--max-distinct-ids", "19"}, err: "more than 19 distinct matching events"},
		{args: []string{"search", "--max-distinct-ids", "5"}, err: "more than 5 distinct matching events"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(tc.args, "--archive", dir, "--no-audit"), &stdout, &stderr)
		if tc.err == "" {
			require.NoError(t, err, tc.args)
			continue
		}
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.err, tc.args)
		assert.Contains(t, err.Error(), "narrow the query (--since", tc.args)
	}
}

// Elasticsearch out of reach: when an archive is there (data/archive, or
// where the collector config's file exporter writes), the error names it.
func TestUnreachableSuggestsTheArchive(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	args := []string{"search", "--es", "http://127.0.0.1:1", "--no-audit"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	require.ErrorContains(t, err, "cannot reach Elasticsearch")
	assert.NotContains(t, err.Error(), "--archive", "no archive, no hint")

	writeArchive(t, filepath.Join(dir, "data", "archive", "audit.jsonl"), 1)
	err = run(context.Background(), args, &stdout, &stderr)
	require.ErrorContains(t, err, "cannot reach Elasticsearch")
	assert.Contains(t, err.Error(), "set ELASTICSEARCH_URL or --es, or read the archive: auditctl search --archive data/archive")

	require.NoError(t, os.WriteFile("collector.yaml", []byte("exporters:\n  file/archive:\n    path: ${env:ARCHIVE_DIR}/audit.jsonl\n"), 0o600))
	t.Setenv("ARCHIVE_DIR", filepath.Join(dir, "elsewhere"))
	writeArchive(t, filepath.Join(dir, "elsewhere", "audit.jsonl"), 1)
	err = run(context.Background(), append([]string{"export", "--collector-config", "collector.yaml"}, args[1:]...), &stdout, &stderr)
	require.ErrorContains(t, err, "cannot reach Elasticsearch")
	assert.Contains(t, err.Error(), "auditctl export --archive "+filepath.Join(dir, "elsewhere"))
}

// --quarantined lists only what the processor quarantined.
func TestQuarantinedFlag(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "audit.jsonl")
	writeArchive(t, archive, 50)
	var all, quarantined, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search", "--archive", archive, "--no-audit", "--output", "json", "--size", "100"}, &all, &stderr))
	require.NoError(t, run(context.Background(), []string{"search", "--archive", archive, "--no-audit", "--output", "json", "--size", "100", "--quarantined"}, &quarantined, &stderr))
	lines := strings.Split(strings.TrimSpace(quarantined.String()), "\n")
	assert.Less(t, len(lines), 50)
	for _, l := range lines {
		assert.Contains(t, l, `"route":"quarantine"`)
	}
	assert.Equal(t, len(lines), strings.Count(all.String(), `"route":"quarantine"`))
}

// Go-flag style single-dash long flags, which auditctl took before cobra,
// still work.
func TestSingleDashLongFlags(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "audit.jsonl")
	writeArchive(t, archive, 4)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"search", "-archive", archive, "-no-audit", "-output=json", "-size", "2"}, &stdout, &stderr))
	assert.Equal(t, 2, strings.Count(stdout.String(), "\n"))
	for _, tt := range []struct{ in, want []string }{
		{[]string{"search", "-page", "-1", "-", "--", "-since"}, []string{"search", "--page", "-1", "-", "--", "-since"}},
		{[]string{"search", "-action", "-report", "-no-audit", "-es-password", "-since"}, []string{"search", "--action", "-report", "--no-audit", "--es-password", "-since"}},
		{[]string{"search", "--es-password", "-abc", "-h", "-jane", "-output=json"}, []string{"search", "--es-password", "-abc", "-h", "-jane", "--output=json"}},
		{[]string{"-config", "f.yaml", "search"}, []string{"--config", "f.yaml", "search"}},
	} {
		assert.Equal(t, tt.want, normalizeArgs(tt.in), "%q", tt.in)
	}
}

// keygen writes a pair once and never replaces it.
func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"keygen", "--out", dir}, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "audit-signing.key")
	assert.Contains(t, out.String(), "key id ")
	err := run(context.Background(), []string{"keygen", "--out", dir}, &out, &bytes.Buffer{})
	assert.ErrorContains(t, err, "never replaces")
	assert.ErrorContains(t, run(context.Background(), []string{"keygen"}, &out, &bytes.Buffer{}), "--out")
}
