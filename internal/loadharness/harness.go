// Package loadharness runs a scenario end to end: it starts the
// Elasticsearch test double and bin/otelcol-audit, drives load, injects the
// scenario's faults (including killing and restarting the collector), waits
// until every acknowledged event is accounted for or progress stalls, and
// reports throughput, CPU, memory, latency, and what was stored,
// dead-lettered, quarantined, lost or duplicated. It stops only the
// processes it started.
package loadharness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/loadgen"
)

// Scenario is one run.
type Scenario struct {
	Name     string
	Events   int
	Protocol string
	Workers  int
	Batch    int
	Rate     int
	// Faults apply from the start.
	Faults estest.Faults
	// Outage ("503", "close" or OutageForbidden) starts after OutageAfter
	// of the events were sent and lasts OutageFor.
	Outage      string
	OutageAfter float64
	OutageFor   time.Duration
	// KillDuringOutage SIGKILLs the collector halfway through the outage
	// and restarts it on the same persistent queue.
	KillDuringOutage bool
	// NoAudit leaves the audit processor out (a reference pipeline).
	NoAudit bool
	// BatchProcessor batches in the batch processor (otlp → memory_limiter
	// → audit → batch → exporter) instead of in the exporter's queue.
	BatchProcessor bool
	Gzip           bool
	// MemoryQueue uses exporterhelper's in-memory queue instead of the
	// persistent one (a throughput reference; not crash-safe).
	MemoryQueue bool
	// StallTimeout ends the wait when nothing moves for this long.
	StallTimeout time.Duration
	// SpreadDays spreads event times over this many days and gives the
	// exporter daily indices, so retried batches span several indices.
	SpreadDays int
	// Digests turns tamper evidence on (a fresh key pair, digests every
	// 5s) and ends the run with bin/auditctl verify against the double.
	Digests bool
	// Fsync has the persistent queue's file_storage sync every write, as
	// config/elasticsearch.yaml does.
	Fsync bool
	// Journal puts the persistent queue (and the digest state) in the
	// journal_storage extension instead of file_storage.
	Journal bool
	// KeepSource has the double keep every document's source, as it must
	// for verify: set it on the runs compared with a Digests run.
	KeepSource bool
}

// digestInstance names the harness collector's chains, so their digest
// documents' ids are told apart from events'.
const digestInstance = "auditload"

// Paths and knobs of the harness.
type Options struct {
	Collector   string // bin/otelcol-audit
	ESDouble    string // bin/es-testdouble; empty runs the double in-process
	RepoRoot    string
	WorkDir     string
	MemLimitMiB int
	Log         io.Writer
	// Pprof, when set (host:port), serves the collector's pprof endpoint.
	Pprof string
	// CollectorEnv is added to the collector's environment only (GOGC,
	// GOMEMLIMIT), never to the double's or the generator's.
	CollectorEnv []string
	// Auditctl is bin/auditctl, which verifies the digests of a scenario
	// with Digests (default bin/auditctl under RepoRoot).
	Auditctl string
}

// OutageForbidden answers every bulk item with 403 for the outage, as a
// writer role without the privilege for its index would be.
const OutageForbidden = "forbidden"

// Report is what a run measured.
type Report struct {
	Scenario        string
	Sent, Acked     int
	Refused         int // refused sends (retried by the generator)
	GaveUp          int
	Stored          int // acknowledged events stored in the audit or quarantine streams
	DeadLettered    int
	Quarantined     int
	Lost            int // acknowledged, but nowhere in the store
	Duplicates      int // stored in more than one stream
	Unexpected      int // stored but never sent
	EventsPerSec    float64
	CPUSecondsPer1M float64
	PeakRSSMiB      float64
	LatencyP50      float64
	LatencyP99      float64
	Elapsed         time.Duration
	Conflicts       int64
	DroppedAnswers  int64
	Forbidden       int64 // items answered 403
	Rollovers       int64
	Indices         int // indices and data streams that hold documents
	// Digests and Verify: the digest documents stored and what
	// auditctl verify said (empty when the scenario has no digests).
	Digests int
	Verify  string
	Note    string
}

