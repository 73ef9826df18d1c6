package auditreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/receiver/auditreceiver/internal/metadata"
)

const (
	pathEvents = "/v1/events"
	pathImport = "/v1/import"
)

type auditReceiver struct {
	cfg     *Config
	set     receiver.Settings
	next    consumer.Logs
	obs     *receiverhelper.ObsReport
	server  *http.Server
	guard   *guard
	serveWG sync.WaitGroup
	// cancel ends every request's context: shutdown cuts requests that
	// outlast shutdown_timeout.
	cancel context.CancelFunc

	tel *metadata.TelemetryBuilder
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*auditReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &auditReceiver{cfg: cfg, set: set, next: next, obs: obs}
	if r.tel, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *auditReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	mux.HandleFunc(pathEvents, r.handleEvents)
	mux.HandleFunc(pathImport, r.handleImport)
	mux.HandleFunc("/", r.handleUnknown)
	var err error
	if r.server, err = r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, mux); err != nil {
		return err
	}
	base, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.server.BaseContext = func(net.Listener) context.Context { return base }
	r.guard = newGuard(r, r.server.Handler, base)
	r.server.Handler = r.guard
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("audit receiver: cannot listen on %s: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	r.set.Logger.Info("Audit receiver listening", zap.String("endpoint", ln.Addr().String()))
	r.serveWG.Add(1)
	go func() {
		defer r.serveWG.Done()
		if serr := r.server.Serve(ln); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(serr))
		}
	}()
	return nil
}

// Shutdown waits for requests in progress up to shutdown_timeout, then
// cuts them: their contexts are canceled and their body reads woken, so
// each answers 503 (the handlers check the context on every read and
// batch); after another shutdown_timeout their connections are closed.
func (r *auditReceiver) Shutdown(ctx context.Context) error {
	defer r.tel.Shutdown()
	if r.server == nil {
		return nil
	}
	graceful, cancel := context.WithTimeout(ctx, r.cfg.ShutdownTimeout)
	defer cancel()
	err := r.server.Shutdown(graceful)
	if err != nil {
		r.set.Logger.Warn("Cutting audit requests still in progress at shutdown", zap.Duration("shutdown_timeout", r.cfg.ShutdownTimeout))
	}
	r.cancel()
	if err != nil {
		r.guard.interrupt()
		cut, cancelCut := context.WithTimeout(ctx, r.cfg.ShutdownTimeout)
		defer cancelCut()
		if r.guard.wait(cut) != nil {
			_ = r.server.Close()
		}
	}
	r.serveWG.Wait()
	done, cancelDone := context.WithTimeout(ctx, r.cfg.ShutdownTimeout)
	defer cancelDone()
	if err := r.guard.wait(done); err != nil {
		return fmt.Errorf("audit receiver: requests still running after shutdown cut them: %w", err)
	}
	return nil
}

// answer is every response body: a count, or an error with its problems.
type answer struct {
	Accepted int                  `json:"accepted"`
	Error    string               `json:"error,omitempty"`
	Problems []auditevent.Problem `json:"problems,omitempty"`
	Omitted  int                  `json:"problems_omitted,omitempty"`
}

