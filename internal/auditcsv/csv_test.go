package auditcsv

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

var (
	now    = time.Date(2025, 11, 22, 12, 0, 0, 0, time.UTC)
	limits = auditevent.Limits{Now: now, MaxFuture: 10 * time.Minute}
)

// readAll reads every row; rows with problems are not returned.
func readAll(t *testing.T, in string) (plog.LogRecordSlice, *auditevent.Problems, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), limits)
	if err != nil {
		return plog.NewLogRecordSlice(), nil, err
	}
	recs := plog.NewLogRecordSlice()
	probs := &auditevent.Problems{}
	for {
		lr := plog.NewLogRecord()
		err := r.Next(lr, now, probs)
		if err == io.EOF {
			return recs, probs, nil
		}
		if err != nil {
			return recs, probs, err
		}
		if lr.EventName() != "" {
			lr.MoveTo(recs.AppendEmpty())
		}
	}
}

func TestSeedLayout(t *testing.T) {
	in := "Time,User,Action,Resource,IP Address,User Agent,Region\n" +
		"2025-11-20 10:00:00,jane@example.com,CreateApiKeyCredential,key-1,203.0.113.9,Mozilla/5.0,aws-us-west-2\n" +
		"2025-11-20T11:00:00Z,bob@example.com,\"UploadFile\",\"data, 2025.csv\",2001:db8::1,curl/8,aws-eu-west-1\n"
	recs, probs, err := readAll(t, in)
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	require.Equal(t, 2, recs.Len())
	lr := recs.At(0)
	assert.Equal(t, "CreateApiKeyCredential", lr.EventName())
	assert.Equal(t, time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC), lr.Timestamp().AsTime())
	attrs := lr.Attributes().AsRaw()
	assert.Equal(t, "jane@example.com", attrs["user.email"])
	assert.Equal(t, "key-1", attrs["audit.resource.name"])
	assert.Equal(t, "203.0.113.9", attrs["client.address"])
	assert.Regexp(t, "^csv-[0-9a-f]{32}$", attrs["event.id"])
	assert.Equal(t, "data, 2025.csv", recs.At(1).Attributes().AsRaw()["audit.resource.name"])

	// The same file again gives the same ids: a re-import stores nothing twice.
	again, _, err := readAll(t, in)
	require.NoError(t, err)
	assert.Equal(t, attrs["event.id"], again.At(0).Attributes().AsRaw()["event.id"])
	assert.NotEqual(t, attrs["event.id"], recs.At(1).Attributes().AsRaw()["event.id"])
}

