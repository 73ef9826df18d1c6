package auditelasticsearchexporter

import (
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// rejected is a document Elasticsearch refused for its content.
type rejected struct {
	pending
	// doc is the document as sent. pending's offsets are into the body of
	// the request that was refused, which a retry or a split rebuilt.
	doc             []byte
	errType, reason string
}

// deadLetters builds the dead-letter documents for the rejected ones. They
// all go to the one dead-letter data stream bootstrap created (in the
// configured namespace), never to a tenant's own: a write there must not
// depend on the privilege or setting that might have refused the event.
func (e *auditExporter) deadLetters(dead []rejected) ([]byte, []pending) {
	size := 0
	for _, d := range dead {
		size += 2*len(d.doc) + 512
	}
	out := make([]byte, 0, size)
	docs := make([]pending, 0, len(dead))
	now := time.Now()
	t := esdoc.Target{Dataset: e.cfg.DataStream.Dataset + ".deadletter", Namespace: e.cfg.DataStream.Namespace}
	for _, d := range dead {
		p := d.pending
		intended := p.index(e.period)
		p.target, p.dead, p.start = t, true, len(out)
		// One stream holds every tier's and tenant's dead letters: the
		// _id names the intended index too, so two tenants' events with
		// one id both keep theirs (and a resent dead letter is still
		// refused as a duplicate).
		out = esdoc.AppendCreate(out, t, "", 0, esdoc.ShortID(intended+"/"+d.id))
		p.docStart = len(out)
		out = esdoc.AppendDeadLetter(out, d.doc, d.id, d.errType, d.reason, t, intended, now)
		out = append(out, '\n')
		p.end = len(out)
		docs = append(docs, p)
	}
	return out, docs
}
