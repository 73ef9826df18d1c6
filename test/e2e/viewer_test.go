package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browserRequired makes a missing Chromium or playwright-core a failure,
// not a skip: .ci/run installs both and sets it.
const browserRequired = "AUDIT_BROWSER_TESTS"

// runViewerE2E drives the viewer in headless Chromium with
// web/e2e/viewer.e2e.mjs: a viewer token minted by the admin token opens
// it; the script searches, uses a date shortcut, rows per page and the
// pages, exports CSV and checks it against the API, and saves a
// screenshot to bin/viewer-e2e.png.
func runViewerE2E(t *testing.T, base, adminToken string) {
	t.Helper()
	root := repoRoot()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	script := filepath.Join(root, "web", "e2e", "viewer.e2e.mjs")
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (scripts/install-chromium.sh)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "web/node_modules/playwright-core (make web)")
	}
	if len(missing) > 0 {
		if os.Getenv(browserRequired) == "required" {
			t.Fatalf("the browser test needs %s", strings.Join(missing, ", "))
		}
		t.Logf("skipping the browser test: no %s (set %s=required to fail instead)", strings.Join(missing, ", "), browserRequired)
		return
	}
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/viewer-tokens", strings.NewReader(`{"ttl":"30m","name":"browser test"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var minted struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&minted))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	shot := filepath.Join(root, "bin", "viewer-e2e.png")
	require.NoError(t, os.MkdirAll(filepath.Dir(shot), 0o755))
	_ = os.Remove(shot)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(), "VIEWER_URL="+base, "VIEWER_TOKEN="+minted.Token, "API_TOKEN="+adminToken,
		"SCREENSHOT="+shot, "EXPECT_SEARCH=notebook", "CHROMIUM="+chromium)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("viewer e2e:\n%s", out.String())
	require.NoError(t, err, "the browser test failed")
	png, err := os.ReadFile(shot)
	require.NoError(t, err, "no screenshot")
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "the screenshot is not a PNG")
}