func TestHeaderErrors(t *testing.T) {
	tests := map[string]string{
		"":                          "line 1: empty file",
		"Time,User\n":               `line 1: missing column "Action"`,
		"time,user\n":               `line 1: missing column "Action"`,
		"Time,User,Action,Action\n": `line 1: column "Action" appears twice`,
		"Time,\"User\nAction\n":     "line 1:",
	}
	for in, want := range tests {
		_, err := NewReader(strings.NewReader(in), limits)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestRowProblems(t *testing.T) {
	in := "Time,User,Action,IP Address,Actor Type,Properties\n" +
		"yesterday,jane@example.com,a,,,\n" +
		"2025-11-20T10:00:00Z,jane@example.com,,999.1.1.1,robot,\n" +
		"2025-11-20T10:00:00Z,jane@example.com,a,,,\"{\"\"user.email\"\":1}\"\n" +
		"2025-11-20T10:00:00Z,jane@example.com,a,,,not json\n" +
		"2025-11-20T10:00:00Z,jane@example.com,a,,\n"
	recs, probs, err := readAll(t, in)
	require.NoError(t, err)
	assert.Zero(t, recs.Len())
	var got []string
	for _, p := range probs.List {
		got = append(got, strconv.Itoa(p.Line)+":"+p.Field)
	}
	assert.Equal(t, []string{"2:Time", "3:Action", "3:Actor Type", "3:IP Address", "4:Properties", "5:Properties", "6:"}, got)
}

func TestMalformedCSV(t *testing.T) {
	_, probs, err := readAll(t, "Time,User,Action\n2025-11-20T10:00:00Z,\"jane,a\n")
	require.Error(t, err)
	require.Equal(t, 1, probs.Len())
	assert.Contains(t, probs.List[0].Reason, "invalid CSV")
}

// Writer then Reader: every field survives.
func TestExportRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	require.NoError(t, err)
	row := &Row{
		Event: auditevent.Event{
			Action: "notebook.open", ID: "evt-1", ActorEmail: "***@example.com", ActorID: "u-1", ActorName: "Jane, Doe",
			ActorType: "user", UserHash: "ab12", ResourceType: "notebook", ResourceID: "nb-1", ResourceName: "Revenue \"Q3\"",
			ClientIP: "2001:db8::1", UserAgent: "Mozilla/5.0", Region: "aws-us-west-2", Outcome: "success",
			Organization: "org-7", Message: "line one\nline two",
		},
		Group: "Notebook", Categories: []string{"view_content"}, Properties: `{"share":{"mode":"view","n":2}}`,
	}
	row.Event.SetTime(time.Date(2025, 11, 20, 10, 0, 0, 123456789, time.UTC))
	require.NoError(t, w.Write(row))
	require.NoError(t, w.Flush())

	recs, probs, err := readAll(t, buf.String())
	require.NoError(t, err)
	require.Zero(t, probs.Len(), "%+v", probs.List)
	lr := recs.At(0)
	assert.Equal(t, row.Event.Time, lr.Timestamp().AsTime())
	assert.Equal(t, "line one\nline two", lr.Body().Str())
	assert.Equal(t, map[string]any{
		"event.id": "evt-1", "user.email": "***@example.com", "user.id": "u-1", "user.name": "Jane, Doe",
		"audit.actor.type": "user", "user.hash": "ab12", "audit.resource.type": "notebook", "audit.resource.id": "nb-1",
		"audit.resource.name": "Revenue \"Q3\"", "client.address": "2001:db8::1", "user_agent.original": "Mozilla/5.0",
		"cloud.region": "aws-us-west-2", "event.outcome": "success", "organization.id": "org-7",
		"share": map[string]any{"mode": "view", "n": int64(2)},
	}, lr.Attributes().AsRaw())
}

func FuzzReader(f *testing.F) {
	entries, _ := os.ReadDir("testdata/fuzzseeds")
	for _, e := range entries {
		if b, err := os.ReadFile("testdata/fuzzseeds/" + e.Name()); err == nil {
			f.Add(b)
		}
	}
	// At and one past each of fuzzSizes and the property limits, and text
	// that is not UTF-8.
	row := "2025-11-20T10:00:00Z,a@example.com,"
	for _, s := range []string{
		row + strings.Repeat("a", 32) + "\n", row + strings.Repeat("a", 33) + "\n",
		row + `"` + strings.Repeat("a", 30) + `"` + "\n", row + `"` + strings.Repeat("a", 31) + `"` + "\n",
		row + "a," + strings.Repeat("r", 19) + "\n", row + "a," + strings.Repeat("r", 20) + "\n",
		row + "a,b\xffc\n", row + "a,\"\xc3\"\n",
	} {
		f.Add([]byte("Time,User,Action,Resource\n" + s))
	}
	for _, props := range []string{`{"a":1,"b":2}`, `{"a":1,"b":2,"c":3}`, `{"a":[[1]]}`, `{"a":[[[1]]]}`} {
		f.Add([]byte("Time,User,Action,Properties\n" + row + `a,"` + strings.ReplaceAll(props, `"`, `""`) + `"` + "\n"))
	}
	// Columns we do not know, alone and with the Properties column.
	f.Add([]byte("time,USER,Action,Ticket No,colour\n" + row + "a,T-1,red\n"))
	f.Add([]byte("Time,User,Action,Properties,a,b\n" + row + `a,"{""a"":1}",x,y` + "\n"))
	fuzzSizes := Sizes{MaxField: 32, MaxRow: 80}
	fuzzLimits := limits
	fuzzLimits.Properties = auditevent.PropertyLimits{MaxDepth: 3, MaxKeys: 2, MaxValues: 5}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReaderSized(bytes.NewReader(in), fuzzLimits, fuzzSizes)
		if err != nil {
			return
		}
		probs := &auditevent.Problems{Max: 10}
		for i := 0; i < 10000; i++ {
			lr := plog.NewLogRecord()
			before := probs.Len()
			err := r.Next(lr, now, probs)
			if err != nil {
				return
			}
			if probs.Len() > before {
				continue
			}
			if lr.EventName() == "" || lr.Timestamp() == 0 {
				t.Fatalf("row accepted without action or time: %q", in)
			}
			props := 0
			for k := range lr.Attributes().All() {
				if !fields.IsCore(k) {
					props++
				}
			}
			if props > 2 {
				t.Fatalf("row accepted with %d properties, past max_property_keys: %q", props, in)
			}
			for k, v := range lr.Attributes().All() {
				if s := v.AsString(); !utf8.ValidString(s) || !utf8.ValidString(k) {
					t.Fatalf("row accepted with text that is not UTF-8: %q", in)
				} else if v.Type() == pcommon.ValueTypeStr && len(s) > fuzzSizes.MaxField && k != fields.EventID {
					t.Fatalf("row accepted with a field of %d bytes: %q", len(s), in)
				}
				if v.Type() == pcommon.ValueTypeMap && v.Map().Len() > 2 {
					t.Fatalf("row accepted past max_property_keys: %q", in)
				}
			}
		}
	})
}
