package auditfileexporter

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/verify"
)

func TestCutTornLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // more than one 64 KiB block
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"whole lines", "a\nb\n", "a\nb\n"},
		{"torn after a line", "a\nb", "a\n"},
		{"torn first line", "abc", ""},
		{"torn line longer than a block", "a\n" + long, "a\n"},
		{"long line, then torn", long + "\n" + long[:70<<10], long + "\n"},
		{"a lone newline", "\n", "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			require.NoError(t, os.WriteFile(p, []byte(tc.in), 0o600))
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			cut, err := cutTornLine(f)
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.in)-len(tc.want)), cut)
			got, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.True(t, string(got) == tc.want, "got %d bytes, want %d", len(got), len(tc.want))
		})
	}
}

// observed is a logger that keeps its warnings.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.WarnLevel)
	return zap.New(core), logs
}

func startLogged(t *testing.T, cfg *Config, h component.Host, logger *zap.Logger) exporter.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := settings()
	set.Logger = logger
	e, err := NewFactory().CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx, h))
	return e
}

func verifyArchive(t *testing.T, dir string, pub ed25519.PublicKey) *verify.Report {
	t.Helper()
	rep, err := verify.CheckArchive(ctx, verify.Options{Keys: []ed25519.PublicKey{pub}, Now: time.Now().Add(time.Hour),
		Grace: verify.DefaultGrace, MaxAge: verify.DefaultMaxAge}, verify.Archive{Dir: dir})
	require.NoError(t, err)
	for _, f := range rep.Findings {
		t.Logf("finding: %s event=%s chain=%s seq=%d: %s", f.Kind, f.EventID, f.Chain, f.Seq, f.What)
	}
	return rep
}

// A kill while the file exporter writes a batch leaves half its line: the
// next start cuts it, so the next batch does not run on from it, and the
// killed write's records are unconfirmed, not deleted.
func TestStartCutsATornArchiveLine(t *testing.T) {
	keyFile, pub := testKey(t)
	dir, state := t.TempDir(), t.TempDir()
	archive := filepath.Join(dir, "audit.jsonl")
	h, ext := startStorage(t, state)
	e := startExporter(t, testConfig(dir, keyFile), h).(digesting).e
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 10, "a")))
	require.NoError(t, e.rec.Flush(ctx))
	// The kill: the write's intent is stored, half its line is in the file.
	torn := batch(100, 10, "a")
	_, err := e.rec.Begin(ctx, (&hasher{ns: map[string]string{}}).pending(torn))
	require.NoError(t, err)
	line, err := (&plog.JSONMarshaler{}).MarshalLogs(torn)
	require.NoError(t, err)
	f, err := os.OpenFile(archive, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(line[:len(line)/2])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// The process is gone: nothing more reaches the storage (the frozen
	// state refuses the final digests); Shutdown only stops goroutines.
	e.client.freeze()
	_ = e.Shutdown(ctx)
	require.NoError(t, ext.Shutdown(ctx))
	b, err := os.ReadFile(archive)
	require.NoError(t, err)
	require.NotEqual(t, byte('\n'), b[len(b)-1], "the torn line is still there")

	h, ext = startStorage(t, state)
	defer ext.Shutdown(ctx)
	logger, logs := observed()
	e2 := startLogged(t, testConfig(dir, keyFile), h, logger)
	warned := logs.FilterMessageSnippet("torn last line of the archive").All()
	require.Len(t, warned, 1)
	assert.Equal(t, archive, warned[0].ContextMap()["file"])
	assert.Equal(t, int64(len(line)/2), warned[0].ContextMap()["bytes"])
	require.NoError(t, e2.ConsumeLogs(ctx, batch(200, 10, "a")))
	require.NoError(t, e2.Shutdown(ctx))

	assert.Len(t, readArchive(t, dir), 20, "every line reads whole")
	ds := readDigests(t, filepath.Join(dir, DefaultDigestFile))
	unconfirmed := 0
	for _, en := range entries(ds)["a"] {
		if en.Unconfirmed {
			unconfirmed++
			assert.True(t, strings.HasPrefix(en.ID, "ev-0001"), en.ID)
		}
	}
	assert.Equal(t, 10, unconfirmed, "the torn write's records are unconfirmed")
	rep := verifyArchive(t, dir, pub)
	assert.True(t, rep.Intact(), "findings after a kill mid-write")
}

// An archive ending in whole lines is left alone, and so is no archive.
func TestStartLeavesWholeArchive(t *testing.T) {
	keyFile, _ := testKey(t)
	dir := t.TempDir()
	h, ext := startStorage(t, t.TempDir())
	defer ext.Shutdown(ctx)
	for run := 0; run < 2; run++ {
		logger, logs := observed()
		e := startLogged(t, testConfig(dir, keyFile), h, logger)
		require.NoError(t, e.ConsumeLogs(ctx, batch(run*10, 10, "a")))
		require.NoError(t, e.Shutdown(ctx))
		assert.Empty(t, logs.FilterMessageSnippet("torn").All())
	}
	assert.Len(t, readArchive(t, dir), 20)
}

