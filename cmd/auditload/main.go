// Command auditload is the load harness: it runs the fault scenarios and
// the throughput references end to end against bin/otelcol-audit and the
// Elasticsearch test double, and prints one report line per run.
//
//	make bench-e2e                      # every scenario at 1M events
//	go run ./cmd/auditload -events 20000 -scenarios 1,4
//	make bench-api                      # the audit log API's figures
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/loadgen"
	"github.com/otelcol-audit/otelcol-audit/internal/loadharness"
)

func main() {
	events := flag.Int("events", 1_000_000, "events per scenario")
	outage := flag.Duration("outage", 30*time.Second, "outage window of scenarios 4-6")
	which := flag.String("scenarios", "all", "comma-separated scenario numbers (1-11), 'ref' for the throughput references (or one of them by name, e.g. ref-memory-queue), 'latency', or all")
	collector := flag.String("collector", "bin/otelcol-audit", "the collector binary")
	double := flag.String("es-double", "bin/es-testdouble", "the test double binary ('' runs it in-process)")
	verbose := flag.Bool("v", false, "show the collector's and the double's output")
	pprof := flag.String("pprof", "", "serve the collector's pprof on this host:port")
	var collectorEnv envList
	flag.Var(&collectorEnv, "collector-env", "NAME=value added to the collector's environment only (repeatable), e.g. GOGC=200")
	export := flag.Int("export", 0, "instead of scenarios: load this many documents into the test double and time bin/auditctl export of them")
	api := flag.Int("api", 0, "instead of scenarios: load this many events into -api-store and measure bin/auditctl serve's page latency and export throughput")
	apiStore := flag.String("api-store", loadharness.StoreES, "the store of -api: es (the test double) or archive (a JSON-lines archive)")
	apiRequests := flag.Int("api-requests", 0, "page requests of -api (0: 200 for es, 50 for archive: every archive page reads the whole archive)")
	digests := flag.Bool("digests", false, "turn tamper evidence on in the fault scenarios and end each with auditctl verify")
	batch := flag.Int("batch", 1000, "records per request of the throughput references (ref-*)")
	keepSource := flag.Bool("keep-source", false, "the double keeps every source in every run (as digest runs need), so runs with and without digests compare")
	flag.Parse()

	root, _ := os.Getwd()
	o := loadharness.Options{Collector: *collector, ESDouble: *double, RepoRoot: root, MemLimitMiB: 1024, Pprof: *pprof, CollectorEnv: collectorEnv}
	if *verbose {
		o.Log = os.Stderr
	}
	if *export > 0 {
		rep, err := loadharness.Export(o, "bin/auditctl", *export)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(rep)
		return
	}
	if *api > 0 {
		rep, err := loadharness.API(o, "bin/auditctl", loadharness.APIOptions{Store: *apiStore, Events: *api, Requests: *apiRequests, Command: strings.Join(os.Args, " ")})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(rep)
		return
	}
	var runs []loadharness.Scenario
	want := func(n string) bool { return *which == "all" || contains(strings.Split(*which, ","), n) }
	for _, sc := range loadharness.Scenarios(*events, *outage) {
		if n, _, _ := strings.Cut(sc.Name, "-"); want(n) {
			if *digests {
				sc.Name += "+digests"
				sc.Digests = true
			}
			runs = append(runs, sc)
		}
	}
	if want("latency") {
		// Receipt-to-store latency at a steady 10k events/s, 1 s flush.
		runs = append(runs, loadharness.Scenario{Name: "latency-10k-per-s", Events: 300_000, Protocol: loadgen.OTLPGRPC, Workers: 4, Batch: 100, Rate: 10_000, Journal: true, Fsync: true})
	}
	if want("9") {
		runs = append(runs, loadharness.DownUnderSteadyLoad(5000, 30*time.Second, 2*time.Minute, 30*time.Second))
	}
	for _, r := range []struct {
		name                  string
		noAudit, gzip, memory bool
		proto                 string
		batchProcessor        bool
		digests               bool
		fsync                 bool
		journal               bool
	}{
		{"ref-memory-queue", false, false, true, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-memory-queue-digests", false, false, true, loadgen.OTLPGRPC, false, true, false, false},
		{"ref-memory-queue-gzip", false, true, true, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-memory-queue-no-audit", true, false, true, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-persistent-queue", false, false, false, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-persistent-queue-digests", false, false, false, loadgen.OTLPGRPC, false, true, false, false},
		{"ref-persistent-queue-fsync", false, false, false, loadgen.OTLPGRPC, false, false, true, false},
		{"ref-persistent-queue-fsync-digests", false, false, false, loadgen.OTLPGRPC, false, true, true, false},
		{"ref-journal-queue", false, false, false, loadgen.OTLPGRPC, false, false, true, true},
		{"ref-journal-queue-digests", false, false, false, loadgen.OTLPGRPC, false, true, true, true},
		{"ref-journal-queue-no-fsync", false, false, false, loadgen.OTLPGRPC, false, false, false, true},
		{"ref-persistent-queue-gzip", false, true, false, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-persistent-queue-no-audit", true, false, false, loadgen.OTLPGRPC, false, false, false, false},
		{"ref-memory-queue-otlp-http", false, false, true, loadgen.OTLPHTTP, false, false, false, false},
		{"ref-memory-queue-receiver", false, false, true, loadgen.Receiver, false, false, false, false},
		{"ref-batch-processor", false, false, true, loadgen.OTLPGRPC, true, false, false, false},
	} {
		if want("ref") || want(r.name) {
			runs = append(runs, loadharness.Scenario{Name: r.name, Events: *events, Protocol: r.proto, Workers: 4, Batch: *batch, NoAudit: r.noAudit, Gzip: r.gzip, MemoryQueue: r.memory, BatchProcessor: r.batchProcessor, Digests: r.digests, Fsync: r.fsync, Journal: r.journal, KeepSource: *keepSource})
		}
	}
	failed := false
	for _, sc := range runs {
		rep, err := loadharness.Run(context.Background(), o, sc)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", sc.Name, err)
			failed = true
			continue
		}
		fmt.Println(rep)
		if rep.Lost > 0 || rep.Duplicates > 0 || rep.Unexpected > 0 || strings.HasPrefix(rep.Verify, "FAILED") {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("%q is not NAME=value", v)
	}
	*e = append(*e, v)
	return nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
