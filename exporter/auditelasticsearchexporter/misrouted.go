package auditelasticsearchexporter

import (
	"bytes"
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// checkIndices compares where Elasticsearch says documents landed with the
// index they named. An events index is a plain index made by our
// template; if the template is missing, Elasticsearch's built-in logs-*-*
// template makes a data stream of that name instead, with another
// retention. That is logged and counted, not silent.
func (e *auditExporter) checkIndices(body []byte, docs []pending, results []itemResult) {
	for i, r := range results {
		d := docs[i]
		if r.index == "" || d.dead || r.status != 201 && r.status != 409 {
			continue // an index Elasticsearch echoes on a refusal may not exist
		}
		want := d.indexBytes(body)
		if string(want) == r.index {
			e.verified.add(r.index)
			continue
		}
		e.tel.ExporterAuditEsDocsMisrouted.Add(context.Background(), 1)
		if ok, n := e.misroutedLog.allow(time.Now(), 1); ok {
			e.logger.Error("An audit event landed in another index than the one named: the index template for it is missing, so its retention is not ours; run `auditctl setup` (or enable bootstrap) and check `GET _index_template/audit-*`",
				zap.String("index", string(want)), zap.String("stored_in", r.index), zap.String("event.id", d.id), zap.Int64("misrouted_since_last_log", n))
		}
	}
}

// verifiedIndices are the events indices seen to be plain indices (see
// checkIndices). Consecutive documents mostly share an index, so a bulk
// body costs a lookup per change of index, not per document.
type verifiedIndices struct {
	mu    sync.RWMutex
	names map[string]bool
}

const maxVerified = 10_000

func (v *verifiedIndices) needed(body []byte, docs []pending) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var last []byte
	for _, d := range docs {
		if d.dead {
			continue
		}
		name := d.indexBytes(body)
		if bytes.Equal(name, last) {
			continue
		}
		if !v.names[string(name)] {
			return true
		}
		last = name
	}
	return false
}

func (v *verifiedIndices) add(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.names == nil || len(v.names) >= maxVerified {
		v.names = map[string]bool{}
	}
	v.names[name] = true
}