func (r *auditReceiver) reply(w http.ResponseWriter, req *http.Request, endpoint string, code int, a answer) {
	st := stateOf(req)
	st.keepWriting(true)
	st.discard = refusedEarly(code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = writeJSON(w, a)
	r.tel.ReceiverAuditRequests.Add(context.WithoutCancel(req.Context()), 1, metric.WithAttributes(attribute.String("endpoint", endpoint), attribute.Int("code", code)))
}

func writeJSON(w io.Writer, a answer) error { return json.NewEncoder(w).Encode(a) }

// handleUnknown answers every other path, /v1/events/ included.
func (r *auditReceiver) handleUnknown(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	r.reply(w, req, "other", http.StatusNotFound, answer{Error: fmt.Sprintf(
		"no endpoint at %q: POST events to %s, or a CSV file to %s", path, pathEvents, pathImport)})
}

func (r *auditReceiver) countRefused(ctx context.Context, endpoint, reason string, n int) {
	if n > 0 {
		r.tel.ReceiverAuditEventsRefused.Add(ctx, int64(n), metric.WithAttributes(attribute.String("endpoint", endpoint), attribute.String("reason", reason)))
	}
}

func (r *auditReceiver) checkMethod(w http.ResponseWriter, req *http.Request, endpoint string) bool {
	if req.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	r.reply(w, req, endpoint, http.StatusMethodNotAllowed, answer{Error: req.Method + " is not allowed: use POST"})
	return false
}

func mediaType(req *http.Request) string {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

func newBatch() (plog.Logs, plog.LogRecordSlice) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	return ld, sl.LogRecords()
}

func (r *auditReceiver) handleEvents(w http.ResponseWriter, req *http.Request) {
	if !r.checkMethod(w, req, pathEvents) {
		return
	}
	var ndjson bool
	switch mediaType(req) {
	case "application/json":
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		ndjson = true
	default:
		r.reply(w, req, pathEvents, http.StatusUnsupportedMediaType, answer{Error: fmt.Sprintf(
			"unsupported Content-Type %q: send application/json (one event or an array) or application/x-ndjson (one event per line); gzip bodies with Content-Encoding: gzip",
			req.Header.Get("Content-Type"))})
		return
	}
	body := http.MaxBytesReader(w, req.Body, r.cfg.MaxEventsBodySize)
	ld, recs := newBatch()
	now := time.Now()
	dec := auditevent.Decoder{Limits: r.limits(now), MaxEvents: r.cfg.MaxEventsPerRequest}
	probs := &auditevent.Problems{Max: r.cfg.MaxProblems}
	var err error
	if ndjson {
		err = dec.DecodeNDJSON(body, recs, probs)
	} else {
		err = dec.DecodeJSON(body, recs, probs)
	}
	switch {
	case r.bodyFailed(w, req, pathEvents, recs.Len()):
		return
	case errors.Is(err, auditevent.ErrTooManyEvents):
		r.countRefused(req.Context(), pathEvents, "too_large", recs.Len())
		r.reply(w, req, pathEvents, http.StatusRequestEntityTooLarge, answer{Error: fmt.Sprintf(
			"more than %d events in one request (max_events_per_request): split it, or send a file to %s", r.cfg.MaxEventsPerRequest, pathImport)})
		return
	case err != nil:
		r.readError(w, req, pathEvents, err, r.cfg.MaxEventsBodySize, "max_events_body_size", recs.Len())
		return
	case probs.Len() > 0:
		r.countRefused(req.Context(), pathEvents, "invalid", recs.Len())
		r.reply(w, req, pathEvents, http.StatusBadRequest, answer{
			Error:    fmt.Sprintf("%d problem(s) in the request; nothing from it was accepted", probs.Len()),
			Problems: probs.List, Omitted: probs.Omitted})
		return
	case recs.Len() == 0:
		r.reply(w, req, pathEvents, http.StatusBadRequest, answer{Error: "no events in the request"})
		return
	}
	n := recs.Len()
	if err := r.consume(req.Context(), ld, n); err != nil {
		r.pipelineError(w, req, pathEvents, err, 0, n)
		return
	}
	r.tel.ReceiverAuditEventsAccepted.Add(req.Context(), int64(n), metric.WithAttributes(attribute.String("endpoint", pathEvents)))
	r.reply(w, req, pathEvents, http.StatusAccepted, answer{Accepted: n})
}

func (r *auditReceiver) limits(now time.Time) auditevent.Limits {
	return auditevent.Limits{Now: now, MaxFuture: r.cfg.MaxFutureSkew, Properties: auditevent.PropertyLimits{
		MaxDepth: r.cfg.MaxPropertyDepth, MaxKeys: r.cfg.MaxPropertyKeys, MaxValues: r.cfg.MaxPropertyValues,
	}}
}

// bodyFailed answers when reading the body stopped for its pace (408) or
// because the request was canceled (shutdown, or the client went away),
// whatever the decoder made of the part it read.
func (r *auditReceiver) bodyFailed(w http.ResponseWriter, req *http.Request, endpoint string, n int) bool {
	st := stateOf(req)
	switch {
	case st.slow():
		r.countRefused(req.Context(), endpoint, "too_slow", n)
		w.Header().Set("Connection", "close")
		r.reply(w, req, endpoint, http.StatusRequestTimeout, answer{Error: fmt.Sprintf(
			"the request body arrived slower than %d bytes/s after %s (min_body_rate, body_read_timeout); nothing from it was accepted",
			r.cfg.MinBodyRate, r.cfg.BodyReadTimeout)})
		return true
	case req.Context().Err() != nil:
		r.countRefused(context.WithoutCancel(req.Context()), endpoint, "canceled", n)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(r.cfg.RetryAfter.Seconds()))))
		r.reply(w, req, endpoint, http.StatusServiceUnavailable, answer{Error: "the request was cut off (the receiver is shutting down, or the connection closed); nothing from it was accepted: retry"})
		return true
	}
	return false
}

