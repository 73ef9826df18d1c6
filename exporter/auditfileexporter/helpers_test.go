package auditfileexporter

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

var storageID = component.MustNewIDWithName("file_storage", "digest")

// testKey makes a key pair; it returns the private key file and the public key.
func testKey(t testing.TB) (string, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	_, err := digest.Keygen(dir)
	require.NoError(t, err)
	pub, err := digest.LoadPublicKey(filepath.Join(dir, digest.PublicKeyFile))
	require.NoError(t, err)
	return filepath.Join(dir, digest.PrivateKeyFile), pub
}

// host holds a real file_storage extension, as the collector does.
type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// startStorage starts a file_storage extension on dir: a collector start.
func startStorage(t testing.TB, dir string) (host, extension.Extension) {
	t.Helper()
	return startStorageSync(t, dir, false)
}

// startStorageSync: with fsync, as config/local.yaml.
func startStorageSync(t testing.TB, dir string, fsync bool) (host, extension.Extension) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.FSync = fsync
	cfg.Compaction.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return host{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{storageID: ext}}, ext
}

// testConfig: digests on, archive in dir with rotation (as config/local.yaml).
func testConfig(dir, keyFile string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path = filepath.Join(dir, "audit.jsonl")
	cfg.FlushInterval = 100 * time.Millisecond
	cfg.Rotation.MaxMegabytes = 100
	cfg.Digest.KeyFile = keyFile
	cfg.Digest.Storage = &storageID
	cfg.Digest.Interval = time.Hour // tests seal with Flush or Shutdown
	return cfg
}

// settings name the exporter audit_file/archive: its storage follows its id.
func settings() exporter.Settings {
	set := exportertest.NewNopSettings(NewFactory().Type())
	set.ID = component.NewIDWithName(NewFactory().Type(), "archive")
	return set
}

// startExporter creates and starts audit_file with cfg; with digests on
// it is an *auditFileExporter.
func startExporter(t testing.TB, cfg *Config, h component.Host) exporter.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	e, err := NewFactory().CreateLogs(context.Background(), settings(), cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), h))
	return e
}

// batch makes n records numbered from first, spread over the orgs (one
// resource each); "" is a record without organization.id.
func batch(first, n int, orgs ...string) plog.Logs {
	ld := plog.NewLogs()
	if len(orgs) == 0 {
		orgs = []string{""}
	}
	byOrg := map[string]plog.LogRecordSlice{}
	for _, org := range orgs {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "notebooks")
		byOrg[org] = rl.ScopeLogs().AppendEmpty().LogRecords()
	}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := first; i < first+n; i++ {
		org := orgs[i%len(orgs)]
		lr := byOrg[org].AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Millisecond)))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i)*time.Millisecond + time.Second)))
		lr.SetEventName("notebook.open")
		lr.Body().SetStr(fmt.Sprintf("user opened notebook %d", i))
		a := lr.Attributes()
		a.PutStr("event.id", fmt.Sprintf("ev-%06d", i))
		a.PutStr("event.action", "notebook.open")
		a.PutStr("user.email", "***@example.com")
		a.PutStr("user.id", fmt.Sprintf("u-%d", i%7))
		a.PutStr("client.ip", "192.0.2.1")
		if org != "" {
			a.PutStr("organization.id", org)
		}
	}
	return ld
}

// readDigests reads the digest file: every line a digest.Signed.
func readDigests(t testing.TB, path string) []digest.Signed {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []digest.Signed
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var s digest.Signed
		require.NoError(t, json.Unmarshal(sc.Bytes(), &s), "line %q", sc.Text())
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}

// archived is a record read back from the archive the way verify reads it.
type archived struct{ ns, id, hash string }

func readArchive(t testing.TB, dir string) []archived {
	t.Helper()
	var out []archived
	a := &auditctl.Archive{Dir: dir}
	err := a.Each(context.Background(), func(*auditcsv.Row) bool { return true }, func(doc []byte, r *auditcsv.Row) error {
		out = append(out, archived{ns: assets.Namespace(r.Event.Organization, defaultNamespace), id: r.Event.ID, hash: digest.DocumentHash(doc)})
		return nil
	})
	require.NoError(t, err)
	require.Zero(t, a.SkippedRecords+a.SkippedLines, "the archive reads whole")
	return out
}

// entries lists each chain's entries, in seq order, by namespace.
func entries(ds []digest.Signed) map[string][]digest.Entry {
	out := map[string][]digest.Entry{}
	last := map[string]uint64{}
	for _, s := range ds {
		d := s.Digest
		if d.Seq <= last[d.Chain] {
			continue // a resend
		}
		last[d.Chain] = d.Seq
		ns := d.Chain[len(d.Chain)-len(nsOf(d.Chain)):]
		out[ns] = append(out[ns], d.Events...)
	}
	return out
}

func nsOf(chain string) string {
	for i := 0; i < len(chain); i++ {
		if chain[i] == '/' {
			return chain[i+1:]
		}
	}
	return chain
}

// requireCovered checks that the digests are sound and list every
// archived record exactly once, per chain in archive order.
func requireCovered(t testing.TB, ds []digest.Signed, pub ed25519.PublicKey, recs []archived) {
	t.Helper()
	require.Empty(t, digest.CheckChains(ds, []ed25519.PublicKey{pub}))
	byNS := map[string][]digest.Entry{}
	for _, r := range recs {
		byNS[r.ns] = append(byNS[r.ns], digest.Entry{ID: r.id, SHA256: r.hash})
	}
	got := entries(ds)
	for ns, es := range got {
		if len(es) == 0 {
			delete(got, ns)
		}
	}
	require.Equal(t, byNS, got)
}
