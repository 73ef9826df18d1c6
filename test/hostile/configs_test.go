package hostile_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/testcollector"
)

// cfgShipped is every collector config we ship: the files under config/
// and the ConfigMaps of the Kubernetes examples.
func cfgShipped(t *testing.T) map[string]string {
	root := otlpRoot()
	out := map[string]string{}
	for _, f := range []string{"config/local.yaml", "config/elasticsearch.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		out[f] = string(b)
	}
	for _, f := range []string{"deploy/kubernetes/sidecar.yaml", "deploy/kubernetes/gateway.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc struct {
				Kind string            `yaml:"kind"`
				Data map[string]string `yaml:"data"`
			}
			if dec.Decode(&doc) != nil {
				break
			}
			if c, ok := doc.Data["collector.yaml"]; ok {
				out[f] = c
			}
		}
		require.Contains(t, out, f)
	}
	return out
}

var cfgEnvRef = regexp.MustCompile(`\$\{env:[A-Z0-9_]+(?::-([^}]*))?\}`)

// cfgDefaults replaces each ${env:NAME:-default} with its default: what
// the config does when nobody sets anything.
func cfgDefaults(s string) string {
	return cfgEnvRef.ReplaceAllString(s, "$1")
}

type cfgServer struct {
	Endpoint           string           `yaml:"endpoint"`
	Auth               map[string]any   `yaml:"auth"`
	Middlewares        []map[string]any `yaml:"middlewares"`
	MaxRequestBodySize int64            `yaml:"max_request_body_size"`
	MaxRecvMsgSizeMiB  int              `yaml:"max_recv_msg_size_mib"`
}

type cfgCollector struct {
	Receivers map[string]struct {
		cfgServer `yaml:",inline"`
		Protocols map[string]cfgServer `yaml:"protocols"`
	} `yaml:"receivers"`
	Extensions map[string]map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers []string `yaml:"receivers"`
		} `yaml:"pipelines"`
		Telemetry struct {
			Metrics struct {
				Readers []struct {
					Pull struct {
						Exporter struct {
							Prometheus struct {
								Host string `yaml:"host"`
							} `yaml:"prometheus"`
						} `yaml:"exporter"`
					} `yaml:"pull"`
				} `yaml:"readers"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	} `yaml:"service"`
}

func cfgLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Every receiver that feeds a pipeline, in every shipped config, either
// authenticates or listens on loopback only, and carries the size and
// nesting limits; metrics stay on loopback outside Kubernetes.
func TestShippedConfigsGuardEveryDoor(t *testing.T) {
	for name, text := range cfgShipped(t) {
		t.Run(name, func(t *testing.T) {
			var c cfgCollector
			require.NoError(t, yaml.Unmarshal([]byte(cfgDefaults(text)), &c))
			fed := map[string]bool{}
			for _, p := range c.Service.Pipelines {
				for _, r := range p.Receivers {
					fed[r] = true
				}
			}
			require.NotEmpty(t, fed)
			for id := range fed {
				r, ok := c.Receivers[id]
				require.True(t, ok, "pipeline receiver %s is not configured", id)
				doors := map[string]cfgServer{id: r.cfgServer}
				if len(r.Protocols) > 0 {
					doors = map[string]cfgServer{}
					for proto, s := range r.Protocols {
						doors[id+"/"+proto] = s
					}
				}
				for door, s := range doors {
					require.NotEmpty(t, s.Endpoint, "%s: no endpoint", door)
					if s.Auth["authenticator"] == nil {
						assert.True(t, cfgLoopback(s.Endpoint), "%s listens on %s without authentication", door, s.Endpoint)
					}
					switch {
					case strings.HasSuffix(door, "/grpc"):
						assert.Positive(t, s.MaxRecvMsgSizeMiB, "%s: no max_recv_msg_size_mib", door)
					case strings.HasSuffix(door, "/http"):
						assert.Positive(t, s.MaxRequestBodySize, "%s: no max_request_body_size", door)
						var ids []any
						for _, m := range s.Middlewares {
							ids = append(ids, m["id"])
						}
						assert.Contains(t, ids, "json_limit", "%s: OTLP/JSON nesting is not bounded", door)
						assert.Contains(t, c.Service.Extensions, "json_limit")
					}
				}
			}
			if strings.HasPrefix(name, "config/") {
				for _, r := range c.Service.Telemetry.Metrics.Readers {
					h := r.Pull.Exporter.Prometheus.Host
					assert.True(t, h == "" || cfgLoopback(net.JoinHostPort(h, "1")), "metrics published on %q", h)
				}
			}
		})
	}
}

// Compose publishes the receivers on this machine's loopback only, and
// neither health nor metrics.
func TestComposePublishesLoopbackOnly(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(otlpRoot(), "deploy/docker-compose.yaml"))
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Ports []string `yaml:"ports"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	for name, s := range compose.Services {
		for _, p := range s.Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %s beyond this machine", name, p)
			assert.NotContains(t, []string{"13133", "8888"}, p[strings.LastIndex(p, ":")+1:], "%s publishes %s", name, p)
		}
	}
}

