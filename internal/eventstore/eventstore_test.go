package eventstore

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/storetest"
)

// A tenant's read names only its own indices: isolation does not rest on
// the organization.id filter alone.
func TestElasticsearchReadsOnlyTheTenantsIndices(t *testing.T) {
	s := storetest.New(t, storetest.Options{NamespaceAttribute: fields.Organization})
	s.Fill(t, 90, 1, 0, func(i int, lr plog.LogRecord) {
		lr.Attributes().PutStr(fields.Organization, []string{"Org-A", "org-b", "org-c"}[i%3])
	})
	es := &Elasticsearch{Client: s.Client}
	before := len(s.ES.Requests())
	p, err := es.Page(context.Background(), auditquery.Query{Organization: "Org-A"}, nil, 1000)
	require.NoError(t, err)
	assert.Len(t, p.Events, 30)
	var searches []string
	for _, r := range s.ES.Requests()[before:] {
		if strings.Contains(r, "_search") {
			searches = append(searches, r)
		}
	}
	require.Len(t, searches, 1)
	assert.Contains(t, searches[0], "/logs-audit-org_a-*,logs-audit.*-org_a-*/_search")
	indices := s.ES.Indices("logs-audit-org_a-*,logs-audit.*-org_a-*")
	require.NotEmpty(t, indices)
	for _, ix := range indices {
		assert.Contains(t, ix, "-org_a-", "the patterns match no other tenant's index")
	}
	assert.Equal(t, []string{"logs-audit-default-*", "logs-audit.*-default-*", "logs-audit-prod-*", "logs-audit.*-prod-*"},
		(&Elasticsearch{Namespace: "prod"}).Indices("default"), "the default organization also reads the exporter's namespace")
}

// Key order is newest first, then id, then index, all descending.
func TestKeyOrder(t *testing.T) {
	ks := []Key{{Time: 2, ID: "a"}, {Time: 1, ID: "b"}, {Time: 2, ID: "b"}, {Time: 2, ID: "b", Index: "y"}, {Time: 2, ID: "b", Index: "x"}}
	want := []Key{{Time: 2, ID: "b", Index: "y"}, {Time: 2, ID: "b", Index: "x"}, {Time: 2, ID: "b"}, {Time: 2, ID: "a"}, {Time: 1, ID: "b"}}
	for i := range ks {
		for j := range ks {
			if ks[i].Before(ks[j]) && ks[j].Before(ks[i]) {
				t.Fatalf("%v and %v each before the other", ks[i], ks[j])
			}
		}
	}
	sorted := append([]Key(nil), ks...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].Before(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	assert.Equal(t, want, sorted)
}

// An archive directory with no files yet is empty, not an error; one that
// is not there is unavailable.
func TestArchiveEmptyAndMissing(t *testing.T) {
	q := auditquery.Query{Organization: "default"}
	p, err := (&Archive{Dir: t.TempDir()}).Page(context.Background(), q, nil, 10)
	require.NoError(t, err)
	assert.Empty(t, p.Events)
	_, err = (&Archive{Dir: "/nonexistent"}).Page(context.Background(), q, nil, 10)
	assert.ErrorIs(t, err, ErrUnavailable)
	_, err = (&Archive{Dir: t.TempDir()}).Page(context.Background(), auditquery.Query{}, nil, 10)
	assert.ErrorIs(t, err, errNoOrganization, "every read is one tenant's")
}

// Events that share a time are told apart by id: paging one at a time
// through twenty events of the same nanosecond returns each once, in id
// order, from both stores.
func TestPagesThroughTies(t *testing.T) {
	archive := t.TempDir() + "/audit.jsonl"
	s := storetest.New(t, storetest.Options{Archive: archive})
	s.Fill(t, 20, 3, 0, func(_ int, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(storetest.Base))
		lr.Attributes().Remove(fields.Organization)
	})
	for name, st := range map[string]Store{"archive": &Archive{Dir: archive}, "elasticsearch": &Elasticsearch{Client: s.Client}} {
		var got []string
		var after *Key
		for range 40 {
			p, err := st.Page(context.Background(), auditquery.Query{Organization: "default"}, after, 3)
			require.NoError(t, err)
			for _, e := range p.Events {
				got = append(got, e.ID)
			}
			if !p.More {
				break
			}
			after = &p.Keys[len(p.Keys)-1]
		}
		require.Len(t, got, 20, name)
		for i := 1; i < len(got); i++ {
			assert.Greater(t, got[i-1], got[i], "%s: ids descending within one time", name)
		}
	}
}

// Past MaxDistinctIDs matching events the archive refuses the read, saying
// it is too broad.
func TestArchiveTooBroad(t *testing.T) {
	archive := t.TempDir() + "/audit.jsonl"
	s := storetest.New(t, storetest.Options{Archive: archive})
	s.Fill(t, 30, 4, 0, func(_ int, lr plog.LogRecord) { lr.Attributes().Remove(fields.Organization) })
	a := &Archive{Dir: archive, MaxDistinctIDs: 10}
	_, err := a.Page(context.Background(), auditquery.Query{Organization: "default"}, nil, 5)
	assert.ErrorIs(t, err, ErrTooBroad)
	_, err = a.Page(context.Background(), auditquery.Query{Organization: "default", Action: "no.such.action"}, nil, 5)
	assert.NoError(t, err)
}
