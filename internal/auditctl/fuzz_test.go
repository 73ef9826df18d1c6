package auditctl

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// Whatever the collector answers, reading it neither panics nor reads
// past the bound, and a rejection is reported with a bounded reason.
func FuzzRejectedRecords(f *testing.F) {
	rejected := plogotlp.NewExportResponse()
	rejected.PartialSuccess().SetRejectedLogRecords(1)
	rejected.PartialSuccess().SetErrorMessage("unknown action")
	proto, _ := rejected.MarshalProto()
	js, _ := rejected.MarshalJSON()
	f.Add(proto, false)
	f.Add(js, true)
	f.Add([]byte(`{"partialSuccess":{"rejectedLogRecords":"-1"}}`), true)
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, false)
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		resp := &http.Response{Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		if json {
			resp.Header.Set("Content-Type", "application/json")
		}
		reason, isRejected := rejectedRecords(resp)
		if !isRejected && reason != "" {
			t.Fatalf("a reason %q without a rejection", reason)
		}
		if len(reason) > maxReason+len("…") {
			t.Fatalf("reason of %d bytes", len(reason))
		}
	})
}

// The line reader hands back every line, and counts every byte it
// consumed: the archive's progress ends at the archive's size.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), 2)
	f.Add([]byte(strings.Repeat("x", 5000)+"\nshort\n"), 1024)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = 1 + (limit&0xffff)%8192
		lr := newLineReader(bytes.NewReader(in), limit)
		for lines := 0; ; lines++ {
			line, tooLong, err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tooLong && line != nil) || len(line) > limit {
				t.Fatalf("line %d: %d bytes, tooLong %v, limit %d", lines, len(line), tooLong, limit)
			}
			if lines > len(in) {
				t.Fatal("more lines than bytes")
			}
		}
		if lr.read != int64(len(in)) {
			t.Fatalf("read %d of %d bytes", lr.read, len(in))
		}
	})
}
