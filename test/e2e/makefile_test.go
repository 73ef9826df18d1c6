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
