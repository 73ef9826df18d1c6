package auditelasticsearchexporter

import (
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// router picks each record's tier and namespace; the event's time then
// picks the index (esdoc.Encoder.AppendCreate).
type router struct {
	dataset, quarantine, nsAttr, namespace string
	byCategory                             map[string]string        // category -> dataset
	retention                              map[string]time.Duration // dataset -> retention, every tier
	minRetention                           time.Duration
	nsCache                                sync.Map
	nsCached                               atomic.Int32
}

const maxCachedNamespaces = 10_000

func newRouter(cfg *Config) *router {
	r := &router{
		dataset: cfg.DataStream.Dataset, quarantine: cfg.DataStream.Dataset + ".quarantine",
		nsAttr: cfg.DataStream.NamespaceAttribute, namespace: cfg.DataStream.Namespace,
		byCategory: map[string]string{}, retention: map[string]time.Duration{},
	}
	for _, t := range cfg.Tiers() {
		d, _ := assets.Duration(t.DeleteAfter) // Validate checked it
		r.retention[t.Dataset] = d
		if r.minRetention == 0 || d < r.minRetention {
			r.minRetention = d
		}
	}
	for _, t := range cfg.Retention.Tiers {
		for _, c := range t.Categories {
			r.byCategory[c] = cfg.DataStream.Dataset + "." + t.Name
		}
	}
	return r
}

func (r *router) target(lr plog.LogRecord) esdoc.Target {
	attrs := lr.Attributes()
	t := esdoc.Target{Dataset: r.dataset, Namespace: r.namespace}
	if r.nsAttr != "" {
		if v, ok := attrs.Get(r.nsAttr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
			t.Namespace = r.sanitize(v.Str())
		}
	}
	if v, ok := attrs.Get(fields.AuditRoute); ok && v.Str() == fields.RouteQuarantine {
		t.Dataset = r.quarantine
		return t
	}
	if len(r.byCategory) == 0 {
		return t
	}
	if v, ok := attrs.Get(fields.AuditCategories); ok {
		t.Dataset = r.tierFor(v, t.Dataset)
	}
	return t
}

// tierFor picks the tier of the event's categories; with several, the one
// that keeps the event longest.
func (r *router) tierFor(v pcommon.Value, def string) string {
	best := def
	consider := func(c string) {
		if ds, ok := r.byCategory[c]; ok && (best == def || r.retention[ds] > r.retention[best]) {
			best = ds
		}
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		consider(v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			consider(s.At(i).Str())
		}
	}
	return best
}

func (r *router) sanitize(s string) string {
	if v, ok := r.nsCache.Load(s); ok {
		return v.(string)
	}
	out := sanitizeNamespace(s, r.namespace)
	if r.nsCached.Load() < maxCachedNamespaces {
		r.nsCache.Store(s, out)
		r.nsCached.Add(1)
	}
	return out
}

// timeNow is the exporter's clock (tests set it).
var timeNow = time.Now

// maxFutureSkew is how far ahead of the exporter's clock an event's time
// may be and still pick its index: past it, a sender's wrong clock would
// open indices that live until their date plus the retention.
const maxFutureSkew = 10 * time.Minute

// indexTime is the time that picks an event's index: its own, kept within
// what the indices can hold. A time more than maxFutureSkew ahead picks
// now's period (counted in future). A time so old that its index is due
// for deletion picks the oldest period still kept (counted in past), so
// old events make one index per tier and tenant, not one per date; ILM
// deletes it at its next run.
func (e *auditExporter) indexTime(t esdoc.Target, ts, now pcommon.Timestamp, past, future *int64) pcommon.Timestamp {
	if ts > now {
		if time.Duration(ts-now) > maxFutureSkew {
			*future++
			return now
		}
		return ts
	}
	if time.Duration(now-ts) <= e.router.minRetention {
		return ts
	}
	keep := e.router.retention[t.Dataset] + e.period.MaxLength()
	oldest := now - pcommon.Timestamp(keep)
	if time.Duration(now-ts) > keep {
		*past++
		return oldest
	}
	if e.period.Start(ts.AsTime()).Before(oldest.AsTime()) {
		*past++ // its period's index is due for deletion
	}
	return ts
}
