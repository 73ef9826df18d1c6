package loadharness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/pdata/pcommon"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// installAssets installs the default tier's templates, as setup would.
func installAssets(url string) error {
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
	if err != nil {
		return err
	}
	steps, err := esbootstrap.Plan([]assets.Tier{
		{Name: "default", Dataset: "audit", DeleteAfter: "365d", Period: assets.Month},
		{Name: "deadletter", Dataset: "audit.deadletter", DeleteAfter: "90d", RolloverMaxAge: "30d", RolloverMaxPrimaryShardSize: "50gb"},
	}, "default")
	if err != nil {
		return err
	}
	return esbootstrap.Apply(context.Background(), c, steps)
}

// ExportReport is what an export run measured.
type ExportReport struct {
	Events       int
	Exported     string // auditctl's final line
	EventsPerSec float64
	PeakRSSMiB   float64
	Elapsed      time.Duration
}

func (r ExportReport) String() string {
	return fmt.Sprintf("export of %d events: %.0f events/s, auditctl peak RSS %.1f MiB, %s (%s)", r.Events, r.EventsPerSec, r.PeakRSSMiB, r.Elapsed.Round(time.Millisecond), r.Exported)
}

// Export loads n documents into the test double (its own process, sources
// kept) and times `auditctl export` of all of them to /dev/null, reading
// auditctl's peak RSS from the kernel's rusage.
func Export(o Options, auditctl string, n int) (ExportReport, error) {
	rep := ExportReport{Events: n}
	if o.ESDouble == "" {
		return rep, fmt.Errorf("the export run needs the test double as its own process (-es-double)")
	}
	d, err := startDouble(o, "-keep-source")
	if err != nil {
		return rep, err
	}
	defer d.stop()
	if err := installAssets(d.url); err != nil {
		return rep, err
	}
	var enc esdoc.Encoder
	body := make([]byte, 0, 8<<20)
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; done += 5000 {
		ld := auditgen.Batch(min(5000, n-done), auditgen.Options{Seed: uint64(done), FreeTextEmailFraction: 0.2, IDPrefix: fmt.Sprintf("x%d-", done)})
		res := ld.ResourceLogs().At(0).Resource()
		recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		body = body[:0]
		for i := 0; i < recs.Len(); i++ {
			lr := recs.At(i)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(done+i) * time.Millisecond)))
			id := enc.ID(lr)
			t := esdoc.Target{Dataset: "audit", Namespace: "default"}
			body = enc.AppendCreate(body, t, assets.Month, lr.Timestamp(), id)
			body = enc.AppendDocument(body, res, lr, t, id, lr.Timestamp())
			body = append(body, '\n')
		}
		resp, err := http.Post(d.url+"/_bulk", "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			return rep, err
		}
		resp.Body.Close()
	}
	var stderr bytes.Buffer
	cmd := exec.Command(auditctl, "export", "--es", d.url, "--no-audit", "--file", os.DevNull)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return rep, fmt.Errorf("auditctl export: %v: %s", err, stderr.String())
	}
	rep.Elapsed = time.Since(start)
	rep.Exported = string(bytes.TrimSpace(stderr.Bytes()))
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rep.PeakRSSMiB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	rep.EventsPerSec = float64(n) / rep.Elapsed.Seconds()
	return rep, nil
}
