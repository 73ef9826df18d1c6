package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// make help lists every target of the Makefile, each with a description.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root := repoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	// Variables the target names use, as "NAME := value" sets them.
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_]+)\s*:=\s*(.*)$`).FindAllStringSubmatch(string(raw), -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	expand := func(s string) string {
		for range 5 {
			s = regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllStringFunc(s, func(v string) string { return vars[v[2:len(v)-1]] })
		}
		return s
	}
	cmd := exec.Command("make", "-s", "help")
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err)
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 2, "a target without a description: %q", line)
		listed[f[0]] = strings.Join(f[1:], " ")
	}
	targets := regexp.MustCompile(`(?m)^([^\s#:=.][^\s#:=]*)\s*:([^=]|$)`).FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, targets)
	for _, m := range targets {
		name := expand(m[1])
		assert.Contains(t, listed, name, "make help does not list the target %s (add '## description' to its rule)", name)
	}
}

// Every environment variable a shipped config reads is named in the README.
func TestConfigVariablesDocumented(t *testing.T) {
	root := repoRoot()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, "config", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`\$\{env:([A-Za-z_0-9]+)`).FindAllStringSubmatch(string(raw), -1) {
			assert.True(t, strings.Contains(string(readme), m[1]), "%s reads %s, which the README does not name", filepath.Base(f), m[1])
		}
	}
}

// make fuzz runs every fuzz target in the repository, each on its own: a
// target missing from it is never fuzzed beyond its seed corpus.
func TestMakeFuzzRunsEveryTarget(t *testing.T) {
	root := repoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	listed := map[string]bool{} // "./pkg FuzzName"
	for _, m := range regexp.MustCompile(`(?m)^\t\$\(GO\) test (\./\S+) .*-fuzz '?\^?(Fuzz\w+)\$?\$?'?`).FindAllStringSubmatch(string(raw), -1) {
		listed[m[1]+" "+m[2]] = true
	}
	require.NotEmpty(t, listed, "no fuzz lines found in the Makefile")
	found := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "bin" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`).FindAllStringSubmatch(string(src), -1) {
			found++
			assert.True(t, listed["./"+filepath.ToSlash(rel)+" "+m[1]], "make fuzz does not run %s in ./%s: add a line with -fuzz '^%s$$'", m[1], rel, m[1])
		}
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, found, "no fuzz targets found under %s", root)
}
