package loadharness

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// API stores.
const (
	StoreES      = "es"
	StoreArchive = "archive"
)

// apiOrgs is how many organizations the events spread over (round robin);
// the token reads apiOrg, so it sees Events/apiOrgs of them.
const (
	apiOrgs = 5
	apiOrg  = "org-1"
)

// Request kinds, in the order the latency run cycles through them.
var apiKinds = []string{"first", "q=report", "action=report.view", "next"}

// APIOptions is one run of the audit log API harness.
type APIOptions struct {
	Store    string // StoreES or StoreArchive
	Events   int
	Requests int // page requests; 0: 200 for es, 50 for archive
	// Command is what to print as the run's command line.
	Command string
}

// Latency is one kind of request's latencies.
type Latency struct {
	Kind          string
	N             int
	P50, P99, Max time.Duration
	MaxAt         int // the slowest request's number in the run, from 1
}

func (l Latency) String() string {
	return fmt.Sprintf("%-18s n=%-4d p50 %8s  p99 %8s  max %8s (request #%d)", l.Kind, l.N,
		l.P50.Round(10*time.Microsecond), l.P99.Round(10*time.Microsecond), l.Max.Round(10*time.Microsecond), l.MaxAt)
}

// APIExport is one export's figures.
type APIExport struct {
	Format       string
	Rows         int
	Bytes        int64
	Elapsed      time.Duration
	EventsPerSec float64
}

// APIReport is what an API run measured.
type APIReport struct {
	Store      string
	Events     int
	LoadTime   time.Duration // loading the store
	Latencies  []Latency     // per kind, then "all"
	Exports    []APIExport
	PeakRSSMiB float64 // auditctl serve's VmHWM
	// ServeCPU and DoubleCPU are the CPU seconds of auditctl serve and of
	// the test double while serving: they tell whose cost a latency is.
	ServeCPU, DoubleCPU float64
	DoublePeakRSSMiB    float64
	Sink                int // audit_log_accessed records the sink received
	Reads               int // page reads made
	Command             string
}

func (r APIReport) String() string {
	var b strings.Builder
	head := fmt.Sprintf("api %s %d events (%d org-1's):", r.Store, r.Events, r.Events/apiOrgs)
	fmt.Fprintf(&b, "%s loaded in %s\n", head, r.LoadTime.Round(time.Millisecond))
	for _, l := range r.Latencies {
		fmt.Fprintf(&b, "%s page latency (page_size=50) %s\n", head, l)
	}
	for _, x := range r.Exports {
		fmt.Fprintf(&b, "%s export %-6s %d events, %.1f MiB in %s: %.0f events/s\n", head, x.Format, x.Rows,
			float64(x.Bytes)/(1<<20), x.Elapsed.Round(time.Millisecond), x.EventsPerSec)
	}
	fmt.Fprintf(&b, "%s auditctl serve peak RSS %.1f MiB, CPU %.1f s; access records %d (%d reads + 2 per export × %d)\n", head, r.PeakRSSMiB, r.ServeCPU, r.Sink, r.Reads, len(r.Exports))
	if r.Store == StoreES {
		fmt.Fprintf(&b, "%s test double peak RSS %.1f MiB, CPU %.1f s while serving the reads\n", head, r.DoublePeakRSSMiB, r.DoubleCPU)
	}
	fmt.Fprintf(&b, "command: %s", r.Command)
	return b.String()
}

