package eventstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// Elasticsearch reads one tenant's events from its own indices only (the
// exporter's namespace_attribute: organization.id), and filters on
// organization.id as well: two organizations whose ids make the same
// namespace (org-7 and org_7) share indices, never answers.
type Elasticsearch struct {
	Client *elasticsearch.Client
	// Dataset and Namespace are the exporter's data_stream settings
	// (default audit and default): events without organization.id are in
	// Namespace, and belong to the organization "default".
	Dataset, Namespace string
	// Batch is how many events one export request reads (default 1000).
	Batch int
}

// Indices are the index patterns a query of org reads.
func (s *Elasticsearch) Indices(org string) []string {
	ds, def := s.Dataset, s.Namespace
	if ds == "" {
		ds = "audit"
	}
	if def == "" {
		def = "default"
	}
	out := assets.TenantIndexPatterns(ds, assets.Namespace(org, def))
	if org == auditquery.DefaultOrganization && def != assets.Namespace(org, def) {
		out = append(out, assets.TenantIndexPatterns(ds, def)...)
	}
	return out
}

// pageSort is Key order. Sorting on _index is allowed (it is a virtual
// keyword field, mapping-index-field.md) and, unlike _shard_doc, needs no
// point in time: pages stay valid across replicas and refreshes.
func pageSort() []types.SortCombinations {
	desc := func(f string) types.SortCombinations {
		return types.SortOptions{SortOptions: map[string]types.FieldSort{f: {Order: &sortorder.Desc}}}
	}
	return []types.SortCombinations{desc("@timestamp"), desc("event.id"), desc("_index")}
}

type esHit struct {
	Index  string            `json:"_index"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

func (s *Elasticsearch) search(ctx context.Context, q auditquery.Query, after *Key, size int) ([]esHit, error) {
	if q.Organization == "" {
		return nil, errNoOrganization
	}
	es := q.ES()
	req := search.Request{Query: &es, Size: &size, Sort: pageSort(), TrackTotalHits: types.TrackHits(false)}
	if after != nil {
		req.SearchAfter = []types.FieldValue{after.Time, after.ID, after.Index}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := esapi.SearchRequest{Index: s.Indices(q.Organization), Body: bytes.NewReader(body)}.Do(ctx, s.Client)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		err := fmt.Errorf("search: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
		if res.StatusCode >= 500 || res.StatusCode == 429 || res.StatusCode == 401 || res.StatusCode == 403 {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return nil, err
	}
	var out struct {
		Hits struct {
			Hits []esHit `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("search: unexpected answer: %w", err)
	}
	return out.Hits.Hits, nil
}

func keyOf(h esHit) (Key, error) {
	if len(h.Sort) != 3 {
		return Key{}, fmt.Errorf("search: a hit has %d sort values, want 3", len(h.Sort))
	}
	t, err := strconv.ParseInt(string(bytes.Trim(h.Sort[0], `"`)), 10, 64)
	if err != nil {
		return Key{}, fmt.Errorf("search: sort value %s is not a time in nanoseconds (is @timestamp date_nanos? run auditctl setup)", h.Sort[0])
	}
	var id string
	_ = json.Unmarshal(h.Sort[1], &id)
	return Key{Time: t, ID: id, Index: h.Index}, nil
}

// Page asks for one more than size, to tell whether more follow.
func (s *Elasticsearch) Page(ctx context.Context, q auditquery.Query, after *Key, size int) (Page, error) {
	hits, err := s.search(ctx, q, after, size+1)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(hits) > size {
		hits, p.More = hits[:size], true
	}
	for _, h := range hits {
		k, err := keyOf(h)
		if err != nil {
			return Page{}, err
		}
		row, err := auditctl.RowOf(h.Source)
		if err != nil {
			return Page{}, err
		}
		p.Events = append(p.Events, FromRow(row))
		p.Keys = append(p.Keys, k)
	}
	return p, nil
}

// Export walks the pages, newest first, Batch events in memory at a time.
func (s *Elasticsearch) Export(ctx context.Context, q auditquery.Query, format string, w io.Writer) (int, error) {
	x, err := newExportWriter(format, w)
	if err != nil {
		return 0, err
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 1000
	}
	n := 0
	var after *Key
	for {
		hits, err := s.search(ctx, q, after, batch)
		if err != nil {
			return n, x.fail(err)
		}
		for _, h := range hits {
			row, err := auditctl.RowOf(h.Source)
			if err != nil {
				return n, x.fail(err)
			}
			if err := x.write(row); err != nil {
				return n, x.fail(err)
			}
			n++
		}
		if len(hits) < batch {
			return n, x.flush()
		}
		k, err := keyOf(hits[len(hits)-1])
		if err != nil {
			return n, x.fail(err)
		}
		after = &k
	}
}
