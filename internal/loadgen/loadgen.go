// Package loadgen sends realistic audit events to the collector over OTLP
// gRPC, OTLP/HTTP or the audit receiver, with bounded counts, workers, rate
// and duration. Every event carries a unique event.id (prefix + sequence)
// so the store side can count exactly; the generator records which ones the
// collector acknowledged. A refused batch (back-pressure) is retried with
// backoff, as an SDK would.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Protocols.
const (
	OTLPGRPC = "otlp-grpc"
	OTLPHTTP = "otlp-http"
	Receiver = "receiver"
)

// Config bounds one run. Events and MaxDuration are required.
type Config struct {
	Protocol    string
	Endpoint    string // host:port
	Events      int
	BatchSize   int
	Workers     int
	Rate        int // events per second; 0 is as fast as acknowledged
	MaxDuration time.Duration
	IDPrefix    string
	// UnknownFraction and FreeTextEmailFraction shape the events (see auditgen).
	UnknownFraction       float64
	FreeTextEmailFraction float64
	// MaxRetries of one refused batch before it is given up (not acked).
	MaxRetries int
	// SpreadDays puts event i on day i % SpreadDays back from the send
	// time, so the events fill several days' indices (the latency the
	// double records then includes those days).
	SpreadDays int
	// OnProgress, if set, is called after every acknowledged batch.
	OnProgress func(acked int)
}

// Result of a run.
type Result struct {
	Sent, Acked, Refused, GaveUp int
	Duration                     time.Duration
	acked                        []bool
}

// ID returns the event.id of sequence number i.
func (c *Config) ID(i int) string { return c.IDPrefix + strconv.Itoa(i) }

// AckedIDs calls fn for every acknowledged id.
func (r *Result) AckedIDs(c *Config, fn func(id string)) {
	for i, ok := range r.acked {
		if ok {
			fn(c.ID(i))
		}
	}
}

type sender interface {
	send(ctx context.Context, ld plog.Logs, lo, hi int) (retryAfter time.Duration, err error)
	close()
}

var errRefused = errors.New("refused")

