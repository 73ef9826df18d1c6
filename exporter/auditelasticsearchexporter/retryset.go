package auditelasticsearchexporter

import (
	"errors"

	"go.opentelemetry.io/collector/pdata/plog"
)

// errOr is err, or msg when Elasticsearch gave no error but asked for a
// retry item by item.
func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// subset copies the records of docs, with their resource and scope. A
// record without a time gets the time its index was picked by, so its
// retry goes to the same index (the processor stamps records before the
// queue; this covers pipelines without it).
func subset(ld plog.Logs, docs []pending) plog.Logs {
	out := plog.NewLogs()
	type key struct{ rl, sl int }
	scopes := map[key]plog.ScopeLogs{}
	resources := map[int]plog.ResourceLogs{}
	for _, d := range docs {
		src := ld.ResourceLogs().At(d.rl)
		rl, ok := resources[d.rl]
		if !ok {
			rl = out.ResourceLogs().AppendEmpty()
			src.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(src.SchemaUrl())
			resources[d.rl] = rl
		}
		sl, ok := scopes[key{d.rl, d.sl}]
		if !ok {
			ssrc := src.ScopeLogs().At(d.sl)
			sl = rl.ScopeLogs().AppendEmpty()
			ssrc.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(ssrc.SchemaUrl())
			scopes[key{d.rl, d.sl}] = sl
		}
		lr := sl.LogRecords().AppendEmpty()
		src.ScopeLogs().At(d.sl).LogRecords().At(d.lr).CopyTo(lr)
		if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
			lr.SetObservedTimestamp(d.ts)
		}
	}
	return out
}
