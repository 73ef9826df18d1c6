package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// runScript is scripts/run.sh (what `make run` runs) started in its own
// process group, with everything it writes under dir.
type runScript struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	api  string
	recv string
	dir  string
}

func (r *runScript) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func startRunScript(t *testing.T) *runScript {
	t.Helper()
	root := repoRoot()
	dir := t.TempDir()
	p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	recv, api := testcollector.FreePort(t), testcollector.FreePort(t)
	r := &runScript{dir: dir, api: fmt.Sprintf("http://127.0.0.1:%d", api), recv: fmt.Sprintf("http://127.0.0.1:%d", recv)}
	r.cmd = exec.Command("bash", "scripts/run.sh")
	r.cmd.Dir = root
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.cmd.Env = append(os.Environ(),
		"OTELCOL_AUDIT_BIN="+testcollector.Binary(t), "AUDITCTL_BIN="+testcollector.Auditctl(t),
		fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", p.grpc), fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", p.http),
		fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", p.health), fmt.Sprintf("METRICS_PORT=%d", p.metrics),
		fmt.Sprintf("AUDIT_RECEIVER_ENDPOINT=127.0.0.1:%d", recv), fmt.Sprintf("AUDIT_API_ENDPOINT=127.0.0.1:%d", api),
		"AUDIT_ARCHIVE_PATH="+filepath.Join(dir, "archive", "audit.jsonl"),
		"AUDIT_API_TOKENS="+filepath.Join(dir, "tokens.yaml"), "AUDIT_API_SIGNING_KEY_FILE="+filepath.Join(dir, "signing.key"))
	pr, pw := io.Pipe()
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	require.NoError(t, r.cmd.Start())
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.out.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		}
		pw.Close()
		if t.Failed() {
			t.Logf("make run output:\n%s", r.output())
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.health))
		if err != nil {
			return false
		}
		resp.Body.Close()
		resp, err = http.Get(r.api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 60*time.Second, 200*time.Millisecond, "the collector and the service did not both start")
	return r
}

// adminToken is the token the first start printed.
func (r *runScript) adminToken(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(r.output(), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "oat_") {
			return s
		}
	}
	t.Fatalf("the first start printed no admin token:\n%s", r.output())
	return ""
}

func apiGet(t *testing.T, base, path, token string, q url.Values) (int, []byte) {
	t.Helper()
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sendEvents posts n events of the default organization over the last ten
// days, through the audit receiver, as NDJSON.
func sendEvents(t *testing.T, receiver string, n int) {
	t.Helper()
	var b strings.Builder
	now := time.Now().UTC()
	actions := []string{"notebook.open", "notebook.update", "report.view", "workspace.user.remove"}
	for i := range n {
		at := now.Add(-time.Duration(i) * 10 * 24 * time.Hour / time.Duration(n))
		fmt.Fprintf(&b, `{"time":%q,"action":%q,"id":"svc-%03d","actor":{"email":"user%d@customer.example","type":"user"},"resource":{"type":"notebook","id":"nb-%d","name":"Quarterly notebook %d"},"client":{"ip":"203.0.113.%d","user_agent":"Mozilla/5.0"},"region":"eu-west-1","outcome":"success"}`+"\n",
			at.Format(time.RFC3339Nano), actions[i%len(actions)], i, i%7, i%5, i%5, i%250)
	}
	resp, err := http.Post(receiver+"/v1/events", "application/x-ndjson", strings.NewReader(b.String()))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)
}