// API loads o.Events events into the store, serves them with `auditctl
// serve`, and measures page latency, export throughput and the service's
// peak RSS. Every answer is checked: only org-1's events, complete exports,
// one access record per read.
func API(ho Options, auditctl string, o APIOptions) (APIReport, error) {
	rep := APIReport{Store: o.Store, Events: o.Events, Command: o.Command}
	if o.Events < apiOrgs*50 {
		return rep, fmt.Errorf("-api %d: use at least %d events (org-1 needs a full first page)", o.Events, apiOrgs*50)
	}
	if o.Requests <= 0 {
		o.Requests = 200
		if o.Store == StoreArchive {
			o.Requests = 50
		}
	}
	auditctl, err := filepath.Abs(auditctl)
	if err != nil {
		return rep, err
	}
	work, err := os.MkdirTemp(ho.WorkDir, "auditload-api-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(work)

	var storeFlags []string
	var dbl *double
	start := time.Now()
	switch o.Store {
	case StoreES:
		if ho.ESDouble == "" {
			return rep, fmt.Errorf("the API run needs the test double as its own process (-es-double)")
		}
		d, err := startDouble(ho, "-keep-source")
		if err != nil {
			return rep, err
		}
		defer d.stop()
		dbl = d
		if err := installAssets(d.url); err != nil {
			return rep, err
		}
		if err := loadES(d.url, o.Events); err != nil {
			return rep, err
		}
		storeFlags = []string{"--es", d.url}
	case StoreArchive:
		dir := filepath.Join(work, "archive")
		if err := writeArchive(dir, o.Events); err != nil {
			return rep, err
		}
		storeFlags = []string{"--archive", dir}
	default:
		return rep, fmt.Errorf("-api-store %q: use es or archive", o.Store)
	}
	rep.LoadTime = time.Since(start)

	sink := newAccessSink()
	defer sink.close()
	tokens, key := filepath.Join(work, "tokens.yaml"), filepath.Join(work, "signing.key")
	if _, err := apitoken.GenerateKeyFile(key); err != nil {
		return rep, err
	}
	var tokOut, tokErr bytes.Buffer
	tc := exec.Command(auditctl, "token", "create", "--tokens-file", tokens, "--organization", apiOrg, "--role", "admin", "--name", "auditload")
	tc.Stdout, tc.Stderr = &tokOut, &tokErr
	if err := tc.Run(); err != nil {
		return rep, fmt.Errorf("auditctl token create: %v: %s", err, tokErr.String())
	}
	token := strings.TrimSpace(tokOut.String())

	svc, err := startServe(ho, auditctl, append(storeFlags, "--tokens-file", tokens, "--signing-key-file", key,
		"--rate-limit", "0", "--audit-endpoint", sink.url, "--dataset", "audit"))
	if err != nil {
		return rep, err
	}
	defer svc.stop()

	var dblCPU0 float64
	if dbl != nil {
		dblCPU0, _ = procUsage(dbl.cmd.Process.Pid)
	}
	c := &apiClient{base: svc.url, token: token, http: &http.Client{}}
	lat, reads, err := c.latencies(o.Requests, o.Events/apiOrgs)
	if err != nil {
		return rep, fmt.Errorf("%v\nauditctl serve said:\n%s", err, svc.log.tail())
	}
	rep.Latencies, rep.Reads = lat, reads
	for _, f := range []string{"csv", "ndjson"} {
		x, err := c.export(f, o.Events/apiOrgs)
		if err != nil {
			return rep, fmt.Errorf("%v\nauditctl serve said:\n%s", err, svc.log.tail())
		}
		rep.Exports = append(rep.Exports, x)
	}
	rep.ServeCPU, rep.PeakRSSMiB = procUsage(svc.cmd.Process.Pid)
	if dbl != nil {
		cpu, peak := procUsage(dbl.cmd.Process.Pid)
		rep.DoubleCPU, rep.DoublePeakRSSMiB = cpu-dblCPU0, peak
	}
	svc.stop()
	rep.Sink = int(sink.records.Load())
	if bad := sink.foreign.Load(); bad > 0 {
		return rep, fmt.Errorf("%d access records are not organization %s's: reads are recorded into another tenant's log", bad, apiOrg)
	}
	if want := rep.Reads + 2*len(rep.Exports); rep.Sink != want {
		return rep, fmt.Errorf("the sink received %d access records, want %d (%d reads + 2 per export): a read went unrecorded or was recorded twice", rep.Sink, want, rep.Reads)
	}
	return rep, nil
}

// apiBatch makes events done..done+n-1: 1 ms apart from 2025-11-01,
// organization org-(i%5), ids x<done>-<i>.
func apiBatch(done, n int) plog.Logs {
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	ld := auditgen.Batch(n, auditgen.Options{Seed: uint64(done), FreeTextEmailFraction: 0.2, IDPrefix: fmt.Sprintf("x%d-", done)})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(done+i) * time.Millisecond)))
		lr.Attributes().PutStr(fields.Organization, fmt.Sprintf("org-%d", (done+i)%apiOrgs))
	}
	return ld
}

