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
	slotsFree(t, h, 20*time.Second)
	assert.Positive(t, h.recv.guard.drained.Load())
}

// A body that would still be sending past max_discard_size is not read at
// all: the connection closes at once, without a byte of it thrown away.
func TestOversizeBodyPastDiscardLimitNotRead(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxEventsBodySize = 64 << 10; c.MaxDiscardSize = 1 << 20 }, nil, nil)
	werr, resp, _ := sendAllThenRead(t, h.url, pathEvents, "application/json", `{"message":"`, 32<<20)
	if werr == nil && resp != nil {
		t.Fatalf("the receiver read 32 MiB with max_discard_size 1 MiB and answered %d", resp.StatusCode)
	}
	slotsFree(t, h, 20*time.Second)
	assert.Zero(t, h.recv.guard.drained.Load(), "the receiver read and threw away part of a body declaring more than max_discard_size")
}

// slotsFree waits until no request holds a slot: its handler and its drain
// are over.
func slotsFree(t *testing.T, h *harness, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		return len(h.recv.guard.requests) == 0 && len(h.recv.guard.imports) == 0
	}, within, 10*time.Millisecond, "a request still holds its slot")
}

// dialRaw opens a connection to the receiver, closed when the test ends.
func dialRaw(t *testing.T, h *harness) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a guard against a hang only
	return conn
}

// readToEnd reads the rest of an answer, which ends once the request is
// over (drain included), and fails the test if that takes over within.
func readToEnd(t *testing.T, resp *http.Response, within time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.ReadAll(resp.Body)
	}()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("the answer did not end within %s: the receiver is still reading the body", within)
	}
}

// The drain after an answer lasts at most body_read_timeout: a refused
// client that keeps sending at min_body_rate would otherwise hold its slot
// as long as max_discard_size takes at that pace (128 MiB at 64 KiB/s, 35
// minutes; here 10 MB at 2 KB/s, 80 minutes).
func TestDiscardBoundedInTime(t *testing.T) {
	h := start(t, func(c *Config) { c.BodyReadTimeout = time.Second; c.MinBodyRate = 1000 }, nil, nil)
	conn := dialRaw(t, h)
	_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000000\r\n\r\n", pathEvents)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // twice min_body_rate, for as long as the connection takes it
		chunk := []byte(strings.Repeat("x", 200))
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	readToEnd(t, resp, 15*time.Second)
	slotsFree(t, h, 15*time.Second)
	assert.Positive(t, h.recv.guard.drained.Load(), "the body was not drained at all")
}

// A client that asked for 100 Continue and was answered before the
// receiver read its body never sends the body (the server sends no 100
// Continue after an answer): there is nothing to wait for. Once the body
// was asked for, the client sends it, and it is drained.
func TestDiscardExpectContinue(t *testing.T) {
	h := start(t, func(c *Config) { c.BodyReadTimeout = time.Minute; c.MaxEventsBodySize = 64 << 10 }, nil, nil)
	t.Run("answered before the body was read", func(t *testing.T) {
		conn := dialRaw(t, h)
		_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", pathEvents)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		readToEnd(t, resp, 10*time.Second)
		slotsFree(t, h, 10*time.Second)
	})
	t.Run("answered after the body was asked for", func(t *testing.T) {
		before := h.recv.guard.drained.Load()
		conn := dialRaw(t, h)
		const size = 1 << 20
		head := `{"message":"`
		_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", pathEvents, size)
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusContinue, resp.StatusCode)
		_, err = conn.Write([]byte(head + strings.Repeat("x", size-len(head))))
		require.NoError(t, err, "the client could not send its body")
		resp, err = http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		readToEnd(t, resp, 10*time.Second)
		slotsFree(t, h, 10*time.Second)
		assert.Greater(t, h.recv.guard.drained.Load(), before, "the body sent after 100 Continue was not drained")
	})
}

// max_discard_size 0 stops the receiver's own drain, not the HTTP
// server's: Go still reads up to 256 KiB of what is left of a body (so the
// connection serves the next request), and closes the connection at once
// only when more than that is declared.
func TestNoDiscardLeavesTheServers256KiB(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxDiscardSize = 0 }, nil, nil)
	for _, tt := range []struct {
		size   int
		reused bool
	}{{100 << 10, true}, {1 << 20, false}} {
		conn := dialRaw(t, h)
		// Two requests at once: a refused body of size, then a valid event.
		_, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", pathEvents, tt.size)
		require.NoError(t, err)
		go func() {
			_, _ = conn.Write([]byte(strings.Repeat("x", tt.size)))
			_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", pathEvents, len(event(1)), event(1))
		}()
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		_, _ = io.ReadAll(resp.Body)
		resp, err = http.ReadResponse(br, nil)
		if tt.reused {
			require.NoError(t, err, "%d bytes: the server did not read the rest of the body", tt.size)
			assert.Equal(t, http.StatusAccepted, resp.StatusCode)
		} else {
			assert.Error(t, err, "%d bytes: the connection served another request", tt.size)
		}
	}
	assert.Zero(t, h.recv.guard.drained.Load())
}