func (r *auditReceiver) consume(ctx context.Context, ld plog.Logs, n int) error {
	ctx = r.obs.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(ctx, ld)
	r.obs.EndLogsOp(ctx, "audit", n, err)
	return err
}

func (r *auditReceiver) readError(w http.ResponseWriter, req *http.Request, endpoint string, err error, limit int64, setting string, n int) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		r.countRefused(req.Context(), endpoint, "too_large", n)
		r.reply(w, req, endpoint, http.StatusRequestEntityTooLarge, answer{Error: fmt.Sprintf(
			"request body larger than %d bytes (%s)", min(limit, tooLarge.Limit), setting)})
		return
	}
	r.countRefused(req.Context(), endpoint, "invalid", n)
	r.reply(w, req, endpoint, http.StatusBadRequest, answer{Error: "reading the request body: " + err.Error()})
}

// pipelineError answers 503 with Retry-After for refusals a retry can cure
// (memory limiter, full queue), and 500 for permanent ones.
func (r *auditReceiver) pipelineError(w http.ResponseWriter, req *http.Request, endpoint string, err error, accepted, refused int) {
	r.countRefused(req.Context(), endpoint, "pipeline", refused)
	if consumererror.IsPermanent(err) {
		r.set.Logger.Error("Pipeline rejected audit events permanently", zap.String("endpoint", endpoint), zap.Int("events", refused), zap.Error(err))
		r.reply(w, req, endpoint, http.StatusInternalServerError, answer{Accepted: accepted, Error: "the pipeline rejected the events permanently; they were not stored: " + err.Error()})
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(r.cfg.RetryAfter.Seconds()))))
	msg := "the pipeline cannot take events right now; retry after the Retry-After delay: " + err.Error()
	if endpoint == pathImport {
		msg += fmt.Sprintf(". %d rows were accepted before this; re-send the whole file: event ids are deterministic, so rows already stored are not stored twice", accepted)
	}
	r.reply(w, req, endpoint, http.StatusServiceUnavailable, answer{Accepted: accepted, Error: msg})
}

