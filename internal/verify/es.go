package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// ES is what CheckES reads.
type ES struct {
	Client *elasticsearch.Client
	// Dataset is the exporter's data_stream.dataset (default "audit").
	Dataset string
	// PageSize is the events per page (default 1000); digests come 20 a
	// page (each may list 10 000 events).
	PageSize int
	// MaxPageBytes bounds one answer (default 512 MiB).
	MaxPageBytes int64
	// MaxDigestBytes bounds one digest document: a longer one is a finding.
	MaxDigestBytes int
}

const (
	pitKeepAlive       = "5m"
	digestPageSize     = 20
	defaultPageSize    = 1000
	defaultMaxPageSize = 512 << 20
)

func (e *ES) patterns(ns string) (events, deadLetters, digests []string) {
	ds := e.Dataset
	events = []string{"logs-" + ds + "-*", "logs-" + ds + ".*-*"}
	if ns != "" {
		events = assets.TenantIndexPatterns(ds, ns)
	}
	return events, []string{"logs-" + ds + ".deadletter-*"}, []string{"logs-" + ds + ".digest-*"}
}

// CheckES checks Elasticsearch: the digest stream, then every events
// index (all tiers; all namespaces or one) and the dead-letter stream,
// page by page. An error means the input could not be read (no verdict).
func CheckES(ctx context.Context, o Options, e ES) (*Report, error) {
	if e.Dataset == "" {
		e.Dataset = "audit"
	}
	if e.PageSize <= 0 {
		e.PageSize = defaultPageSize
	}
	if e.MaxDigestBytes <= 0 {
		e.MaxDigestBytes = DefaultMaxDigestBytes
	}
	if e.MaxPageBytes <= 0 {
		e.MaxPageBytes = defaultMaxPageSize
	}
	events, dead, digests := e.patterns(o.Namespace)
	c := New(o)
	ret := &esRetention{es: e, ctx: ctx, now: o.Now, minAge: map[string]time.Duration{}}
	c.DigestRetention = ret.digestsPast
	err := e.scan(ctx, digests, digestPageSize, false, func(h hit) error {
		where := h.Index + "/" + h.ID
		if len(h.Source) > e.MaxDigestBytes {
			c.BadDigestAt(where, fmt.Errorf("%d bytes, over --max-digest-bytes %d", len(h.Source), e.MaxDigestBytes))
			return nil
		}
		s, err := decodeESDigest(h.Source)
		if err != nil {
			c.BadDigestAt(where, err)
			return nil
		}
		c.AddDigest(s, where)
		return c.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("reading the digests (%s): %w", strings.Join(digests, ","), err)
	}
	if !c.HasDigests() {
		return nil, fmt.Errorf("no digests in %s (of the chains asked for): tamper evidence was off (digest::key_file of the audit_elasticsearch exporter), or every digest was deleted; nothing can be verified", strings.Join(digests, ","))
	}
	c.Seal()
	existing := map[string]bool{}
	err = e.scan(ctx, events, e.PageSize, true, func(h hit) error {
		if strings.HasPrefix(h.Index, ".ds-") {
			return nil // a data stream's: dead letters, digests, an earlier release's events
		}
		existing[h.Index] = true
		where := h.Index + "/" + h.ID
		if h.Source == nil {
			c.UnreadableAt(where, "no _source")
			return nil
		}
		c.Record(Record{ID: digest.ValidID(h.ID), Index: h.Index, Hash: SHA256(h.Source), Created: createdOf(h.Source), Where: where})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the events (%s): %w", strings.Join(events, ","), err)
	}
	err = e.scan(ctx, dead, e.PageSize, true, func(h hit) error {
		where := h.Index + "/" + h.ID
		var d struct {
			Timestamp string `json:"@timestamp"`
			Event     struct {
				ID       string  `json:"id"`
				Original *string `json:"original"`
			} `json:"event"`
			Audit struct {
				TargetIndex string `json:"target_index"`
			} `json:"audit"`
		}
		if err := json.Unmarshal(h.Source, &d); err != nil || d.Event.Original == nil || d.Event.ID == "" {
			c.UnreadableAt(where, "a dead letter without event.id and event.original")
			return nil
		}
		if o.Namespace != "" && !matchAny(events, d.Audit.TargetIndex) {
			return nil
		}
		t, _ := time.Parse(time.RFC3339Nano, d.Timestamp)
		c.Record(Record{ID: digest.ValidID(d.Event.ID), Index: d.Audit.TargetIndex, Hash: SHA256([]byte(*d.Event.Original)), Created: t, Dead: true, Where: where})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the dead letters (%s): %w", strings.Join(dead, ","), err)
	}
	indices, err := e.indices(ctx, events)
	if err != nil {
		return nil, err
	}
	for ix := range existing {
		indices[ix] = true
	}
	ret.exists = indices
	rep := c.Finish(ret.past)
	return rep, ret.err
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// createdOf is event.created, else @timestamp; zero when neither reads.
func createdOf(src []byte) time.Time {
	var d struct {
		Timestamp string `json:"@timestamp"`
		Event     struct {
			Created string `json:"created"`
		} `json:"event"`
	}
	if json.Unmarshal(src, &d) != nil {
		return time.Time{}
	}
	for _, s := range []string{d.Event.Created, d.Timestamp} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// decodeESDigest decodes a digest document: {"@timestamp", "data_stream",
// "digest", "signature"}; the digest itself strictly.
func decodeESDigest(src []byte) (digest.Signed, error) {
	var w struct {
		Digest    json.RawMessage `json:"digest"`
		Signature json.RawMessage `json:"signature"`
	}
	if err := json.Unmarshal(src, &w); err != nil {
		return digest.Signed{}, shortErr(err)
	}
	if len(w.Digest) == 0 || len(w.Signature) == 0 {
		return digest.Signed{}, errors.New("no digest or signature")
	}
	b := make([]byte, 0, len(w.Digest)+len(w.Signature)+32)
	b = append(b, `{"digest":`...)
	b = append(b, w.Digest...)
	b = append(b, `,"signature":`...)
	b = append(b, w.Signature...)
	b = append(b, '}')
	return DecodeDigest(b)
}

type hit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// scan pages through every document of the patterns in a point in time,
// in _shard_doc order. missingOK: patterns that match nothing are empty.
func (e *ES) scan(ctx context.Context, patterns []string, size int, missingOK bool, fn func(hit) error) error {
	res, err := esapi.OpenPointInTimeRequest{Index: patterns, KeepAlive: pitKeepAlive}.Do(ctx, e.Client)
	if err != nil {
		return fmt.Errorf("%w: %v; set ELASTICSEARCH_URL or --es", auditctl.ErrUnreachable, err)
	}
	var opened struct {
		ID string `json:"id"`
	}
	if res.IsError() {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		res.Body.Close()
		if res.StatusCode == 404 && missingOK {
			return nil
		}
		return fmt.Errorf("opening a point in time: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
	}
	err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&opened)
	res.Body.Close()
	if err != nil || opened.ID == "" {
		return errors.New("opening a point in time: no id in the answer")
	}
	pit := opened.ID
	defer func() {
		body, _ := json.Marshal(map[string]string{"id": pit})
		if r, err := (esapi.ClosePointInTimeRequest{Body: bytes.NewReader(body)}).Do(context.WithoutCancel(ctx), e.Client); err == nil {
			r.Body.Close()
		}
	}()
	var after []json.RawMessage
	for {
		body := map[string]any{"size": size, "sort": []string{"_shard_doc"}, "track_total_hits": false,
			"pit": map[string]string{"id": pit, "keep_alive": pitKeepAlive}}
		if after != nil {
			body["search_after"] = after
		}
		raw, _ := json.Marshal(body)
		res, err := esapi.SearchRequest{Body: bytes.NewReader(raw)}.Do(ctx, e.Client)
		if err != nil {
			return fmt.Errorf("%w: %v", auditctl.ErrUnreachable, err)
		}
		if res.IsError() {
			typ, reason := esbootstrap.ErrorOf(res.Body)
			res.Body.Close()
			return fmt.Errorf("search: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
		}
		var page struct {
			PitID string `json:"pit_id"`
			Hits  struct {
				Hits []hit `json:"hits"`
			} `json:"hits"`
		}
		lr := &io.LimitedReader{R: res.Body, N: e.MaxPageBytes + 1}
		err = json.NewDecoder(lr).Decode(&page)
		res.Body.Close()
		if lr.N <= 0 {
			return fmt.Errorf("an answer of more than %d bytes for %d documents: documents this large are not the collector's", e.MaxPageBytes, size)
		}
		if err != nil {
			return fmt.Errorf("search: unexpected answer: %w", shortErr(err))
		}
		if page.PitID != "" {
			pit = page.PitID
		}
		for _, h := range page.Hits.Hits {
			if err := fn(h); err != nil {
				return err
			}
		}
		if len(page.Hits.Hits) < size {
			return nil
		}
		after = page.Hits.Hits[len(page.Hits.Hits)-1].Sort
		if len(after) == 0 {
			return errors.New("search: the answer has no sort values to page on")
		}
	}
}

// indices lists the events indices that exist.
func (e *ES) indices(ctx context.Context, patterns []string) (map[string]bool, error) {
	res, err := esapi.IndicesResolveIndexRequest{Name: patterns}.Do(ctx, e.Client)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auditctl.ErrUnreachable, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		return nil, fmt.Errorf("listing the indices: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
	}
	var r struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("listing the indices: unexpected answer: %w", shortErr(err))
	}
	out := map[string]bool{}
	for _, ix := range r.Indices {
		out[ix.Name] = true
	}
	return out, nil
}

// esRetention decides whether an absent event went with its index's
// retention: the index is gone and the tier's ILM delete min_age, counted
// from the index's date (parse_origination_date), has run out. A dead
// letter: its tier's min_age has run out since the digest began.
type esRetention struct {
	es     ES
	ctx    context.Context
	now    time.Time
	exists map[string]bool
	minAge map[string]time.Duration // policy -> delete min_age; -1 unknown
	err    error
}

// digestsPast: the digest stream's ILM delete min_age has run out since
// from, the window start of a chain's first digest kept: the digests
// before it may be gone with their backing indices.
func (r *esRetention) digestsPast(from time.Time) bool {
	age := r.policyAge(assets.Tier{Name: assets.DigestTierName}.PolicyName())
	return age >= 0 && !r.now.Before(from.Add(age))
}

func (r *esRetention) past(e EntryInfo) bool {
	if e.Dead {
		age := r.policyAge("audit-deadletter")
		return age >= 0 && !r.now.Before(e.From.Add(age))
	}
	if r.exists[e.Index] {
		return false
	}
	tier, date, ok := parseIndex(r.es.Dataset, e.Index)
	if !ok {
		return false
	}
	age := r.policyAge("audit-" + tier)
	return age >= 0 && !r.now.Before(date.Add(age))
}

// parseIndex reads logs-<dataset>[.<tier>]-<namespace>-<yyyy.MM.dd>.
func parseIndex(dataset, name string) (tier string, date time.Time, ok bool) {
	rest, ok := strings.CutPrefix(name, "logs-")
	if !ok || len(rest) < 11 {
		return "", time.Time{}, false
	}
	date, err := time.Parse("2006.01.02", rest[len(rest)-10:])
	if err != nil || rest[len(rest)-11] != '-' {
		return "", time.Time{}, false
	}
	ds, _, _ := strings.Cut(rest, "-")
	switch {
	case ds == dataset:
		tier = "default"
	case strings.HasPrefix(ds, dataset+"."):
		tier = ds[len(dataset)+1:]
	default:
		return "", time.Time{}, false
	}
	return tier, date, true
}

func (r *esRetention) policyAge(policy string) time.Duration {
	if age, ok := r.minAge[policy]; ok {
		return age
	}
	age := time.Duration(-1)
	r.minAge[policy] = age
	res, err := esapi.ILMGetLifecycleRequest{Policy: policy}.Do(r.ctx, r.es.Client)
	if err != nil {
		r.err = fmt.Errorf("%w: %v", auditctl.ErrUnreachable, err)
		return age
	}
	defer res.Body.Close()
	if res.IsError() {
		return age // no policy: no retention to excuse a deletion
	}
	var p map[string]struct {
		Policy struct {
			Phases struct {
				Delete *struct {
					MinAge string `json:"min_age"`
				} `json:"delete"`
			} `json:"phases"`
		} `json:"policy"`
	}
	if json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&p) != nil {
		return age
	}
	if d := p[policy].Policy.Phases.Delete; d != nil {
		if v, err := assets.Duration(d.MinAge); err == nil {
			age = v
		}
	}
	r.minAge[policy] = age
	return age
}
