package eventid

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func record() plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(1700000000000000000)
	lr.SetEventName("notebook.open")
	lr.Body().SetStr("opened")
	lr.Attributes().PutStr("user.email", "jane@example.com")
	lr.Attributes().PutInt("n", 3)
	m := lr.Attributes().PutEmptyMap("props")
	m.PutBool("b", true)
	m.PutDouble("d", 1.5)
	m.PutEmptySlice("s").AppendEmpty().SetStr("x")
	m.PutEmptyBytes("raw").FromRaw([]byte{1, 2})
	return lr
}

func TestDeterministicAndSensitive(t *testing.T) {
	var d Deriver
	base := d.Derive(record())
	assert.Len(t, base, 32)
	assert.Equal(t, base, d.Derive(record()), "same content, same id")

	observed := record()
	observed.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed.Timestamp().AsTime().Add(5)))
	assert.Equal(t, base, d.Derive(observed), "observed time is not part of the id")

	changes := map[string]func(plog.LogRecord){
		"time":      func(lr plog.LogRecord) { lr.SetTimestamp(lr.Timestamp() + 1) },
		"name":      func(lr plog.LogRecord) { lr.SetEventName("notebook.create") },
		"body":      func(lr plog.LogRecord) { lr.Body().SetStr("closed") },
		"attribute": func(lr plog.LogRecord) { lr.Attributes().PutStr("user.email", "bob@example.com") },
		"nested":    func(lr plog.LogRecord) { v, _ := lr.Attributes().Get("props"); v.Map().PutBool("b", false) },
		"severity":  func(lr plog.LogRecord) { lr.SetSeverityNumber(plog.SeverityNumberWarn) },
		"trace":     func(lr plog.LogRecord) { lr.SetTraceID([16]byte{1}) },
		// Moving bytes between a key and its value must change the id.
		"boundary": func(lr plog.LogRecord) { lr.Attributes().Remove("n"); lr.Attributes().PutInt("n3", 3) },
	}
	for name, change := range changes {
		lr := record()
		change(lr)
		assert.NotEqual(t, base, d.Derive(lr), name)
	}
}

// Ids are stored as document _ids: a change in the derivation would let a
// retried event through as a new document across an upgrade.
func TestDerivationIsStable(t *testing.T) {
	var d Deriver
	assert.Equal(t, "2e2986c2291294e87a2bedb9b39fbfdf", d.Derive(record()))
}
