package digest

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// ArchiveTarget is the fixed target of an archived record's canonical
// document: the archive has no index, so the document must not depend on
// one.
var ArchiveTarget = esdoc.Target{Dataset: "audit", Namespace: "archive"}

// ArchiveDocument appends the canonical document of an archived record to
// buf: what the archive writer hashes and verify hashes again from the
// record it reads back (the archive readers decode the same document).
func ArchiveDocument(enc *esdoc.Encoder, buf []byte, res pcommon.Resource, lr plog.LogRecord) []byte {
	return enc.AppendDocument(buf, res, lr, ArchiveTarget, enc.ID(lr), enc.Timestamp(lr))
}
