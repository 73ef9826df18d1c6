package auditreceiver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendAllThenRead is a client like Python's http.client: it writes the whole
// body before it reads the answer. It returns the write error, if any, and
// the answer it could read.
func sendAllThenRead(t *testing.T, url, path, ct string, head string, size int) (error, *http.Response, answer) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a guard against a hang only
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", path, ct, size, head)
	require.NoError(t, err)
	chunk := []byte(strings.Repeat("x", 64<<10))
	var werr error
	for left := size - len(head); left > 0 && werr == nil; left -= len(chunk) {
		_, werr = conn.Write(chunk[:min(left, len(chunk))])
	}
	resp, rerr := http.ReadResponse(bufio.NewReader(conn), nil)
	if rerr != nil {
		return werr, nil, answer{}
	}
	defer resp.Body.Close()
	var a answer
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &a)
	return werr, resp, a
}

// A body over its limit gets its 413 even when the client sends it all
// before reading: the rest is read and discarded, up to max_discard_size.
// Without that, the client writing into a closed connection got a reset.
func TestOversizeBodyAnsweredToClientStillSending(t *testing.T) {
	const size = 32 << 20 // more than the socket buffers on either side
	h := start(t, func(c *Config) {
		c.MaxEventsBodySize = 64 << 10
		c.ServerConfig.MaxRequestBodySize = 1 << 20
		c.MaxDiscardSize = 64 << 20
	}, nil, nil)
	tests := []struct {
		name, path, ct, head, want string
	}{
		{"events", pathEvents, "application/json", `{"time":"2025-11-20T10:00:00Z","action":"a","message":"`, "request body larger than 65536 bytes (max_events_body_size)"},
		{"import", pathImport, "text/csv", seedCSV + `2025-11-20 10:00:00,a@example.com,a,"`, "(max_import_field_size)"},
		{"wrong type", pathEvents, "text/plain", "", "unsupported Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			werr, resp, a := sendAllThenRead(t, h.url, tt.path, tt.ct, tt.head, size)
			require.NoError(t, werr, "the client could not send its body")
			require.NotNil(t, resp, "no answer")
			assert.Contains(t, []int{400, 413, 415}, resp.StatusCode)
			assert.Contains(t, a.Error+fmt.Sprint(a.Problems), tt.want)
		})
	}
	assert.Zero(t, h.sink.LogRecordCount())
}

// A body that would still be sending past max_discard_size is not read at
// all: the connection closes at once.
func TestOversizeBodyPastDiscardLimitNotRead(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxEventsBodySize = 64 << 10; c.MaxDiscardSize = 1 << 20 }, nil, nil)
	werr, resp, _ := sendAllThenRead(t, h.url, pathEvents, "application/json", `{"message":"`, 32<<20)
	if werr == nil && resp != nil {
		t.Fatalf("the receiver read 32 MiB with max_discard_size 1 MiB and answered %d", resp.StatusCode)
	}
}
