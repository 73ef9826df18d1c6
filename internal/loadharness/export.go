package loadharness

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

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
	// The bootstrap is not needed: writes to an untemplated stream are kept.
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
			body = esdoc.AppendCreate(body, esdoc.Target{Dataset: "audit", Namespace: "default"}, id)
			body = enc.AppendDocument(body, res, lr, esdoc.Target{Dataset: "audit", Namespace: "default"}, id)
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