func (r *auditReceiver) handleImport(w http.ResponseWriter, req *http.Request) {
	if !r.checkMethod(w, req, pathImport) {
		return
	}
	if mt := mediaType(req); mt != "text/csv" && mt != "application/csv" {
		r.reply(w, req, pathImport, http.StatusUnsupportedMediaType, answer{Error: fmt.Sprintf(
			"unsupported Content-Type %q: send text/csv with a header row", req.Header.Get("Content-Type"))})
		return
	}
	// Pass 1 validates every row while spooling the upload to disk, so a
	// file of any size is all-or-nothing without being held in memory.
	spool, err := os.CreateTemp(r.cfg.SpoolDirectory, "audit-import-*.csv")
	if err != nil {
		r.set.Logger.Error("Cannot create the import spool file", zap.Error(err))
		r.reply(w, req, pathImport, http.StatusInternalServerError, answer{Error: "cannot spool the upload: " + err.Error()})
		return
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	now := time.Now()
	limits := r.limits(now)
	probs := &auditevent.Problems{Max: r.cfg.MaxProblems}
	var body io.Reader = req.Body
	var capped *sizeCap
	if stateOf(req).compressed {
		capped = &sizeCap{r: req.Body, left: r.cfg.MaxImportDecompressedSize}
		body = capped
	}
	rows, err := r.validateCSV(io.TeeReader(body, spool), limits, now, probs)
	switch {
	case r.bodyFailed(w, req, pathImport, rows):
		return
	case capped != nil && capped.hit:
		r.countRefused(req.Context(), pathImport, "too_large", rows)
		r.reply(w, req, pathImport, http.StatusRequestEntityTooLarge, answer{Error: fmt.Sprintf(
			"the upload is larger than %d bytes once decompressed (max_import_decompressed_size): send it uncompressed, or split it", r.cfg.MaxImportDecompressedSize)})
		return
	case err != nil && probs.Len() == 0:
		r.readError(w, req, pathImport, err, r.cfg.ServerConfig.MaxRequestBodySize, "max_request_body_size", rows)
		return
	case probs.Len() > 0:
		r.countRefused(req.Context(), pathImport, "invalid", rows)
		r.reply(w, req, pathImport, http.StatusBadRequest, answer{
			Error:    fmt.Sprintf("%d problem(s) in the file; nothing from it was accepted", probs.Len()),
			Problems: probs.List, Omitted: probs.Omitted})
		return
	case rows == 0:
		r.reply(w, req, pathImport, http.StatusBadRequest, answer{Error: "the file has a header but no rows"})
		return
	}

	// Pass 2 sends the rows in batches.
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		r.reply(w, req, pathImport, http.StatusInternalServerError, answer{Error: "cannot re-read the spooled upload: " + err.Error()})
		return
	}
	rd, err := auditcsv.NewReaderSized(spool, limits, r.sizes())
	if err != nil {
		r.reply(w, req, pathImport, http.StatusInternalServerError, answer{Error: "cannot re-read the spooled upload: " + err.Error()})
		return
	}
	accepted := 0
	for accepted < rows {
		if req.Context().Err() != nil {
			r.pipelineError(w, req, pathImport, errCanceled, accepted, rows-accepted)
			return
		}
		stateOf(req).keepWriting(false)
		ld, recs := newBatch()
		recs.EnsureCapacity(min(r.cfg.ImportBatchSize, rows-accepted))
		for recs.Len() < r.cfg.ImportBatchSize {
			if err := rd.Next(recs.AppendEmpty(), now, probs); err != nil {
				recs.RemoveIf(func(lr plog.LogRecord) bool { return lr.EventName() == "" })
				break
			}
		}
		n := recs.Len()
		if n == 0 {
			break
		}
		if err := r.consume(req.Context(), ld, n); err != nil {
			r.pipelineError(w, req, pathImport, err, accepted, rows-accepted)
			return
		}
		accepted += n
		r.tel.ReceiverAuditEventsAccepted.Add(req.Context(), int64(n), metric.WithAttributes(attribute.String("endpoint", pathImport)))
	}
	r.reply(w, req, pathImport, http.StatusAccepted, answer{Accepted: accepted})
}

func (r *auditReceiver) sizes() auditcsv.Sizes {
	return auditcsv.Sizes{MaxField: r.cfg.MaxImportFieldSize, MaxRow: r.cfg.MaxImportRowSize}
}

func (r *auditReceiver) validateCSV(body io.Reader, limits auditevent.Limits, now time.Time, probs *auditevent.Problems) (int, error) {
	rd, err := auditcsv.NewReaderSized(body, limits, r.sizes())
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return 0, err
		}
		probs.Add(-1, 1, "", err.Error())
		return 0, err
	}
	rows := 0
	for {
		lr := plog.NewLogRecord()
		err := rd.Next(lr, now, probs)
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows++
	}
}
