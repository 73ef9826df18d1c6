package auditprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
)

// An unknown action is quarantined with a 202 to the sender: the
// collector's log is where an operator sees it. The warning names the
// action (masked) and the reason, and is rate-limited: a flood of unknown
// actions costs a few lines per window and a count of the rest.
func TestUnknownActionWarning(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	p, err := newProcessor(set, testConfig(nil))
	require.NoError(t, err)
	now := time.Date(2025, 11, 22, 10, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	send := func(actions ...string) {
		in := plog.NewLogs()
		for _, a := range actions {
			newRecord(in, func(lr plog.LogRecord) { lr.SetEventName(a) })
		}
		_, err := p.processLogs(context.Background(), in)
		require.NoError(t, err)
	}

	send("report.veiw", "notebook.open") // one unknown, one known
	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	assert.Equal(t, "Unknown action quarantined: add it to a catalog, or fix the sender", e.Message)
	assert.Equal(t, map[string]any{
		"action": "report.veiw",
		"reason": `unknown action "report.veiw": not in the catalog; names must match exactly (did you mean "report.view"?)`,
	}, e.ContextMap())

	// A flood: warnBurst lines per window, then silence.
	flood := []string{"mail jane@example.com"}
	for i := range warnBurst + 4 {
		flood = append(flood, fmt.Sprintf("unknown.%d", i))
	}
	send(flood...)
	require.Equal(t, warnBurst, logs.Len(), "the first line and warnBurst-1 of the flood")
	assert.Equal(t, "mail ***@example.com", logs.All()[1].ContextMap()["action"], "the action is masked in the log too")
	assert.NotContains(t, logs.All()[1].ContextMap()["reason"], "jane")

	// The next window logs again, with the count of the lines not logged.
	// A sender's long action is clipped in the log.
	now = now.Add(warnWindow)
	long := "also.unknown." + strings.Repeat("x", 1000)
	send(long)
	require.Equal(t, warnBurst+1, logs.Len())
	last := logs.All()[warnBurst].ContextMap()
	assert.Equal(t, long[:maxLogged]+"…", last["action"])
	assert.Len(t, last["reason"], maxLogged+len("…"))
	assert.EqualValues(t, 6, last["not_logged_before"], "the flood past the burst")
}