// The image's default config, run as shipped: it will not start without
// a token, and with one every door refuses a sender that lacks it.
func TestImageConfigAuthenticatesEveryDoor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built collector")
	}
	bin := testcollector.Binary(t)
	root := otlpRoot()
	es := estest.New()
	srv := httptest.NewServer(es.Handler())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(root, "config/elasticsearch.yaml"))
	require.NoError(t, err)
	cfgText := strings.ReplaceAll(string(cfg), "config/catalogs/", root+"/config/catalogs/")

	grpcPort, httpPort, auditPort, health := testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)
	env := []string{
		"ELASTICSEARCH_URL=" + srv.URL,
		"AUDIT_QUEUE_DIR=" + filepath.Join(dir, "queue"),
		fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", grpcPort),
		fmt.Sprintf("OTLP_HTTP_ENDPOINT=127.0.0.1:%d", httpPort),
		fmt.Sprintf("AUDIT_RECEIVER_ENDPOINT=127.0.0.1:%d", auditPort),
		fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", health),
		fmt.Sprintf("METRICS_PORT=%d", testcollector.FreePort(t)),
	}

	path := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfgText), 0o600))
	cmd := exec.Command(bin, "validate", "--config", path)
	cmd.Env = append(append(os.Environ(), env...), "AUDIT_RECEIVER_TOKEN=")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "started without a token:\n%s", out)
	assert.Contains(t, string(out), "no bearer token provided")

	const token = "hostile-test-token-0123456789"
	proc := testcollector.Start(t, bin, dir, cfgText, append(env, "AUDIT_RECEIVER_TOKEN="+token)...)
	proc.WaitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)

	body, err := plogotlp.NewExportRequestFromLogs(otlpValid("auth-1")).MarshalProto()
	require.NoError(t, err)
	post := func(url, contentType string, b []byte, auth string) int {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	otlpURL := fmt.Sprintf("http://127.0.0.1:%d/v1/logs", httpPort)
	auditURL := fmt.Sprintf("http://127.0.0.1:%d/v1/events", auditPort)
	event := []byte(`{"time":"2026-01-01T00:00:00Z","user":"jane@example.com","action":"report.view","id":"auth-2"}`)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token} {
		assert.Equal(t, http.StatusUnauthorized, post(otlpURL, "application/x-protobuf", body, auth), "OTLP/HTTP with %q", auth)
		assert.Equal(t, http.StatusUnauthorized, post(auditURL, "application/json", event, auth), "audit receiver with %q", auth)
	}
	assert.Equal(t, http.StatusOK, post(otlpURL, "application/x-protobuf", body, "Bearer "+token))

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)
	export := func(md ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if len(md) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, md...)
		}
		_, err := client.Export(ctx, plogotlp.NewExportRequestFromLogs(otlpValid("auth-3")))
		return err
	}
	assert.Equal(t, codes.Unauthenticated, status.Code(export()), "OTLP/gRPC without a token")
	assert.Equal(t, codes.Unauthenticated, status.Code(export("authorization", "Bearer wrong")), "OTLP/gRPC with a wrong token")
	assert.NoError(t, export("authorization", "Bearer "+token))
}
