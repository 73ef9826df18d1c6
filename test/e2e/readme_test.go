package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// The README's first hour, run as written against the collector on
// config/local.yaml (no Elasticsearch): "Send a first event", the audit
// receiver's JSON, NDJSON and CSV examples, then every search example on
// the archive. Only hosts, ports and the archive path are rewritten, to
// this test's own.
func TestReadmeFirstHour(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	for _, tool := range []string{"bash", "curl", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	root := repoRoot()
	readme := mustRead(t, filepath.Join(root, "README.md"))
	bin, ctl := testcollector.Binary(t), testcollector.Auditctl(t)

	archiveDir := t.TempDir()
	p := ports{testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)}
	auditPort := testcollector.FreePort(t)
	proc := testcollector.Start(t, bin, root, mustRead(t, filepath.Join(root, "config/local.yaml")),
		fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", p.grpc),
		fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", p.http),
		fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", p.health),
		fmt.Sprintf("METRICS_PORT=%d", p.metrics),
		fmt.Sprintf("AUDIT_RECEIVER_ENDPOINT=127.0.0.1:%d", auditPort),
		"AUDIT_ARCHIVE_PATH="+filepath.Join(archiveDir, "audit.jsonl"))
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", p.health), 60*time.Second)

	rewrite := strings.NewReplacer(
		"localhost:4318", fmt.Sprintf("127.0.0.1:%d", p.http),
		"localhost:4319", fmt.Sprintf("127.0.0.1:%d", auditPort),
		"bin/auditctl", ctl,
		"data/archive", archiveDir,
	)
	env := append(os.Environ(),
		fmt.Sprintf("AUDITCTL_AUDIT_ENDPOINT=http://127.0.0.1:%d", p.http),
		"AUDITCTL_ACTOR=readme-test", "TZ=UTC")
	run := func(t *testing.T, script string) (string, error) {
		t.Helper()
		cmd := exec.Command("bash", "-o", "pipefail", "-c", rewrite.Replace(script))
		cmd.Dir = root
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, errOut.String())
		}
		return out.String(), err
	}

	// Each block that sends runs as written, and answers what its
	// "# {...}" comments say.
	first := shBlocks(t, section(t, readme, "## Send a first event"))
	require.GreaterOrEqual(t, len(first), 2, "Send a first event: the curl, then auditctl search --archive")
	send := []string{first[0]}
	send = append(send, shBlocks(t, section(t, readme, "### `POST /v1/events`: JSON or NDJSON"))...)
	send = append(send, shBlocks(t, section(t, readme, "### `POST /v1/import`: CSV"))...)
	for i, block := range send {
		out, err := run(t, block)
		require.NoError(t, err, "block %d:\n%s", i, block)
		assert.Equal(t, answers(block), jsonLines(t, out), "block %d answered otherwise than the README says:\n%s", i, block)
	}

	// Right after the first event, auditctl shows it from the archive.
	see := first[1]
	require.Contains(t, see, "bin/auditctl search --archive data/archive", "the readable view of what was just sent")
	require.Eventually(t, func() bool {
		out, err := run(t, see)
		return err == nil && strings.Contains(out, `"notebook.open"`)
	}, 30*time.Second, 500*time.Millisecond, "auditctl search --archive does not show the first event")
	require.Eventually(t, func() bool {
		raw, _ := os.ReadFile(filepath.Join(archiveDir, "audit.jsonl"))
		return bytes.Contains(raw, []byte("notebook.update")) && bytes.Contains(raw, []byte("workspace.user.remove"))
	}, 30*time.Second, 500*time.Millisecond, "the README's events did not all reach the archive")

	// Every search example finds some of the README's own events.
	searches := shBlocks(t, section(t, readme, "### Search"))
	searches = append(searches, shBlocks(t, section(t, readme, "### Without Elasticsearch: `--archive`"))...)
	n := 0
	for _, block := range searches {
		for _, line := range strings.Split(block, "\n") {
			if !strings.HasPrefix(line, "bin/auditctl ") {
				continue
			}
			cmd := strings.TrimSpace(strings.SplitN(line, " #", 2)[0])
			if !strings.Contains(cmd, "--archive") {
				cmd += " --archive data/archive"
			}
			n++
			t.Run(cmd, func(t *testing.T) {
				out, err := run(t, cmd)
				require.NoError(t, err)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if strings.Contains(cmd, "--output csv") {
					lines = lines[1:] // the header
				}
				assert.NotEmpty(t, strings.TrimSpace(strings.Join(lines, "")), "no event found")
			})
		}
	}
	assert.GreaterOrEqual(t, n, 5)
}

// The first event's file is the README's event.
func TestReadmeFirstEventFile(t *testing.T) {
	root := repoRoot()
	block := shBlocks(t, section(t, mustRead(t, filepath.Join(root, "README.md")), "## Send a first event"))[0]
	m := regexp.MustCompile(`(?s)-d '(\{.*\})'`).FindStringSubmatch(block)
	require.NotNil(t, m, "the first event's curl -d '…'")
	var inReadme, inFile any
	require.NoError(t, json.Unmarshal([]byte(m[1]), &inReadme))
	require.NoError(t, json.Unmarshal([]byte(mustRead(t, filepath.Join(root, "testdata/first-event.json"))), &inFile))
	assert.Equal(t, inReadme, inFile)
}

// section is the README's text under heading, up to the next heading.
func section(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "README has no heading %q", heading)
	rest := readme[i+len(heading)+2:]
	inCode, off := false, 0
	for _, line := range strings.SplitAfter(rest, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(line, "#") {
			return rest[:off]
		}
		off += len(line)
	}
	return rest
}

func shBlocks(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// answers are the "# {...}" comment lines of a block, in order.
func answers(block string) []string {
	var out []string
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(line, "# {") {
			out = append(out, strings.TrimPrefix(line, "# "))
		}
	}
	return out
}

func jsonLines(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}
