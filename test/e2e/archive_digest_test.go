package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// config/local.yaml with AUDIT_SIGNING_KEY_FILE set: the archive gets a
// digest file whose signed chains list every archived event, and a restart
// on the same state continues the chains.
func TestLocalConfigTamperEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	root := repoRoot()
	bin := testcollector.Binary(t)
	keys := t.TempDir()
	_, err := digest.Keygen(keys)
	require.NoError(t, err)
	pub, err := digest.LoadPublicKey(filepath.Join(keys, digest.PublicKeyFile))
	require.NoError(t, err)
	keyEnv := "AUDIT_SIGNING_KEY_FILE=" + filepath.Join(keys, digest.PrivateKeyFile)

	validate := exec.Command(bin, "validate", "--config", "config/local.yaml")
	validate.Dir = root
	validate.Env = append(os.Environ(), keyEnv)
	out, err := validate.CombinedOutput()
	require.NoError(t, err, string(out))

	dir, state := t.TempDir(), t.TempDir()
	archive := filepath.Join(dir, "audit.jsonl")
	start := func() (*testcollector.Process, ports) {
		p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
		proc := testcollector.Start(t, bin, root, mustRead(t, filepath.Join(root, "config/local.yaml")),
			fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", p.grpc),
			fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", p.http),
			fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", p.health),
			fmt.Sprintf("METRICS_PORT=%d", p.metrics),
			fmt.Sprintf("AUDIT_RECEIVER_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
			"AUDIT_ARCHIVE_PATH="+archive, "AUDIT_STATE_DIR="+state, keyEnv)
		proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)
		return proc, p
	}

	proc, p := start()
	var records []string
	for i, org := range []string{"", "Acme-Corp", "Acme-Corp", "globex"} {
		attrs := []string{fmt.Sprintf(`{"key":"event.id","value":{"stringValue":"e2e-%d"}}`, i),
			`{"key":"user.email","value":{"stringValue":"jane.doe@example.com"}}`}
		if org != "" {
			attrs = append(attrs, fmt.Sprintf(`{"key":"organization.id","value":{"stringValue":%q}}`, org))
		}
		records = append(records, fmt.Sprintf(`{"eventName":"notebook.open","timeUnixNano":"%d","attributes":[%s]}`,
			time.Now().UnixNano(), strings.Join(attrs, ",")))
	}
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"notebooks"}}]},"scopeLogs":[{"logRecords":[` +
		strings.Join(records, ",") + `]}]}]}`
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", p.http), "application/json", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(archive)
		return bytes.Contains(b, []byte("e2e-3"))
	}, 20*time.Second, 100*time.Millisecond)
	proc.Stop(20 * time.Second) // SIGTERM: the final digests

	digests := filepath.Join(dir, "digests.ndjson")
	ds := readDigestFile(t, digests)
	require.Empty(t, digest.CheckChains(ds, []ed25519.PublicKey{pub}))
	listed := map[string]int{}
	for _, s := range ds {
		assert.True(t, s.Digest.Final, "a clean stop ends each chain with a final digest")
		for _, e := range s.Digest.Events {
			listed[nsOf(s.Digest.Chain)+" "+e.ID+" "+e.SHA256]++
		}
	}
	a := &auditctl.Archive{Dir: dir}
	n := 0
	require.NoError(t, a.Each(context.Background(), func(*auditcsv.Row) bool { return true }, func(doc []byte, r *auditcsv.Row) error {
		n++
		key := assets.Namespace(r.Event.Organization, "default") + " " + r.Event.ID + " " + digest.DocumentHash(doc)
		assert.Equal(t, 1, listed[key], "%s is listed once", key)
		return nil
	}))
	assert.Equal(t, 4, n)
	assert.Len(t, listed, 4)
	st, err := os.Stat(digests)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

	// The next start continues each chain.
	proc, _ = start()
	proc.Stop(20 * time.Second)
	again := readDigestFile(t, digests)
	require.Empty(t, digest.CheckChains(again, []ed25519.PublicKey{pub}))
	require.Len(t, again, 2*len(ds))
	for i, s := range again[len(ds):] {
		assert.Equal(t, ds[i].Digest.Chain, s.Digest.Chain)
		assert.Equal(t, ds[i].Digest.Seq+1, s.Digest.Seq)
		assert.Zero(t, s.Digest.Count)
	}
}

func readDigestFile(t *testing.T, path string) []digest.Signed {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []digest.Signed
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var s digest.Signed
		require.NoError(t, json.Unmarshal(sc.Bytes(), &s))
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}

func nsOf(chain string) string {
	_, ns, _ := strings.Cut(chain, "/")
	return ns
}
