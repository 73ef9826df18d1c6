package strictconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

type inner struct {
	Endpoint string `mapstructure:"endpoint"`
	TLS      string `mapstructure:"tls"`
}

type cfg struct {
	Server inner  `mapstructure:",squash"`
	Limit  int    `mapstructure:"limit"`
	Plain  string // mapstructure matches the field name case-insensitively
	_      struct{}
}

func TestCheckKeys(t *testing.T) {
	ok := confmap.NewFromStringMap(map[string]any{"endpoint": "x", "tls": "y", "limit": 1, "plain": "p"})
	require.NoError(t, CheckKeys(ok, &cfg{}))
	bad := confmap.NewFromStringMap(map[string]any{"endpoint": "x", "limt": 1, "tsl": 2})
	err := CheckKeys(bad, &cfg{})
	require.Error(t, err)
	assert.Equal(t, `unknown configuration key(s) "limt", "tsl"; the keys are endpoint, limit, plain, tls`, err.Error())
}

func TestCheckKeysAtNamesTheSection(t *testing.T) {
	bad := confmap.NewFromStringMap(map[string]any{"limt": 1})
	err := CheckKeysAt(bad, &cfg{}, "server")
	require.Error(t, err)
	assert.Equal(t, `server: unknown configuration key(s) "limt"; the keys are endpoint, limit, plain, tls`, err.Error())
}