// loadES bulk-loads n events into the tenant indices, as the exporter's
// namespace_attribute would route them.
func loadES(url string, n int) error {
	var enc esdoc.Encoder
	body := make([]byte, 0, 8<<20)
	flush := func() error {
		resp, err := http.Post(url+"/_bulk", "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Errors bool `json:"errors"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Errors {
			return fmt.Errorf("loading the test double: _bulk answered %d (errors %v, %v)", resp.StatusCode, out.Errors, err)
		}
		body = body[:0]
		return nil
	}
	for done := 0; done < n; done += 1000 {
		ld := apiBatch(done, min(1000, n-done))
		res := ld.ResourceLogs().At(0).Resource()
		recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < recs.Len(); i++ {
			lr := recs.At(i)
			id := enc.ID(lr)
			t := esdoc.Target{Dataset: "audit", Namespace: fmt.Sprintf("org_%d", (done+i)%apiOrgs)}
			body = enc.AppendCreate(body, t, assets.Month, lr.Timestamp(), id)
			body = enc.AppendDocument(body, res, lr, t, id, lr.Timestamp())
			body = append(body, '\n')
		}
		if len(body) >= 8<<20 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(body) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	// Searches see only refreshed documents, as in Elasticsearch.
	resp, err := http.Post(url+"/_refresh", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("refreshing the test double answered %d", resp.StatusCode)
	}
	return nil
}

// writeArchive writes n events as the file exporter does: one OTLP JSON
// batch of 1000 records per line, in dir/audit.jsonl.
func writeArchive(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var m plog.JSONMarshaler
	for done := 0; done < n; done += 1000 {
		b, err := m.MarshalLogs(apiBatch(done, min(1000, n-done)))
		if err != nil {
			f.Close()
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// accessSink stands in for the collector's OTLP/HTTP receiver: it answers
// 200 to POST /v1/logs and counts the records, noting any that name
// another organization than the one read.
type accessSink struct {
	url              string
	srv              *http.Server
	records, foreign atomic.Int64
}

func newAccessSink() *accessSink {
	s := &accessSink{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rls := req.Logs().ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				recs := sls.At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					s.records.Add(1)
					if v, ok := recs.At(k).Attributes().Get(fields.Organization); !ok || v.Str() != apiOrg {
						s.foreign.Add(1)
					}
				}
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	port := freePort()
	s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.srv = &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.ListenAndServe()
	return s
}

func (s *accessSink) close() { s.srv.Close() }

// lockedBuffer keeps a process's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

type serveProc struct {
	url  string
	cmd  *exec.Cmd
	log  *lockedBuffer
	once sync.Once
}

// stop sends SIGTERM (the service shuts down gracefully), then kills
// after 10 s.
func (p *serveProc) stop() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	})
}

// startServe runs `auditctl serve` in the repository root (the default
// catalogs are relative to it) and waits for /healthz.
func startServe(o Options, auditctl string, flags []string) (*serveProc, error) {
	port := freePort()
	p := &serveProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), log: &lockedBuffer{}}
	p.cmd = exec.Command(auditctl, append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, flags...)...)
	p.cmd.Dir = o.RepoRoot
	// The store and audit endpoint come from the flags only.
	p.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "ELASTICSEARCH_") || strings.HasPrefix(kv, "AUDIT_API_") || strings.HasPrefix(kv, "AUDITCTL_")
	})
	var out io.Writer = p.log
	if o.Log != nil {
		out = io.MultiWriter(p.log, o.Log)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { p.cmd.Process.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("auditctl serve exited at start:\n%s", p.log.tail())
		default:
		}
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("auditctl serve did not answer /healthz in 30s:\n%s", p.log.tail())
}

type apiClient struct {
	base, token string
	http        *http.Client
}

func (c *apiClient) get(path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	return c.http.Do(req)
}

// apiEvent is the part of an Event the checks read.
type apiEvent struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time"`
	Action       string    `json:"action"`
	Organization string    `json:"organization"`
}

type apiPage struct {
	Events     []apiEvent `json:"events"`
	NextCursor *string    `json:"next_cursor"`
}

// checkPage fails on any event of another organization than org, and on
// one the filter should have left out.
func checkPage(p apiPage, org, action string) error {
	for _, e := range p.Events {
		if e.Organization != org {
			return fmt.Errorf("event %s is organization %q's, the token is %s's: the service leaks another tenant's events", e.ID, e.Organization, org)
		}
		if action != "" && e.Action != action {
			return fmt.Errorf("event %s has action %q, the filter asked for %s", e.ID, e.Action, action)
		}
	}
	return nil
}

