package loadharness

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// The whole API run at small N on both stores, against binaries built
// here: every page is org-1's only, every export has all of org-1's
// events, every read is recorded.
func TestAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds auditctl and the test double, and runs them")
	}
	root := testcollector.RepoRoot()
	auditctl := testcollector.Auditctl(t)
	double := filepath.Join(t.TempDir(), "es-testdouble")
	cmd := exec.Command("go", "build", "-o", double, "./cmd/es-testdouble")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/es-testdouble: %s", out)

	for _, store := range []string{StoreES, StoreArchive} {
		t.Run(store, func(t *testing.T) {
			o := Options{ESDouble: double, RepoRoot: root, WorkDir: t.TempDir()}
			rep, err := API(o, auditctl, APIOptions{Store: store, Events: 3000, Requests: 20, Command: "test"})
			require.NoError(t, err)
			t.Log("\n" + rep.String())
			assert.Equal(t, 20, rep.Reads)
			assert.Equal(t, 24, rep.Sink, "one record per read, two per export")
			require.Len(t, rep.Exports, 2)
			for _, x := range rep.Exports {
				assert.Equal(t, 600, x.Rows, x.Format)
			}
			require.Len(t, rep.Latencies, len(apiKinds)+1)
			all := rep.Latencies[len(rep.Latencies)-1]
			assert.Equal(t, "all", all.Kind)
			assert.Equal(t, 20, all.N)
			assert.True(t, all.P50 > 0 && all.P50 <= all.P99 && all.P99 <= all.Max)
			assert.Positive(t, rep.PeakRSSMiB)
			assert.True(t, all.MaxAt >= 1 && all.MaxAt <= 20)
		})
	}
}

// The checks that make the figures trustworthy fail on another tenant's
// event, a filter that did not apply, a short or repeated export, and the
// service's "stopped early" line.
func TestAPIChecks(t *testing.T) {
	ok := apiPage{Events: []apiEvent{{ID: "a", Organization: "org-1", Action: "report.view"}}}
	require.NoError(t, checkPage(ok, "org-1", "report.view"))
	leak := apiPage{Events: []apiEvent{{ID: "a", Organization: "org-1"}, {ID: "b", Organization: "org-2"}}}
	assert.ErrorContains(t, checkPage(leak, "org-1", ""), "another tenant")
	assert.ErrorContains(t, checkPage(ok, "org-1", "notebook.open"), "filter")

	header := "Time,User,Action,Resource,IP Address,User Agent,Region,Outcome,Event ID,User ID,User Name,User Hash,Actor Type,Resource Type,Resource ID,Organization,Group,Categories,Message,Properties\n"
	row := func(id, org string) string {
		return "2025-11-01T00:00:00Z,u,report.view,,,,,success," + id + ",,,,,,," + org + ",,,\"a\nb\",\n"
	}
	n, err := readExport("csv", strings.NewReader(header+row("a", "org-1")+row("b", "org-1")), "org-1")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "a quoted newline is one row")
	_, err = readExport("csv", strings.NewReader(header+row("a", "org-1")+row("b", "org-2")), "org-1")
	assert.ErrorContains(t, err, "another tenant")
	_, err = readExport("csv", strings.NewReader(header+row("a", "org-1")+row("a", "org-1")), "org-1")
	assert.ErrorContains(t, err, "twice")
	_, err = readExport("csv", strings.NewReader(header+row("a", "org-1")+"# error: the export stopped early; it is incomplete\n"), "org-1")
	assert.Error(t, err)

	n, err = readExport("ndjson", strings.NewReader(`{"id":"a","organization":"org-1"}`+"\n"+`{"id":"b","organization":"org-1"}`+"\n"), "org-1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = readExport("ndjson", strings.NewReader(`{"id":"a","organization":"org-3"}`+"\n"), "org-1")
	assert.ErrorContains(t, err, "another tenant")
	_, err = readExport("ndjson", strings.NewReader(`{"id":"a","organization":"org-1"}`+"\n"+`{"error":"the export stopped early; it is incomplete"}`+"\n"), "org-1")
	assert.ErrorContains(t, err, "stopped early")
}

// A service that leaks another tenant's event into a page, or whose export
// misses an event, fails the run.
func TestAPIFailsOnLeakOrShortExport(t *testing.T) {
	header := "Time,User,Action,Resource,IP Address,User Agent,Region,Outcome,Event ID,User ID,User Name,User Hash,Actor Type,Resource Type,Resource ID,Organization,Group,Categories,Message,Properties\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/events/export" {
			_, _ = io.WriteString(w, header+"2025-11-01T00:00:00Z,u,a,,,,,,x1,,,,,,,org-1,,,,\n")
			return
		}
		_, _ = io.WriteString(w, `{"events":[{"id":"x1","organization":"org-1"},{"id":"x2","organization":"org-0"}]}`)
	}))
	defer srv.Close()
	c := &apiClient{base: srv.URL, token: "t", http: srv.Client()}
	_, _, err := c.latencies(4, 600)
	assert.ErrorContains(t, err, "another tenant")
	_, err = c.export("csv", 2)
	assert.ErrorContains(t, err, "misses")
}