// A digest file that a crash left inside a line is cut back to its last
// whole line: the fragment's digests are still in storage and are
// written again.
func TestSinkCutsATornLine(t *testing.T) {
	whole := `{"digest":{"chain":"c/default","seq":1},"signature":"x"}` + "\n"
	for _, tc := range []struct{ name, in, want string }{
		{"fragment only", `{"digest":{"cha`, ""},
		{"line, then fragment", whole + `{"digest":{"cha`, whole},
		{"whole lines", whole, whole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DefaultDigestFile)
			require.NoError(t, os.WriteFile(path, []byte(tc.in), 0o640))
			logger, logs := observed()
			s, err := openSink(path, filepath.Join(dir, "audit.jsonl"), logger)
			require.NoError(t, err)
			defer s.Close()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(b))
			warned := logs.FilterMessageSnippet("torn last line of the digest file").All()
			if cut := len(tc.in) - len(tc.want); cut > 0 {
				require.Len(t, warned, 1)
				assert.Equal(t, path, warned[0].ContextMap()["file"])
				assert.Equal(t, int64(cut), warned[0].ContextMap()["bytes"])
			} else {
				assert.Empty(t, warned)
			}
			d := digest.Signed{Digest: digest.Digest{Chain: "c/default", Seq: 2, Events: []digest.Entry{}}, Signature: "x"}
			require.NoError(t, s.Write(ctx, []digest.Signed{d}))
			b, err = os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(b), tc.want))
			assert.True(t, strings.HasPrefix(string(b[len(tc.want):]), `{"digest":{"version":0,"chain":"c/default","seq":2`), string(b))
			assert.Equal(t, strings.Count(tc.want, "\n")+1, strings.Count(string(b), "\n"))
		})
	}
}

// A digest write cut short (a full disk) leaves no half line: the retry
// writes whole lines.
func TestSinkCutsAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultDigestFile)
	s, err := openSink(path, filepath.Join(dir, "audit.jsonl"), zap.NewNop())
	require.NoError(t, err)
	defer s.Close()
	d := func(seq uint64) []digest.Signed {
		return []digest.Signed{{Digest: digest.Digest{Chain: "c/default", Seq: seq, Events: []digest.Entry{}}, Signature: "x"}}
	}
	require.NoError(t, s.Write(ctx, d(1)))
	full := errors.New("no space left on device")
	s.write = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, full
	}
	require.ErrorIs(t, s.Write(ctx, d(2)), full)
	s.write = nil
	require.NoError(t, s.Write(ctx, d(2)))
	ds := readDigests(t, path) // fails on a torn line
	require.Len(t, ds, 2)
	assert.Equal(t, uint64(2), ds[1].Digest.Seq)
}

// The end to end: a digest write torn by a kill; the next run's digests
// read whole and verify finds nothing.
func TestTornDigestLineAfterKill(t *testing.T) {
	keyFile, pub := testKey(t)
	dir, state := t.TempDir(), t.TempDir()
	h, ext := startStorage(t, state)
	e := startExporter(t, testConfig(dir, keyFile), h)
	require.NoError(t, e.ConsumeLogs(ctx, batch(0, 10, "a")))
	require.NoError(t, e.Shutdown(ctx))
	require.NoError(t, ext.Shutdown(ctx))
	p := filepath.Join(dir, DefaultDigestFile)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(b[:40])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	h, ext = startStorage(t, state)
	defer ext.Shutdown(ctx)
	e2 := startExporter(t, testConfig(dir, keyFile), h)
	require.NoError(t, e2.ConsumeLogs(ctx, batch(200, 10, "a")))
	require.NoError(t, e2.Shutdown(ctx))
	readDigests(t, p) // every line a digest
	assert.True(t, verifyArchive(t, dir, pub).Intact(), "findings after a torn digest write")
}

// BeforeSeal is the recorder's hook before it seals: the archive is synced
// then, and a failure stops the seal.
func TestBeforeSealSyncsTheArchive(t *testing.T) {
	var _ interface {
		BeforeSeal(context.Context) error
	} = (*fileSink)(nil)
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive", "audit.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(archive), 0o750))
	require.NoError(t, os.WriteFile(archive, []byte("{}\n"), 0o600))
	s, err := openSink(filepath.Join(dir, DefaultDigestFile), archive, zap.NewNop())
	require.NoError(t, err)
	defer s.Close()
	var synced []string
	s.onSync = func(p string) { synced = append(synced, p) }
	require.NoError(t, s.BeforeSeal(ctx))
	assert.Equal(t, []string{archive, filepath.Dir(archive)}, synced)

	require.NoError(t, os.RemoveAll(filepath.Dir(archive)))
	assert.ErrorContains(t, s.BeforeSeal(ctx), "syncing the archive before sealing")
}
