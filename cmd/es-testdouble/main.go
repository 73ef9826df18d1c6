// Command es-testdouble runs the Elasticsearch test double (internal/estest)
// as its own process, for the load harness and for trying the collector
// without Elasticsearch. It is not Elasticsearch. Faults are set with
// POST /_testdouble/faults and counters read from GET /_testdouble/stats.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9200", "address to listen on (loopback only is advised)")
	source := flag.Bool("keep-source", false, "keep document sources (memory grows with every document)")
	seed := flag.Uint64("seed", 1, "seed for fault injection")
	latency := flag.Bool("latency", false, "record the time from each document's @timestamp to its storage")
	flag.Parse()
	opts := []estest.Option{estest.WithSeed(*seed)}
	if *latency {
		opts = append(opts, estest.WithLatency())
	}
	if *source {
		opts = append(opts, estest.WithSource())
	}
	srv := &http.Server{Addr: *addr, Handler: estest.New(opts...).Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "es-testdouble (a test double, not Elasticsearch) listening on http://%s\n", *addr)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "es-testdouble:", err)
		os.Exit(1)
	}
}
