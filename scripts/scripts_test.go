// Package scripts_test runs the repository's shell scripts against
// throwaway git repositories.
package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// check-tracked.sh refuses what make lint must: a tracked binary, a tracked
// file over 1 MB; and lets text, empty files and odd names through.
func TestCheckTracked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	script, err := filepath.Abs("check-tracked.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  []string // lines of stderr; none: the script passes
	}{
		{name: "text only", files: map[string][]byte{"a.go": []byte("package a\n"), "dir/b.md": []byte("# b\n")}},
		{name: "empty file", files: map[string][]byte{"empty": nil}},
		{name: "just under the limit", files: map[string][]byte{"big.txt": bytes.Repeat([]byte("x\n"), 1<<19)}},
		{name: "binary", files: map[string][]byte{"a.go": []byte("package a\n"), "otel-go-sdk": []byte("\x7fELF\x02\x01\x01\x00\x00")},
			want: []string{"otel-go-sdk is binary"}},
		{name: "binary with a space in its name", files: map[string][]byte{"my tool": {0, 1, 2}},
			want: []string{"my tool is binary"}},
		{name: "text over 1 MB", files: map[string][]byte{"dump.json": bytes.Repeat([]byte("{}\n"), 1<<19)},
			want: []string{"dump.json is 1572864 bytes, over 1048576"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			git := func(args ...string) {
				t.Helper()
				cmd := exec.Command("git", args...)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			git("init", "-q")
			for name, data := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			git("add", "-A")
			cmd := exec.Command(script)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused a clean tree: %v\n%s", err, stderr.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("passed; want a failure naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not say %q", stderr.String(), w)
				}
			}
		})
	}
}
