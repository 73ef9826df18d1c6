package auditprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// idEvent is an event with every field of the event shape set, except the
// sender's id: the processor derives one.
func idEvent() auditevent.Event {
	e := auditevent.Event{
		Action: "notebook.open", ActorEmail: "jane@example.com", ActorID: "u-1", ActorName: "Jane",
		ActorType: "user", UserHash: "abc", ResourceType: "notebook", ResourceID: "nb-1", ResourceName: "Sales",
		ClientIP: "203.0.113.9", UserAgent: "curl/8", Region: "eu-west-1", Outcome: "success",
		Organization: "org-1", Message: "opened by jane@example.com",
	}
	e.SetTime(time.Date(2025, 11, 22, 10, 0, 0, 0, time.UTC))
	return e
}

// derivedID runs one record, built from e and then changed by mut, through
// the processor and returns its event.id.
func derivedID(t *testing.T, e auditevent.Event, mut func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord)) string {
	t.Helper()
	in := plog.NewLogs()
	rl := in.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "notebooks")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("audit")
	lr := sl.LogRecords().AppendEmpty()
	e.Fill(lr, time.Date(2025, 11, 22, 10, 0, 1, 0, time.UTC))
	lr.Attributes().PutEmptyMap("properties").PutStr("query", "select 1")
	if mut != nil {
		mut(rl, sl, lr)
	}
	res := run(t, testConfig(nil), in)
	require.Equal(t, 1, res.out.LogRecordCount())
	id := attr(t, firstRecord(res.out), fields.EventID).Str()
	require.Len(t, id, 32)
	return id
}

// The derived id is the store's _id: two events that differ in any field
// must get two ids, or Elasticsearch refuses the second as a duplicate
// (409) and it is lost. One field changes at a time.
func TestDerivedIDChangesWithEveryField(t *testing.T) {
	base := derivedID(t, idEvent(), nil)
	require.Equal(t, base, derivedID(t, idEvent(), nil), "the same event gets the same id")

	type ev = func(e *auditevent.Event)
	type rec = func(lr plog.LogRecord)
	tests := []struct {
		name  string
		event ev  // a change to the event shape, or
		rec   rec // a change to the rest of an OTLP record
	}{
		// Every field of auditevent.Event (the JSON, NDJSON and CSV shape).
		{name: "time", event: func(e *auditevent.Event) { e.SetTime(e.Time.Add(time.Nanosecond)) }},
		{name: "action", event: func(e *auditevent.Event) { e.Action = "report.view" }},
		{name: "actor.email, same domain: masked alike", event: func(e *auditevent.Event) { e.ActorEmail = "bob@example.com" }},
		{name: "actor.id", event: func(e *auditevent.Event) { e.ActorID = "u-2" }},
		{name: "actor.name", event: func(e *auditevent.Event) { e.ActorName = "Bob" }},
		{name: "actor.type", event: func(e *auditevent.Event) { e.ActorType = "service" }},
		{name: "user.hash as sent (then removed)", event: func(e *auditevent.Event) { e.UserHash = "abd" }},
		{name: "resource.type", event: func(e *auditevent.Event) { e.ResourceType = "dashboard" }},
		{name: "resource.id", event: func(e *auditevent.Event) { e.ResourceID = "nb-2" }},
		{name: "resource.id absent", event: func(e *auditevent.Event) { e.ResourceID = "" }},
		{name: "resource.name", event: func(e *auditevent.Event) { e.ResourceName = "Ops" }},
		{name: "client.ip", event: func(e *auditevent.Event) { e.ClientIP = "203.0.113.10" }},
		{name: "client.user_agent", event: func(e *auditevent.Event) { e.UserAgent = "curl/9" }},
		{name: "region", event: func(e *auditevent.Event) { e.Region = "us-east-1" }},
		{name: "outcome", event: func(e *auditevent.Event) { e.Outcome = "failure" }},
		{name: "organization.id", event: func(e *auditevent.Event) { e.Organization = "org-2" }},
		{name: "message, same domain: masked alike", event: func(e *auditevent.Event) { e.Message = "opened by bob@example.com" }},
		// The rest of an OTLP record.
		{name: "a property", rec: func(lr plog.LogRecord) {
			v, _ := lr.Attributes().Get("properties")
			v.Map().PutStr("query", "select 2")
		}},
		{name: "one more attribute", rec: func(lr plog.LogRecord) { lr.Attributes().PutStr("deployment", "blue") }},
		{name: "structured body", rec: func(lr plog.LogRecord) { lr.Body().SetEmptyMap().PutStr("by", "jane@example.com") }},
		{name: "severity number", rec: func(lr plog.LogRecord) { lr.SetSeverityNumber(plog.SeverityNumberWarn) }},
		{name: "severity text", rec: func(lr plog.LogRecord) { lr.SetSeverityText("WARN") }},
		{name: "trace id", rec: func(lr plog.LogRecord) { lr.SetTraceID([16]byte{1}) }},
		{name: "span id", rec: func(lr plog.LogRecord) { lr.SetSpanID([8]byte{1}) }},
		{name: "a reserved attribute as sent (then removed)", rec: func(lr plog.LogRecord) { lr.Attributes().PutStr(fields.AuditGroup, "x") }},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := idEvent()
			if tt.event != nil {
				tt.event(&e)
			}
			id := derivedID(t, e, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
				if tt.rec != nil {
					tt.rec(lr)
				}
			})
			assert.NotEqual(t, base, id, "two events that differ only in %s share an id", tt.name)
			if other, dup := seen[id]; dup {
				t.Errorf("%s and %s derive the same id", tt.name, other)
			}
			seen[id] = tt.name
		})
	}
}

// What the id leaves out, by design: a retried send must get the same id,
// and a retry may come back with a new observed time (a receiver sets it
// on every attempt) or through another SDK, agent or collector instance
// (another resource, scope or flags). The id is over the record alone.
func TestDerivedIDIgnoresWhatARetryChanges(t *testing.T) {
	base := derivedID(t, idEvent(), nil)
	tests := []struct {
		name string
		mut  func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord)
	}{
		{"observed time", func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			lr.SetObservedTimestamp(lr.ObservedTimestamp() + 1)
		}},
		{"resource attributes", func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) {
			rl.Resource().Attributes().PutStr("host.name", "collector-2")
		}},
		{"resource schema URL", func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) {
			rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.30.0")
		}},
		{"scope", func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) {
			sl.Scope().SetName("other")
			sl.Scope().SetVersion("2")
			sl.Scope().Attributes().PutStr("k", "v")
		}},
		{"flags", func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, base, derivedID(t, idEvent(), tt.mut))
		})
	}
}