// `make run` serves what was just sent, to the admin token it printed
// once, with no Elasticsearch; each read lands in the log as
// audit_log_accessed; and the viewer works in a browser.
func TestMakeRunServesTheAuditLog(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	r := startRunScript(t)
	token := r.adminToken(t)
	raw, err := os.ReadFile(filepath.Join(r.dir, "tokens.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), token[len(token)-20:], "the tokens file keeps the hash only")

	sendEvents(t, r.recv, 120)
	var page struct {
		Events []map[string]any `json:"events"`
	}
	require.Eventually(t, func() bool {
		code, body := apiGet(t, r.api, "/api/v1/events", token, url.Values{"action": {"notebook.open"}, "page_size": {"100"}})
		if code != 200 {
			return false
		}
		require.NoError(t, json.Unmarshal(body, &page))
		return len(page.Events) == 30
	}, 30*time.Second, 500*time.Millisecond, "the events sent never showed")
	user := page.Events[0]["user"].(map[string]any)
	assert.Equal(t, "***@customer.example", user["email"], "masked by the processor")

	// The reads above were recorded, in the default organization's own log.
	require.Eventually(t, func() bool {
		code, body := apiGet(t, r.api, "/api/v1/events", token, url.Values{"action": {"audit_log_accessed"}})
		if code != 200 {
			return false
		}
		require.NoError(t, json.Unmarshal(body, &page))
		return len(page.Events) > 0
	}, 30*time.Second, 500*time.Millisecond, "no audit_log_accessed event")
	acc := page.Events[len(page.Events)-1]
	props, _ := acc["properties"].(map[string]any)
	assert.Equal(t, "admin", props["audit.role"], "%v", acc)
	assert.Contains(t, props["audit.query"], `action="notebook.open"`)
	assert.NotEqual(t, true, acc["quarantined"], "audit_log_accessed is in the catalogs config/local.yaml loads")

	code, _ := apiGet(t, r.api, "/api/v1/events", "oat_wrong_token", nil)
	assert.Equal(t, http.StatusUnauthorized, code)

	resp, err := http.Get(r.api + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	runViewerE2E(t, r.api, token)
}

// The README's API and viewer-token examples run as written against what
// `make run` starts, and answer what they say.
func TestReadmeServiceExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	readme := mustRead(t, filepath.Join(repoRoot(), "README.md"))
	r := startRunScript(t)
	token := r.adminToken(t)
	sendEvents(t, r.recv, 40)
	require.Eventually(t, func() bool {
		code, body := apiGet(t, r.api, "/api/v1/events", token, url.Values{"action": {"report.view"}})
		return code == 200 && strings.Contains(string(body), "report.view")
	}, 30*time.Second, 500*time.Millisecond)

	out := t.TempDir()
	rewrite := strings.NewReplacer("localhost:8080", strings.TrimPrefix(r.api, "http://"), "> audit.csv", "> "+filepath.Join(out, "audit.csv"))
	run := func(block string) string {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", rewrite.Replace(block))
		cmd.Env = append(os.Environ(), "TOKEN="+token, "ADMIN_TOKEN="+token)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s\n%s", block, stderr.String())
		return stdout.String()
	}
	api := shBlocks(t, section(t, readme, "### The API"))
	require.Len(t, api, 1, "one block of curl examples")
	page := run(api[0])
	var events struct {
		Events []map[string]any `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(page), &events), "%s", page)
	require.NotEmpty(t, events.Events, "the README's first example finds report.view events of the last 7 days")
	csvOut, err := os.ReadFile(filepath.Join(out, "audit.csv"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(csvOut), "Time,User,Action,"), "%.200s", csvOut)

	var mint string
	for _, b := range shBlocks(t, section(t, readme, "### Tokens")) {
		if strings.Contains(b, "/api/v1/viewer-tokens") {
			mint = b
		}
	}
	require.NotEmpty(t, mint, "the README shows how to mint a viewer token")
	var minted map[string]string
	require.NoError(t, json.Unmarshal([]byte(run(mint)), &minted))
	assert.True(t, strings.HasPrefix(minted["token"], "oav1."), "%v", minted)
	assert.NotEmpty(t, minted["expires_at"])
	assert.Contains(t, mint, `# {"expires_at":`, "the README says what it answers")
	code, _ := apiGet(t, r.api, "/api/v1/whoami", minted["token"], nil)
	assert.Equal(t, http.StatusOK, code)
}
