package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// failingSearch fronts an Elasticsearch test double and answers every
// _search after the first ok ones with 500.
func failingSearch(t *testing.T, ok int) string {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var searches atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_search") && int(searches.Add(1)) > ok {
			http.Error(w, `{"error":{"type":"node_disconnected_exception","reason":"gone"}}`, 500)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// dirFiles lists a directory's file names.
func dirFiles(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A failed export leaves no partial file, and an earlier export at the
// same path as it was.
func TestFailedExportLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "audit.csv")
	require.NoError(t, os.WriteFile(out, []byte("yesterday's export\n"), 0o600))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"export", "--es", failingSearch(t, 0), "--file", out, "--no-audit"}, &stdout, &stderr)
	require.Error(t, err)
	got, _ := os.ReadFile(out)
	assert.Equal(t, "yesterday's export\n", string(got), "the earlier file is untouched")
	assert.Equal(t, []string{"audit.csv"}, dirFiles(t, dir), "no temporary file left")

	// From the archive: the second file cannot be opened, after the first
	// was read.
	archive := t.TempDir()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(auditgen.Batch(10, auditgen.Options{Seed: 1}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(archive, "a.jsonl"), append(b, '\n'), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(archive, "missing"), filepath.Join(archive, "b.jsonl")))
	fresh := filepath.Join(dir, "archive.csv")
	err = run(context.Background(), []string{"export", "--archive", archive, "--file", fresh, "--no-audit"}, &stdout, &stderr)
	require.Error(t, err)
	assert.NoFileExists(t, fresh)
	assert.Equal(t, []string{"audit.csv"}, dirFiles(t, dir), "no temporary file left")

	// A successful export replaces the file whole.
	require.NoError(t, os.Remove(filepath.Join(archive, "b.jsonl")))
	require.NoError(t, run(context.Background(), []string{"export", "--archive", archive, "--file", out, "--no-audit"}, &stdout, &stderr))
	got, _ = os.ReadFile(out)
	assert.Equal(t, 11, strings.Count(string(got), "\n"), "header and 10 rows")
	assert.Equal(t, []string{"audit.csv"}, dirFiles(t, dir))
}

// A poisoned archive: the command reads the rest and reports what it
// skipped on stderr.
func TestArchiveSkipsAndReports(t *testing.T) {
	archive := t.TempDir()
	good, err := (&plog.JSONMarshaler{}).MarshalLogs(auditgen.Batch(10, auditgen.Options{Seed: 1, IDPrefix: "a"}))
	require.NoError(t, err)
	// Other ids after the bad line: a repeated id is shown once.
	after, err := (&plog.JSONMarshaler{}).MarshalLogs(auditgen.Batch(10, auditgen.Options{Seed: 1, IDPrefix: "b"}))
	require.NoError(t, err)
	content := string(good) + "\n" + `{"resourceLogs":[` + strings.Repeat("[", 20000) + "\n" + string(after) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(archive, "audit.jsonl"), []byte(content), 0o600))
	for _, cmd := range []string{"search", "export"} {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), []string{cmd, "--archive", archive, "--output", "json", "--no-audit"}, &stdout, &stderr), cmd)
		assert.Equal(t, 20, strings.Count(stdout.String(), "\n"), cmd)
		assert.Contains(t, stderr.String(), "audit.jsonl:2: skipped the line", cmd)
		assert.Contains(t, stderr.String(), "skipped 0 records and 1 line of", cmd)
	}
}

// Numeric flags are bounded: no allocation or overflow from a huge value.
func TestNumericFlagsAreBounded(t *testing.T) {
	archive := t.TempDir()
	good, err := (&plog.JSONMarshaler{}).MarshalLogs(auditgen.Batch(3, auditgen.Options{Seed: 1}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(archive, "audit.jsonl"), append(good, '\n'), 0o600))
	for args, want := range map[string]string{
		"--size 4611686018427387904 --page 4": "--size 4611686018427387904: use 1 to 10000",
		"--size 0":                            "--size 0",
		"--size 10000 --page 11":              "--page 11: use 1 to 10",
		"--page -1":                           "--page -1",
		"--max-line-bytes 1":                  "--max-line-bytes 1: use",
		"--max-line-bytes 99999999999":        "--max-line-bytes 99999999999: use",
		"--max-distinct-ids -1":               "--max-distinct-ids -1: use 0 (no bound) or more",
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"search", "--archive", archive, "--no-audit"}, strings.Fields(args)...), &stdout, &stderr)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
}

// An empty or unclear filter is refused, not run as "match everything".
func TestUnclearFiltersAreRefused(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--resource", ""}, `--resource "": use TYPE or TYPE:ID`},
		{[]string{"--resource", ":"}, `--resource ":": use TYPE or TYPE:ID`},
		{[]string{"--resource=notebook:"}, `--resource "notebook:": use TYPE or TYPE:ID`},
		{[]string{"--action", ""}, `--action "" is empty`},
		{[]string{"--user="}, `--user "" is empty`},
		{[]string{"--category", ""}, `--category "" is empty`},
		{[]string{"--outcome", ""}, `--outcome "" is empty`},
		{[]string{"--ip", ""}, `--ip "" is empty`},
		{[]string{"--outcome", "denied"}, `--outcome "denied": use success, failure or unknown`},
		{[]string{""}, `free text "" is empty`},
		{[]string{"jane", " "}, `free text " " is blank`},
	} {
		for _, cmd := range []string{"search", "export"} {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{cmd, "--es", srv.URL, "--no-audit"}, tt.args...), &stdout, &stderr)
			require.Error(t, err, "%s %q", cmd, tt.args)
			assert.Contains(t, err.Error(), tt.want, "%s %q", cmd, tt.args)
		}
	}
	assert.Empty(t, es.Requests(), "nothing was searched")
}

// The last line of defence: whatever an error carries, it reaches the
// terminal escaped, its own line breaks kept.
func TestErrorsReachTheTerminalEscaped(t *testing.T) {
	var stderr bytes.Buffer
	printError(&stderr, errors.New("bad \x1b]0;pwned\x07 value\nsecond line \u202e"))
	assert.Equal(t, "auditctl: bad \\x1b]0;pwned\\x07 value\nsecond line \\u202e\n", stderr.String())
}
