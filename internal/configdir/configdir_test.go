package configdir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromURIs(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		uris []string
		want string
	}{
		{"plain relative path", []string{"config/local.yaml"}, filepath.Join(wd, "config")},
		{"file scheme", []string{"file:/etc/otelcol-audit/config.yaml"}, "/etc/otelcol-audit"},
		{"same directory twice", []string{"/a/one.yaml", "file:/a/two.yaml"}, "/a"},
		{"other providers do not count", []string{"yaml:processors::audit::catalogs: [x]", "env:CFG", "/a/one.yaml"}, "/a"},
		{"different directories", []string{"/a/one.yaml", "/b/two.yaml"}, ""},
		{"no file at all", []string{"env:CFG", "https://example.com/c.yaml"}, ""},
		{"nothing", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, FromURIs(tc.uris))
		})
	}
}

func TestResolve(t *testing.T) {
	cfg := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(cfg, "catalogs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "catalogs", "a.yaml"), nil, 0o644))
	t.Cleanup(func() { Set("") })

	Set("")
	assert.Equal(t, "catalogs/a.yaml", Resolve("catalogs/a.yaml"), "no config directory: the working directory's")

	Set(cfg)
	assert.Equal(t, filepath.Join(cfg, "catalogs", "a.yaml"), Resolve("catalogs/a.yaml"), "found beside the config file")
	assert.Equal(t, "catalogs/b.yaml", Resolve("catalogs/b.yaml"), "not beside the config file: the working directory's")
	assert.Equal(t, "/abs/c.yaml", Resolve("/abs/c.yaml"))
	assert.Equal(t, "", Resolve(""))
}
