package auditctl

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// copyOf is one archived record: what picks its index, its id and action.
type copyOf struct {
	id, action, org, categories string
	quarantined                 bool
	day                         int // of November 2025
}

// archiveOf writes the records, one batch per record, as the file
// exporter writes them, and returns the archive's directory.
func archiveOf(t *testing.T, recs ...copyOf) string {
	t.Helper()
	var b bytes.Buffer
	for i, c := range recs {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 11, c.day, 10, 0, i, 0, time.UTC)))
		lr.Body().SetStr("copy " + fmt.Sprint(i))
		lr.SetEventName(c.action)
		attrs := lr.Attributes()
		attrs.PutStr(fields.EventID, c.id)
		attrs.PutStr(fields.EventOutcome, "success")
		if c.org != "" {
			attrs.PutStr(fields.Organization, c.org)
		}
		if c.categories != "" {
			s := attrs.PutEmptySlice(fields.AuditCategories)
			for _, cat := range strings.Split(c.categories, "|") {
				s.AppendEmpty().SetStr(cat)
			}
		}
		if c.quarantined {
			attrs.PutStr(fields.AuditRoute, fields.RouteQuarantine)
		}
		b.Write(archiveLine(t, ld))
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), b.Bytes(), 0o600))
	return dir
}

// Elasticsearch keeps an _id once per index: the archive shows a record
// unless one read before it goes to the same index with the same id. The
// index is picked by the route (quarantine, else the tier of the
// categories), the namespace (organization.id in the shipped configs) and
// the event time's period (a day at the finest).
func TestArchiveKeysIDsByIndex(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recs     []copyOf
		q        auditquery.Query
		want     []string // the copies shown, by body, in archive order
		repeated int
	}{
		{
			name: "sent again unchanged: once",
			recs: []copyOf{{id: "e1", action: "login", day: 1}, {id: "e1", action: "login", day: 1}},
			want: []string{"copy 0"}, repeated: 1,
		},
		{
			name: "quarantined, then accepted: both, in two indices",
			recs: []copyOf{{id: "e1", action: "nosuch", quarantined: true, day: 1}, {id: "e1", action: "login", day: 1}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "accepted, then quarantined: both",
			recs: []copyOf{{id: "e1", action: "login", day: 1}, {id: "e1", action: "nosuch", quarantined: true, day: 1}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "quarantined twice: once",
			recs: []copyOf{{id: "e1", action: "nosuch", quarantined: true, day: 1}, {id: "e1", action: "nosuch", quarantined: true, day: 1}},
			want: []string{"copy 0"}, repeated: 1,
		},
		{
			name: "two organizations (namespaces): both",
			recs: []copyOf{{id: "e1", action: "login", org: "acme", day: 1}, {id: "e1", action: "login", org: "globex", day: 1}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "two tiers (categories): both",
			recs: []copyOf{{id: "e1", action: "login", categories: "authentication", day: 1}, {id: "e1", action: "login", categories: "access_control", day: 1}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "the same categories in another order: once",
			recs: []copyOf{{id: "e1", action: "login", categories: "a|b", day: 1}, {id: "e1", action: "login", categories: "b|a", day: 1}},
			want: []string{"copy 0"}, repeated: 1,
		},
		{
			name: "two days (periods): both",
			recs: []copyOf{{id: "e1", action: "login", day: 1}, {id: "e1", action: "login", day: 2}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "fields that cannot collide in the key",
			recs: []copyOf{{id: "e1", action: "login", org: "a", categories: "b", day: 1}, {id: "e1", action: "login", org: "a\x00b", day: 1}},
			want: []string{"copy 0", "copy 1"},
		},
		{
			name: "a repeat the query does not match is not counted",
			recs: []copyOf{{id: "e1", action: "login", day: 1}, {id: "e1", action: "login", day: 1}, {id: "e2", action: "logout", day: 1}},
			q:    auditquery.Query{Action: "logout"},
			want: []string{"copy 2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := archiveOf(t, tc.recs...)
			var warn, out bytes.Buffer
			a := &Archive{Dir: dir, Warn: &warn}
			n, err := ExportArchive(context.Background(), a, tc.q, JSON, &out)
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), n)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				for i := range tc.recs {
					if strings.Contains(line, fmt.Sprintf(`"message":"copy %d"`, i)) {
						got = append(got, fmt.Sprintf("copy %d", i))
					}
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.repeated, a.Repeated)
			if tc.repeated == 0 {
				assert.NotContains(t, warn.String(), "repeated")
			}

			out.Reset()
			total, err := SearchArchive(context.Background(), a, tc.q, 50, 1, JSON, time.UTC, &out)
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), total, "search counts as export does")
		})
	}
}

// Only records the query matches take room for de-duplication: the
// memory follows the matches, not the archive.
func TestArchiveHoldsOnlyMatchingIDs(t *testing.T) {
	var recs []copyOf
	for i := 0; i < 100; i++ {
		action := "login"
		if i%10 == 0 {
			action = "logout"
		}
		recs = append(recs, copyOf{id: fmt.Sprintf("e%d", i), action: action, day: 1})
	}
	dir := archiveOf(t, recs...)
	for _, tc := range []struct {
		name     string
		q        auditquery.Query
		max      int
		want     int
		distinct int
		err      string
	}{
		{name: "a narrow query holds its matches", q: auditquery.Query{Action: "logout"}, want: 10, distinct: 10},
		{name: "within the bound", q: auditquery.Query{Action: "logout"}, max: 10, want: 10, distinct: 10},
		{name: "everything", want: 100, distinct: 100},
		{name: "past the bound", max: 50, err: "more than 50 distinct matching events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, search := range []bool{false, true} {
				a := &Archive{Dir: dir, MaxDistinctIDs: tc.max}
				var out bytes.Buffer
				var n int
				var err error
				if search {
					n, err = SearchArchive(context.Background(), a, tc.q, 10, 1, JSON, time.UTC, &out)
				} else {
					n, err = ExportArchive(context.Background(), a, tc.q, JSON, &out)
				}
				if tc.err != "" {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tc.err)
					assert.Contains(t, err.Error(), "--max-distinct-ids")
					assert.Contains(t, err.Error(), "--since")
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, n)
				assert.Equal(t, tc.distinct, a.DistinctIDs)
			}
		})
	}
}