func (r Report) String() string {
	if r.Verify != "" {
		r.Note = strings.TrimSpace(fmt.Sprintf("digests %d, verify: %s %s", r.Digests, r.Verify, r.Note))
	}
	return fmt.Sprintf("%-28s sent=%d acked=%d stored=%d deadlettered=%d quarantined=%d lost=%d duplicates=%d unexpected=%d | %.0f events/s, %.1f CPU s/1M, peak RSS %.0f MiB, latency p50 %.2fs p99 %.2fs, refused sends %d, 409s %d, answers lost %d, 403 items %d, rollovers %d, indices %d %s",
		r.Scenario, r.Sent, r.Acked, r.Stored, r.DeadLettered, r.Quarantined, r.Lost, r.Duplicates, r.Unexpected,
		r.EventsPerSec, r.CPUSecondsPer1M, r.PeakRSSMiB, r.LatencyP50, r.LatencyP99, r.Refused, r.Conflicts, r.DroppedAnswers, r.Forbidden, r.Rollovers, r.Indices, r.Note)
}

type double struct {
	url  string
	cmd  *exec.Cmd
	stop func()
}

func (d *double) post(path string, v any) error {
	b, _ := json.Marshal(v)
	resp, err := http.Post(d.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (d *double) stats() (estest.Stats, error) {
	var st estest.Stats
	resp, err := http.Get(d.url + "/_testdouble/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (d *double) ids() ([]string, error) {
	resp, err := http.Get(d.url + "/_testdouble/ids")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ids []string
	return ids, json.NewDecoder(resp.Body).Decode(&ids)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDouble starts the test double: in-process when o.ESDouble is empty,
// else as its own process with the extra flags.
func startDouble(o Options, flags ...string) (*double, error) {
	port := freePort()
	d := &double{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if o.ESDouble == "" {
		opts := []estest.Option{estest.WithLatency()}
		if slices.Contains(flags, "-keep-source") {
			opts = append(opts, estest.WithSource())
		}
		srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Handler: estest.New(opts...).Handler(), ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return nil, err
		}
		go srv.Serve(ln)
		d.stop = func() { srv.Close() }
	} else {
		d.cmd = exec.Command(o.ESDouble, append([]string{"-listen", fmt.Sprintf("127.0.0.1:%d", port)}, flags...)...)
		d.cmd.Stderr = o.Log
		if err := d.cmd.Start(); err != nil {
			return nil, err
		}
		d.stop = func() { d.cmd.Process.Kill(); d.cmd.Wait() }
	}
	for i := 0; i < 100; i++ {
		if _, err := d.stats(); err == nil {
			return d, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()
	return nil, fmt.Errorf("the Elasticsearch test double did not come up on %s", d.url)
}

type collector struct {
	cmd    *exec.Cmd
	health string
}

func (o Options) config(sc Scenario, esURL, queue, key string, p map[string]int) string {
	processors := "[memory_limiter, audit]"
	if sc.NoAudit {
		processors = "[memory_limiter]"
	}
	queueBatch := "\n      batch: {sizer: items, flush_timeout: 1s, min_size: 5000, max_size: 10000}"
	if sc.BatchProcessor {
		processors = strings.TrimSuffix(processors, "]") + ", batch]"
		queueBatch = ""
	}
	compression := "none"
	if sc.Gzip {
		compression = "gzip"
	}
	root := o.RepoRoot
	ext := "file_storage/queue"
	extCfg := fmt.Sprintf("file_storage/queue: {directory: %s, create_directory: true, fsync: %t}", queue, sc.Fsync)
	if sc.Journal {
		ext = "journal_storage/queue"
		extCfg = fmt.Sprintf("journal_storage/queue: {directory: %s, fsync: %t}", queue, sc.Fsync)
	}
	storage := "\n      storage: " + ext
	if sc.MemoryQueue {
		storage = ""
	}
	period := "month"
	if sc.SpreadDays > 1 {
		period = "day"
	}
	pprof, pprofExt := "", ""
	if o.Pprof != "" {
		pprof, pprofExt = "\n  pprof: {endpoint: "+o.Pprof+"}", ", pprof"
	}
	digests := ""
	if sc.Digests {
		digests = fmt.Sprintf("\n    digest: {key_file: %s, storage: %s, interval: 5s, instance: %s}", key, ext, digestInstance)
	}
	return fmt.Sprintf(`
extensions:%s
  health_check: {endpoint: 127.0.0.1:%d}
  %s
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
      http: {endpoint: 127.0.0.1:%d}
  audit:
    endpoint: 127.0.0.1:%d
processors:
  memory_limiter: {check_interval: 200ms, limit_mib: %d, spike_limit_mib: %d}
  audit:
    catalogs: [%s/config/catalogs/codatum.yaml, %s/config/catalogs/wherobots.yaml, %s/config/catalogs/analytics.yaml]
  batch: {send_batch_size: 5000, send_batch_max_size: 10000, timeout: 1s}
exporters:
  audit_elasticsearch:
    endpoints: [%s]
    compression: %s
    request_timeout: 5s
    bootstrap: {retry_interval: 200ms}
    retention: {period: %s}
    bulk: {max_retries: 3, initial_backoff: 50ms, max_backoff: 1s}
    sending_queue:
      enabled: true%s
      sizer: items
      queue_size: 2000000
      num_consumers: 4%s
    retry_on_failure: {enabled: true, initial_interval: 200ms, max_interval: 2s, max_elapsed_time: 0s}%s
service:
  extensions: [health_check, %s%s]
  pipelines:
    logs:
      receivers: [otlp, audit]
      processors: %s
      exporters: [audit_elasticsearch]
  telemetry:
    logs: {level: warn}
    metrics: {level: none}
`, pprof, p["health"], extCfg, p["grpc"], p["http"], p["audit"], o.MemLimitMiB, o.MemLimitMiB/4, root, root, root, esURL, compression, period, storage, queueBatch, digests, ext, pprofExt, processors)
}

// startCollector starts the collector and waits until it is healthy; it
// stops it and returns ctx's error when ctx ends first.
func (o Options) startCollector(ctx context.Context, cfgPath string, health int) (*collector, error) {
	c := &collector{health: fmt.Sprintf("http://127.0.0.1:%d/", health)}
	c.cmd = exec.Command(o.Collector, "--config", cfgPath)
	c.cmd.Env = append(os.Environ(), o.CollectorEnv...)
	// The last of its output names the reason when it exits at start.
	tail := &tailWriter{max: 4096}
	var out io.Writer = tail
	if o.Log != nil {
		out = io.MultiWriter(o.Log, tail)
	}
	c.cmd.Stdout, c.cmd.Stderr = out, out
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 600; i++ {
		if exited(c.cmd.Process.Pid) {
			c.cmd.Wait()
			return nil, fmt.Errorf("the collector exited at start: %s", tail.String())
		}
		if resp, err := http.Get(c.health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c, nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			c.stop(true)
			return nil, err
		}
	}
	c.stop(true)
	return nil, fmt.Errorf("the collector did not become healthy in 60s; its output is in the log")
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// exited reports whether pid has exited and waits to be reaped.
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name's closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// procUsage reads CPU seconds and peak RSS of a live process from /proc.
func procUsage(pid int) (cpu float64, peakMiB float64) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cpu = (ut + st) / 100 // USER_HZ is 100 on Linux
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
				peakMiB = kb / 1024
			}
		}
	}
	return cpu, peakMiB
}

func (c *collector) usage() (cpu, peak float64) { return procUsage(c.cmd.Process.Pid) }

func (c *collector) stop(kill bool) (cpu, peak float64) {
	cpu, peak = c.usage()
	if kill {
		c.cmd.Process.Kill()
	} else {
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
			return
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
		}
	}
	c.cmd.Wait()
	return
}

// Run executes one scenario.
func Run(ctx context.Context, o Options, sc Scenario) (Report, error) {
	rep := Report{Scenario: sc.Name}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.MemLimitMiB == 0 {
		o.MemLimitMiB = 1024
	}
	if sc.StallTimeout == 0 {
		sc.StallTimeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp(o.WorkDir, "auditload-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	flags := []string{"-latency"}
	if sc.Digests || sc.KeepSource {
		flags = append(flags, "-keep-source") // verify hashes every _source
	}
	d, err := startDouble(o, flags...)
	if err != nil {
		return rep, err
	}
	defer d.stop()
	if err := d.post("/_testdouble/faults", sc.Faults); err != nil {
		return rep, err
	}
	var ports map[string]int
	cfgPath := filepath.Join(dir, "collector.yaml")
	keys := filepath.Join(dir, "keys")
	if sc.Digests {
		if _, err := digest.Keygen(keys); err != nil {
			return rep, err
		}
	}
	start := func(ctx context.Context) (proc, error) {
		c, err := o.startCollector(ctx, cfgPath, ports["health"])
		if err != nil {
			return nil, err // not a nil *collector in a non-nil proc
		}
		return c, nil
	}
	var first proc
	// A free port can be taken by another process before the collector
	// binds it (tests run in parallel): then try other ports.
	for attempt := 0; ; attempt++ {
		ports = map[string]int{"health": freePort(), "grpc": freePort(), "http": freePort(), "audit": freePort()}
		if err := os.WriteFile(cfgPath, []byte(o.config(sc, d.url, filepath.Join(dir, "queue"), filepath.Join(keys, digest.PrivateKeyFile), ports)), 0o600); err != nil {
			return rep, err
		}
		first, err = start(ctx)
		if err == nil {
			break
		}
		if attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			return rep, err
		}
	}
	col := &live{c: first}
	defer col.close()
	// Wait for the bootstrap: the first data stream exists.
	for i := 0; ; i++ {
		st, err := d.stats()
		if err == nil && len(st.Streams) > 0 {
			break
		}
		if i > 200 {
			return rep, fmt.Errorf("the exporter never bootstrapped the test double")
		}
		time.Sleep(50 * time.Millisecond)
	}

	endpoint := map[string]string{loadgen.OTLPGRPC: fmt.Sprintf("127.0.0.1:%d", ports["grpc"]), loadgen.OTLPHTTP: fmt.Sprintf("127.0.0.1:%d", ports["http"]), loadgen.Receiver: fmt.Sprintf("127.0.0.1:%d", ports["audit"])}[sc.Protocol]
	outageAt := int(sc.OutageAfter * float64(sc.Events))
	gen := loadgen.Config{
		Protocol: sc.Protocol, Endpoint: endpoint, Events: sc.Events, BatchSize: sc.Batch, Workers: sc.Workers, Rate: sc.Rate,
		MaxDuration: 30 * time.Minute, IDPrefix: "ev-", UnknownFraction: 0.02, FreeTextEmailFraction: 0.2, MaxRetries: 100000,
		SpreadDays: sc.SpreadDays,
	}
	var out *outage
	if sc.Outage != "" {
		out = newOutage()
		out.length, out.kill, out.col = sc.OutageFor, sc.KillDuringOutage, col
		out.start = func(ctx context.Context) (proc, error) {
			fmt.Fprintln(o.Log, "collector SIGKILLed; restarting on the same queue")
			return start(ctx)
		}
		out.set = func() error {
			f := sc.Faults
			if sc.Outage == OutageForbidden {
				f.ItemForbiddenFraction = 1
			} else {
				f.Outage = sc.Outage
			}
			fmt.Fprintf(o.Log, "outage %s started\n", sc.Outage)
			return d.post("/_testdouble/faults", f)
		}
		out.clear = func() error {
			fmt.Fprintln(o.Log, "outage over")
			return d.post("/_testdouble/faults", sc.Faults)
		}
		// Called by every load worker.
		gen.OnProgress = func(acked int) {
			if acked >= outageAt {
				out.trigger()
			}
		}
	}

	startLoad := time.Now()
	var res *loadgen.Result
	if err := withOutage(ctx, out, func(ctx context.Context) (err error) {
		if res, err = loadgen.Run(ctx, gen); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		return nil
	}); err != nil {
		return rep, err
	}
	rep.Sent, rep.Acked, rep.Refused, rep.GaveUp = res.Sent, res.Acked, res.Refused, res.GaveUp

	// Wait until the store holds every acknowledged event, or a stall.
	last, lastMove := int64(-1), time.Now()
	for {
		st, err := d.stats()
		if err != nil {
			return rep, err
		}
		var total int64
		for name, n := range st.Streams {
			if !isDigestStream(name) {
				total += n
			}
		}
		if total >= int64(res.Acked) {
			break
		}
		if total != last {
			last, lastMove = total, time.Now()
		} else if time.Since(lastMove) > sc.StallTimeout {
			rep.Note = fmt.Sprintf("(stalled at %d stored for %s)", total, sc.StallTimeout)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep.Elapsed = time.Since(startLoad)
	cpuTotal, peak := col.usage()

	st, err := d.stats()
	if err != nil {
		return rep, err
	}
	ids, err := d.ids()
	if err != nil {
		return rep, err
	}
	stored := make(map[string]bool, len(ids))
	for _, id := range ids {
		if strings.HasPrefix(id, digestInstance+"/") {
			continue // a digest document
		}
		stored[id] = true
	}
	// A dead letter's _id is "<intended index>/<event id>" (hashed only
	// past 512 bytes, which the generator's ids never reach): count it as
	// the event it stands for.
	for _, id := range ids {
		if strings.HasPrefix(id, digestInstance+"/") {
			continue
		}
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			delete(stored, id)
			stored[id[i+1:]] = true
		}
	}
	acked := 0
	res.AckedIDs(&gen, func(id string) {
		acked++
		if !stored[id] {
			rep.Lost++
		}
	})
	if acked != res.Acked {
		// Else no loss could ever be seen.
		return rep, fmt.Errorf("the generator listed %d acknowledged ids but counted %d acknowledged events", acked, res.Acked)
	}
	for id := range stored {
		if !strings.HasPrefix(id, "ev-") {
			rep.Unexpected++
		}
	}
	for name, n := range st.Streams {
		switch {
		case isDigestStream(name):
			rep.Digests += int(n)
			continue
		case strings.Contains(name, ".deadletter-"):
			rep.DeadLettered += int(n)
		case strings.Contains(name, ".quarantine-"):
			rep.Quarantined += int(n)
			rep.Stored += int(n)
		default:
			rep.Stored += int(n)
		}
	}
	rep.Duplicates = int(st.Duplicates)
	rep.Conflicts, rep.DroppedAnswers, rep.Forbidden, rep.Rollovers = st.Conflicts, st.DroppedAnswers, st.Forbidden, st.Rollovers
	for name, n := range st.Streams {
		if n > 0 && !isDigestStream(name) {
			rep.Indices++
		}
	}
	rep.LatencyP50, rep.LatencyP99 = st.LatencyP50, st.LatencyP99
	rep.EventsPerSec = float64(res.Acked) / rep.Elapsed.Seconds()
	if res.Acked > 0 {
		rep.CPUSecondsPer1M = cpuTotal * 1e6 / float64(res.Acked)
	}
	rep.PeakRSSMiB = peak
	if sc.Digests {
		// A clean stop writes each chain's final digest; then every
		// stored event must be covered (grace 0).
		col.close()
		st, err := d.stats()
		if err != nil {
			return rep, err
		}
		rep.Digests = 0
		for name, n := range st.Streams {
			if isDigestStream(name) {
				rep.Digests += int(n)
			}
		}
		rep.Verify = o.verify(d.url, filepath.Join(keys, digest.PublicKeyFile))
	}
	return rep, nil
}

func isDigestStream(name string) bool { return strings.Contains(name, ".digest-") }

// verify runs auditctl verify over the double and sums up its answer.
func (o Options) verify(esURL, pub string) string {
	bin := o.Auditctl
	if bin == "" {
		bin = filepath.Join(o.RepoRoot, "bin", "auditctl")
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "verify", "--es", esURL, "--public-key", pub, "--grace", "0s", "--max-age", "1h")
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if err == nil {
		return fmt.Sprintf("intact (exit 0, %s)", took)
	}
	last := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	return fmt.Sprintf("FAILED (%v, %s): %s", err, took, last)
}
