// Package testcollector builds and runs the otelcol-audit binary for
// end-to-end tests: it finds or builds the binary, starts it on a config,
// waits until it is healthy and stops only the process it started.
package testcollector

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns $OTELCOL_AUDIT_BIN, or builds ./cmd/otelcol-audit once per
// test binary.
func Binary(t testing.TB) string {
	t.Helper()
	return collector.path(t)
}

// Auditctl returns $AUDITCTL_BIN, or builds ./cmd/auditctl once per test
// binary.
func Auditctl(t testing.TB) string {
	t.Helper()
	return auditctl.path(t)
}

var (
	collector = &builtBinary{env: "OTELCOL_AUDIT_BIN", pkg: "./cmd/otelcol-audit", name: "otelcol-audit"}
	auditctl  = &builtBinary{env: "AUDITCTL_BIN", pkg: "./cmd/auditctl", name: "auditctl"}
)

// builtBinary is a command of this repository: the one an environment
// variable names (make test builds them first), else built once.
type builtBinary struct {
	env, pkg, name string
	once           sync.Once
	built          string
	err            error
}

func (b *builtBinary) path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(b.env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v (run make build)", b.env, p, err)
		}
		return p
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", b.name+"-e2e")
		if err != nil {
			b.err = err
			return
		}
		b.built = filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", b.built, b.pkg)
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.built
}

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a running collector.
type Process struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	exitMu sync.Mutex
	exit   error
}

// Start runs bin with the config text; dir is its working directory.
// The process is stopped when the test ends.
func Start(t testing.TB, bin, dir, config string, env ...string) *Process {
	t.Helper()
	// The config goes to a temporary directory, never the working one (a
	// test may run the collector in the source tree).
	cfgPath := filepath.Join(t.TempDir(), "otelcol-test.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Process{out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--config", cfgPath)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.exitMu.Lock()
		p.exit = err
		p.exitMu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("collector output:\n%s", p.Output())
		}
	})
	return p
}

// WaitHealthy polls the health_check URL until it answers 200.
func (p *Process) WaitHealthy(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("collector exited before it became healthy: %v\n%s", p.exitErr(), p.Output())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("collector not healthy at %s after %s\n%s", url, timeout, p.Output())
}

// Stop sends SIGTERM, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// PeakRSSMiB is the process's peak resident memory (VmHWM). It fails t
// where /proc cannot tell: a 0 would pass every upper bound.
func (p *Process) PeakRSSMiB(t testing.TB) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("peak RSS of the collector: %v", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); len(f) == 3 && string(f[0]) == "VmHWM:" {
			kb, err := strconv.ParseFloat(string(f[1]), 64)
			if err != nil || kb <= 0 {
				t.Fatalf("peak RSS of the collector: VmHWM is %q", f[1])
			}
			return kb / 1024
		}
	}
	t.Fatalf("peak RSS of the collector: no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
	return 0
}

// OpenFiles is the number of file descriptors the process holds (sockets
// included), -1 where /proc cannot tell.
func (p *Process) OpenFiles() int {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	return len(fds)
}

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Output is everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

func (p *Process) exitErr() error {
	p.exitMu.Lock()
	defer p.exitMu.Unlock()
	return p.exit
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
