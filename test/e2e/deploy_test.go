package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// The collector configs inside the Kubernetes examples are valid for the
// built distribution (no cluster needed to check that).
func TestKubernetesExamplesValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	root := repoRoot()
	bin := testcollector.Binary(t)
	for _, file := range []string{"deploy/kubernetes/sidecar.yaml", "deploy/kubernetes/gateway.yaml"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, file))
			require.NoError(t, err)
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			var kinds []string
			var collector string
			for {
				var doc struct {
					Kind string            `yaml:"kind"`
					Data map[string]string `yaml:"data"`
				}
				if err := dec.Decode(&doc); err != nil {
					break
				}
				kinds = append(kinds, doc.Kind)
				if doc.Kind == "ConfigMap" {
					collector = doc.Data["collector.yaml"]
				}
			}
			require.NotEmpty(t, collector, "no collector.yaml in a ConfigMap")
			assert.Contains(t, kinds, "ConfigMap")
			collector = strings.ReplaceAll(collector, "/otelcol-audit/config", filepath.Join(root, "config"))
			collector = strings.ReplaceAll(collector, "/var/lib/otelcol-audit", t.TempDir())
			path := filepath.Join(t.TempDir(), "collector.yaml")
			require.NoError(t, os.WriteFile(path, []byte(collector), 0o600))
			cmd := exec.Command(bin, "validate", "--config", path)
			cmd.Env = append(os.Environ(), "ELASTICSEARCH_URL=https://es.example:9200", "ELASTICSEARCH_API_KEY=aWQ6a2V5", "AUDIT_RECEIVER_TOKEN=t")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
		})
	}
}

func TestDockerComposeShape(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "deploy/docker-compose.yaml"))
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Image   string `yaml:"image"`
			Command any    `yaml:"command"`
			Build   struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Environment []string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	for _, s := range []string{"elasticsearch", "kibana", "otelcol-audit"} {
		require.Contains(t, compose.Services, s)
	}
	assert.True(t, strings.HasPrefix(compose.Services["elasticsearch"].Image, "docker.elastic.co/elasticsearch/elasticsearch:8."))
	assert.True(t, strings.HasPrefix(compose.Services["kibana"].Image, "docker.elastic.co/kibana/kibana:8."))
	col := compose.Services["otelcol-audit"]
	assert.Equal(t, []any{"--config", "/otelcol-audit/config/elasticsearch.yaml"}, col.Command)
	_, err = os.Stat(filepath.Join(repoRoot(), "deploy", col.Build.Context, col.Build.Dockerfile))
	assert.NoError(t, err, "the Dockerfile the compose file builds exists")
	assert.Contains(t, col.Environment, "ELASTICSEARCH_URL=http://elasticsearch:9200")
}
