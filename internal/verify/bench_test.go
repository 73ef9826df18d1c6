package verify

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// writeBigArchive writes an archive of n events in batches of 1 000 (one
// line each), two chains, digests of digest.DefaultMaxEvents entries, and
// the public key as audit-signing.pub; streaming, so n can be large.
func writeBigArchive(tb testing.TB, dir string, n int) {
	w := newWorld(tb, archiveStore)
	der, err := x509.MarshalPKIXPublicKey(w.pub)
	require.NoError(tb, err)
	require.NoError(tb, os.WriteFile(filepath.Join(dir, digest.PublicKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	af, err := os.Create(filepath.Join(dir, "audit.jsonl"))
	require.NoError(tb, err)
	df, err := os.Create(filepath.Join(dir, DigestsFile))
	require.NoError(tb, err)
	aw, dw := bufio.NewWriterSize(af, 1<<20), bufio.NewWriterSize(df, 1<<20)
	type chain struct {
		seq     uint64
		prev    string
		from    time.Time
		entries []digest.Entry
	}
	start := time.Now().Add(-time.Hour)
	chains := map[string]*chain{}
	seal := func(ns string, final bool) {
		c := chains[ns]
		to := time.Now().Add(-30 * time.Minute)
		c.seq++
		s, err := digest.Sign(digest.Digest{Chain: "col-1/" + ns, Seq: c.seq, Previous: c.prev, From: c.from.UTC(), To: to.UTC(),
			Count: len(c.entries), Events: c.entries, Final: final}, w.key)
		require.NoError(tb, err)
		c.prev, _ = digest.Hash(s)
		c.from, c.entries = to, c.entries[:0]
		b, err := json.Marshal(s)
		require.NoError(tb, err)
		dw.Write(b)
		dw.WriteByte('\n')
	}
	var enc esdoc.Encoder
	var m plog.JSONMarshaler
	var doc []byte
	for i := 0; i < n; i += 1000 {
		ld := gen(min(1000, n-i), "b"+strconv.Itoa(i/1000)+"-", uint64(i), start)
		res := ld.ResourceLogs().At(0).Resource()
		recs := records(ld)
		for k := 0; k < recs.Len(); k++ {
			lr := recs.At(k)
			org, _ := lr.Attributes().Get(fields.Organization)
			ns := assets.Namespace(org.AsString(), "default")
			c := chains[ns]
			if c == nil {
				c = &chain{from: start.Add(-time.Minute)}
				chains[ns] = c
			}
			doc = digest.ArchiveDocument(&enc, doc[:0], res, lr)
			c.entries = append(c.entries, digest.Entry{ID: enc.ID(lr), SHA256: digest.DocumentHash(doc)})
			if len(c.entries) == digest.DefaultMaxEvents {
				seal(ns, false)
			}
		}
		line, err := m.MarshalLogs(ld)
		require.NoError(tb, err)
		aw.Write(line)
		aw.WriteByte('\n')
	}
	for _, ns := range []string{"org_a", "org_b"} {
		if chains[ns] != nil {
			seal(ns, true)
		}
	}
	require.NoError(tb, aw.Flush())
	require.NoError(tb, dw.Flush())
	require.NoError(tb, af.Close())
	require.NoError(tb, df.Close())
}

func bigOptions(tb testing.TB, dir string) Options {
	pub, err := digest.LoadPublicKey(filepath.Join(dir, digest.PublicKeyFile))
	require.NoError(tb, err)
	return Options{Keys: []ed25519.PublicKey{pub}, Now: time.Now(), Grace: DefaultGrace, MaxAge: DefaultMaxAge}
}

// BenchmarkVerifyArchive checks an archive of 100 000 events per op.
func BenchmarkVerifyArchive(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	writeBigArchive(b, dir, n)
	o := bigOptions(b, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := CheckArchive(context.Background(), o, Archive{Dir: dir})
		if err != nil || !rep.Intact() || rep.Summary.Covered != n {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestWriteBigArchive writes the archive of the 1M measurement into
// $VERIFY_BIG_DIR ($VERIFY_BIG_EVENTS events, default 1 000 000), for
// `auditctl verify` under /usr/bin/time -v (see the report).
func TestWriteBigArchive(t *testing.T) {
	dir := os.Getenv("VERIFY_BIG_DIR")
	if dir == "" {
		t.Skip("set VERIFY_BIG_DIR to write the 1M-event archive")
	}
	n := 1_000_000
	if s := os.Getenv("VERIFY_BIG_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t0 := time.Now()
	writeBigArchive(t, dir, n)
	fmt.Printf("wrote %d events in %s\n", n, time.Since(t0).Round(time.Millisecond))
}
