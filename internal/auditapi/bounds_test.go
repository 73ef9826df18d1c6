package auditapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// slowStore blocks each page until released, and exports without end.
type slowStore struct {
	entered chan struct{}
	release chan struct{}
	written chan error
}

func (s *slowStore) Page(ctx context.Context, _ auditquery.Query, _ *eventstore.Key, _ int) (eventstore.Page, error) {
	s.entered <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return eventstore.Page{}, nil
}

func (s *slowStore) Export(_ context.Context, _ auditquery.Query, _ string, w io.Writer) (int, error) {
	line := []byte(strings.Repeat("x", 1<<16) + "\n")
	for n := 0; ; n++ {
		if _, err := w.Write(line); err != nil {
			s.written <- err
			return n, err
		}
	}
}

// Reads past MaxConcurrentReads get 503 at once, whoever asks.
func TestConcurrentReadsAreBounded(t *testing.T) {
	f := newFixture(t, 10)
	st := &slowStore{entered: make(chan struct{}, 4), release: make(chan struct{})}
	srv := f.serve(t, st, Config{MaxConcurrentReads: 1})
	done := make(chan answer)
	go func() { done <- get(t, srv.URL, "/api/v1/events", f.tokens["org-1"], nil) }()
	<-st.entered
	a := get(t, srv.URL, "/api/v1/events", f.tokens["org-2"], nil)
	require.Equal(t, http.StatusServiceUnavailable, a.code, "%s", a.body)
	assert.Equal(t, reasonBusy, a.apiError(t).Reason)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, get(t, srv.URL, "/api/v1/whoami", f.tokens["org-2"], nil).code, "what reads no store is not bounded")
	close(st.release)
	assert.Equal(t, http.StatusOK, (<-done).code)
	assert.Equal(t, http.StatusOK, get(t, srv.URL, "/api/v1/events", f.tokens["org-2"], nil).code, "the slot is free again")
}

// An export to a client that stops reading is cut off after WriteStall,
// and its slot freed.
func TestStalledExportIsCutOff(t *testing.T) {
	f := newFixture(t, 10)
	st := &slowStore{written: make(chan error, 1)}
	srv := f.serve(t, st, Config{WriteStall: 200 * time.Millisecond, MaxConcurrentReads: 1})
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /api/v1/events/export?format=csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+f.tokens["org-1"]+"\r\n\r\n")
	require.NoError(t, err)
	select {
	case err := <-st.written:
		assert.Error(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("an export to a client that reads nothing never stopped")
	}
	require.Eventually(t, func() bool {
		return get(t, srv.URL, "/api/v1/whoami", f.tokens["org-1"], nil).code == http.StatusOK &&
			len(srv.Config.Handler.(*Server).reads) == 0
	}, 5*time.Second, 50*time.Millisecond, "the export's slot was not freed")
}

// One organization cannot take every read slot: past its share, its own
// reads wait, and another organization's go through.
func TestOneOrganizationCannotTakeEverySlot(t *testing.T) {
	f := newFixture(t, 10)
	st := &slowStore{entered: make(chan struct{}, 8), release: make(chan struct{})}
	srv := f.serve(t, st, Config{MaxConcurrentReads: 3, MaxReadsPerOrganization: 2})
	done := make(chan answer, 2)
	for range 2 {
		go func() { done <- get(t, srv.URL, "/api/v1/events", f.tokens["org-1"], nil) }()
		<-st.entered
	}
	a := get(t, srv.URL, "/api/v1/events", f.tokens["org-1"], nil)
	require.Equal(t, http.StatusServiceUnavailable, a.code, "%s", a.body)
	assert.Contains(t, a.apiError(t).Message, "this organization")
	go func() { done <- get(t, srv.URL, "/api/v1/events", f.tokens["org-2"], nil) }()
	<-st.entered
	close(st.release)
	for range 3 {
		assert.Equal(t, http.StatusOK, (<-done).code)
	}
}

// An export ends after MaxExportDuration however its client reads.
func TestExportHasATimeLimit(t *testing.T) {
	f := newFixture(t, 10)
	st := &endless{}
	srv := f.serve(t, st, Config{MaxExportDuration: 300 * time.Millisecond})
	start := time.Now()
	a := get(t, srv.URL, "/api/v1/events/export", f.tokens["org-1"], url.Values{"format": {"ndjson"}})
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.True(t, strings.HasSuffix(string(a.body), `{"error":"the export stopped early; it is incomplete"}`+"\n"), "%.100q", a.body[max(0, len(a.body)-100):])
}

// endless exports small lines until its context ends.
type endless struct{ slowStore }

func (e *endless) Export(ctx context.Context, _ auditquery.Query, _ string, w io.Writer) (int, error) {
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if _, err := io.WriteString(w, "{}\n"); err != nil {
			return n, err
		}
		time.Sleep(time.Millisecond)
	}
}
