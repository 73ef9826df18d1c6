package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// collector is an OTLP/HTTP endpoint feeding the store's processor, as
// the collector's OTLP receiver does.
func (s *store) collector(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.next.ConsumeLogs(r.Context(), req.Logs()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// accessDoc is the stored audit_log_accessed document.
type accessDoc struct {
	Event struct{ Outcome string } `json:"event"`
	User  struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
	Audit struct {
		Properties map[string]string `json:"properties"`
	} `json:"audit"`
	Message string `json:"message"`
}

// The access record names the reader in user.id and user.name, so the
// table shows who read; its query is kept where free text does not look,
// so a search for a word does not find the searches for it; a failed read
// is recorded as a failure.
func TestAccessRecordInTheStore(t *testing.T) {
	s := newStore(t)
	s.fill(t, 20, 12)
	log := AccessLog{Endpoint: s.collector(t), ReaderID: "u-42", Actor: "Ana Reader", Identity: "elasticsearch", Source: "elasticsearch http://es:9200"}
	q := auditquery.Query{Text: "zq-unique-word", Action: "report.view"}
	require.NoError(t, log.Record(context.Background(), "search", q))
	require.NoError(t, log.RecordFailure(context.Background(), "export", q, errors.New("cannot reach Elasticsearch: connection refused")))
	s.refresh(t)

	total, err := Search(context.Background(), SearchOptions{ES: s.client, Query: auditquery.Query{Text: "zq-unique-word"}, Size: 10, Page: 1, Output: JSON, Out: io.Discard, TZ: time.UTC})
	require.NoError(t, err)
	assert.Zero(t, total, "the words searched for are not free text of the access record")

	var out bytes.Buffer
	total, err = Search(context.Background(), SearchOptions{ES: s.client, Query: auditquery.Query{Action: AccessAction}, Size: 10, Page: 1, Output: JSON, Out: &out, TZ: time.UTC})
	require.NoError(t, err)
	require.Equal(t, 2, total)
	outcomes := map[string]accessDoc{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d accessDoc
		require.NoError(t, json.Unmarshal([]byte(line), &d))
		outcomes[d.Event.Outcome] = d
		assert.Equal(t, "u-42", d.User.ID)
		assert.Equal(t, "Ana Reader", d.User.Name)
		assert.Equal(t, `text="zq-unique-word" action="report.view"`, d.Audit.Properties["audit.query"])
		assert.Equal(t, "elasticsearch", d.Audit.Properties["audit.identity"])
		assert.NotContains(t, d.Message, "zq-unique-word")
	}
	require.Contains(t, outcomes, "success")
	require.Contains(t, outcomes, "failure")
	assert.Equal(t, "cannot reach Elasticsearch: connection refused", outcomes["failure"].Audit.Properties["audit.error"])

	out.Reset()
	_, err = Search(context.Background(), SearchOptions{ES: s.client, Query: auditquery.Query{Action: AccessAction}, Size: 10, Page: 1, Output: Table, Out: &out, TZ: time.UTC})
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, rows, 3)
	for _, row := range rows[1:] {
		assert.Contains(t, row, "Ana Reader", "the User column shows who read")
	}
}