// page GETs one page and times it up to the last byte.
func (c *apiClient) page(q url.Values) (apiPage, time.Duration, error) {
	var p apiPage
	start := time.Now()
	resp, err := c.get("/api/v1/events", q)
	if err != nil {
		return p, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return p, took, err
	}
	if resp.StatusCode != http.StatusOK {
		return p, took, fmt.Errorf("GET /api/v1/events?%s answered %d: %s", q.Encode(), resp.StatusCode, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, took, fmt.Errorf("GET /api/v1/events?%s: %v", q.Encode(), err)
	}
	return p, took, nil
}

// latencies makes n page requests, cycling through apiKinds; the "next"
// kind walks the unfiltered pages by next_cursor (from the top again at
// the end), checking that the walk never repeats an event.
func (c *apiClient) latencies(n, orgEvents int) ([]Latency, int, error) {
	took := map[string][]timed{}
	var cursor *string
	seen := map[string]bool{}
	reads := 0
	for i := 0; i < n; i++ {
		kind := apiKinds[i%len(apiKinds)]
		q := url.Values{"page_size": {"50"}}
		action := ""
		switch kind {
		case "q=report":
			q.Set("q", "report")
		case "action=report.view":
			q.Set("action", "report.view")
			action = "report.view"
		case "next":
			if cursor == nil {
				clear(seen)
			} else {
				q.Set("cursor", *cursor)
			}
		}
		p, d, err := c.page(q)
		reads++
		if err != nil {
			return nil, reads, err
		}
		if err := checkPage(p, apiOrg, action); err != nil {
			return nil, reads, err
		}
		if len(p.Events) == 0 {
			return nil, reads, fmt.Errorf("GET /api/v1/events?%s returned no events; org-1 has %d", q.Encode(), orgEvents)
		}
		if kind == "first" && len(p.Events) != min(50, orgEvents) {
			return nil, reads, fmt.Errorf("the first page has %d events, want %d", len(p.Events), min(50, orgEvents))
		}
		if kind == "next" {
			for _, e := range p.Events {
				if seen[e.ID] {
					return nil, reads, fmt.Errorf("the cursor walk returned event %s twice", e.ID)
				}
				seen[e.ID] = true
			}
			cursor = p.NextCursor
		}
		took[kind] = append(took[kind], timed{d, i + 1})
		took["all"] = append(took["all"], timed{d, i + 1})
	}
	var out []Latency
	for _, k := range append(slices.Clone(apiKinds), "all") {
		if len(took[k]) > 0 {
			out = append(out, latencyOf(k, took[k]))
		}
	}
	return out, reads, nil
}

// timed is one request's latency and number.
type timed struct {
	d time.Duration
	n int
}

// latencyOf takes nearest-rank percentiles.
func latencyOf(kind string, ts []timed) Latency {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b timed) int { return cmp.Compare(a.d, b.d) })
	rank := func(p float64) time.Duration { return s[max(0, int(math.Ceil(p*float64(len(s))))-1)].d }
	return Latency{Kind: kind, N: len(s), P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1].d, MaxAt: s[len(s)-1].n}
}

// countingReader counts the bytes of an export.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// export reads a whole export and checks it holds want events, each once,
// all of org-1.
func (c *apiClient) export(format string, want int) (APIExport, error) {
	x := APIExport{Format: format}
	start := time.Now()
	resp, err := c.get("/api/v1/events/export", url.Values{"format": {format}})
	if err != nil {
		return x, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return x, fmt.Errorf("export %s answered %d: %s", format, resp.StatusCode, bytes.TrimSpace(b))
	}
	cr := &countingReader{r: resp.Body}
	rows, err := readExport(format, cr, apiOrg)
	x.Elapsed, x.Bytes, x.Rows = time.Since(start), cr.n, rows
	if err != nil {
		return x, fmt.Errorf("export %s: %v", format, err)
	}
	if rows != want {
		return x, fmt.Errorf("export %s has %d events, org-1 has %d: the export misses or repeats events", format, rows, want)
	}
	x.EventsPerSec = float64(rows) / x.Elapsed.Seconds()
	return x, nil
}

// readExport counts an export's events, failing on another organization's
// event, a repeated event id, or the service's "stopped early" line.
func readExport(format string, r io.Reader, org string) (int, error) {
	seen := map[string]bool{}
	check := func(n int, id, o string) error {
		if o != org {
			return fmt.Errorf("event %d (%s) is organization %q's, the token is %s's: the service leaks another tenant's events", n, id, o, org)
		}
		if seen[id] {
			return fmt.Errorf("event %s appears twice", id)
		}
		seen[id] = true
		return nil
	}
	n := 0
	switch format {
	case "csv":
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			return 0, fmt.Errorf("header: %v", err)
		}
		idCol, orgCol := slices.Index(header, "Event ID"), slices.Index(header, "Organization")
		if idCol < 0 || orgCol < 0 || len(header) != len(auditcsv.ExportColumns) {
			return 0, fmt.Errorf("header %v is not auditctl export's", header)
		}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			if err != nil {
				// The "# error:" line has one field: the export stopped early.
				return n, fmt.Errorf("after %d events: %v", n, err)
			}
			n++
			if err := check(n, rec[idCol], rec[orgCol]); err != nil {
				return n, err
			}
		}
	case "ndjson":
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var e struct {
				apiEvent
				Error string `json:"error"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				return n, fmt.Errorf("line %d: %v", n+1, err)
			}
			if e.Error != "" {
				return n, fmt.Errorf("after %d events the service said: %s", n, e.Error)
			}
			n++
			if err := check(n, e.ID, e.Organization); err != nil {
				return n, err
			}
		}
		return n, sc.Err()
	}
	return 0, fmt.Errorf("format %q: use csv or ndjson", format)
}