// Run sends the events and returns when all were acknowledged or given up,
// or MaxDuration passed.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Events <= 0 || c.MaxDuration <= 0 || c.BatchSize <= 0 || c.Workers <= 0 {
		return nil, errors.New("loadgen: Events, MaxDuration, BatchSize and Workers must be positive")
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 1000
	}
	ctx, cancel := context.WithTimeout(ctx, c.MaxDuration)
	defer cancel()
	res := &Result{acked: make([]bool, c.Events)}
	var next, sent, acked, refused, gaveUp atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for w := 0; w < c.Workers; w++ {
		s, err := newSender(c)
		if err != nil {
			return nil, err
		}
		tmpl := auditgen.Batch(c.BatchSize, auditgen.Options{Seed: uint64(w + 1), UnknownFraction: c.UnknownFraction, FreeTextEmailFraction: c.FreeTextEmailFraction, IDPrefix: "x"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.close()
			recs := tmpl.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for {
				lo := int(next.Add(int64(c.BatchSize))) - c.BatchSize
				if lo >= c.Events || ctx.Err() != nil {
					return
				}
				hi := min(lo+c.BatchSize, c.Events)
				if c.Rate > 0 {
					due := start.Add(time.Duration(float64(lo) / float64(c.Rate) * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				}
				ld := tmpl
				if hi-lo < c.BatchSize {
					ld = plog.NewLogs()
					tmpl.CopyTo(ld)
					rs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
					n := 0
					rs.RemoveIf(func(plog.LogRecord) bool { n++; return n > hi-lo })
					recs = rs
				}
				now := pcommon.NewTimestampFromTime(time.Now())
				for i := 0; i < hi-lo; i++ {
					lr := recs.At(i)
					lr.SetTimestamp(now)
					if c.SpreadDays > 1 {
						lr.SetTimestamp(now - pcommon.Timestamp(time.Duration((lo+i)%c.SpreadDays)*24*time.Hour))
					}
					lr.Attributes().PutStr(fields.EventID, c.ID(lo+i))
				}
				sent.Add(int64(hi - lo))
				backoff := 50 * time.Millisecond
				for attempt := 0; ; attempt++ {
					ra, err := s.send(ctx, ld, lo, hi)
					if err == nil {
						for i := lo; i < hi; i++ {
							res.acked[i] = true
						}
						a := acked.Add(int64(hi - lo))
						if c.OnProgress != nil {
							c.OnProgress(int(a))
						}
						break
					}
					if !errors.Is(err, errRefused) && attempt == 0 {
						e := err
						firstErr.CompareAndSwap(nil, &e)
					}
					refused.Add(1)
					if attempt >= c.MaxRetries || ctx.Err() != nil {
						gaveUp.Add(int64(hi - lo))
						break
					}
					if ra <= 0 {
						ra = backoff
						backoff = min(2*backoff, 2*time.Second)
					}
					select {
					case <-time.After(ra):
					case <-ctx.Done():
					}
				}
			}
		}()
	}
	wg.Wait()
	res.Sent, res.Acked, res.Refused, res.GaveUp = int(sent.Load()), int(acked.Load()), int(refused.Load()), int(gaveUp.Load())
	res.Duration = time.Since(start)
	if p := firstErr.Load(); p != nil && res.Acked == 0 {
		return res, *p
	}
	return res, nil
}

func newSender(c Config) (sender, error) {
	switch c.Protocol {
	case OTLPGRPC:
		conn, err := grpc.NewClient(c.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		return &grpcSender{conn: conn, client: plogotlp.NewGRPCClient(conn)}, nil
	case OTLPHTTP:
		return &httpSender{url: "http://" + c.Endpoint + "/v1/logs", client: newHTTPClient()}, nil
	case Receiver:
		return &receiverSender{url: "http://" + c.Endpoint + "/v1/events", client: newHTTPClient()}, nil
	}
	return nil, fmt.Errorf("loadgen: unknown protocol %q (otlp-grpc, otlp-http, receiver)", c.Protocol)
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

type grpcSender struct {
	conn   *grpc.ClientConn
	client plogotlp.GRPCClient
}

func (s *grpcSender) send(ctx context.Context, ld plog.Logs, _, _ int) (time.Duration, error) {
	_, err := s.client.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
	if err == nil {
		return 0, nil
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted:
		return 0, errRefused
	}
	return 0, err
}

func (s *grpcSender) close() { s.conn.Close() }

type httpSender struct {
	url    string
	client *http.Client
}

func (s *httpSender) send(ctx context.Context, ld plog.Logs, _, _ int) (time.Duration, error) {
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return 0, err
	}
	return post(ctx, s.client, s.url, "application/x-protobuf", body)
}

func (s *httpSender) close() {}

func post(ctx context.Context, client *http.Client, url, ct string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := client.Do(req)
	if err != nil {
		return 0, errRefused // connection trouble: retry like an SDK
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == 429 || resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504:
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return time.Duration(ra) * time.Second, errRefused
	}
	return 0, fmt.Errorf("%s answered %d", url, resp.StatusCode)
}

// receiverSender turns each record into the receiver's JSON event shape.
type receiverSender struct {
	url    string
	client *http.Client
	buf    []byte
}

func (s *receiverSender) send(ctx context.Context, ld plog.Logs, _, _ int) (time.Duration, error) {
	s.buf = s.buf[:0]
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		s.buf = appendEvent(s.buf, recs.At(i))
		s.buf = append(s.buf, '\n')
	}
	return post(ctx, s.client, s.url, "application/x-ndjson", s.buf)
}

func (s *receiverSender) close() {}

func appendEvent(b []byte, lr plog.LogRecord) []byte {
	a := lr.Attributes().AsRaw()
	str := func(k string) string { v, _ := a[k].(string); return v }
	ev := map[string]any{
		"time":   lr.Timestamp().AsTime().Format(time.RFC3339Nano),
		"action": lr.EventName(), "id": str(fields.EventID),
		"actor":    map[string]any{"email": str(fields.UserEmail), "id": str(fields.UserID), "type": str(fields.ActorType)},
		"resource": map[string]any{"type": str(fields.ResourceType), "id": str(fields.ResourceID), "name": str(fields.ResourceName)},
		"client":   map[string]any{"ip": str(fields.ClientAddress), "user_agent": str(fields.UserAgent)},
		"region":   str(fields.CloudRegion), "outcome": str(fields.EventOutcome), "organization": str(fields.Organization),
		"properties": map[string]any{"message": str("message")},
	}
	out, _ := jsonMarshal(ev)
	return append(b, out...)
}
