// Command auditctl administers the audit store: `setup` installs the
// Elasticsearch assets, roles and Kibana saved objects; `catalog lint` and
// `catalog docs` check and document catalogs. Run `auditctl help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

const usage = `auditctl administers the otelcol-audit store.

  auditctl setup [flags]              install or upgrade the Elasticsearch assets (ILM policies,
                                      templates, data streams), the writer and reader roles and,
                                      with --kibana, the Kibana saved objects and quick ranges
  auditctl catalog lint FILE...       validate catalogs with the processor's rules
  auditctl catalog docs FILE          print a catalog as a Markdown table

Elasticsearch: --es or ELASTICSEARCH_URL (default http://localhost:9200), and --api-key or
ELASTICSEARCH_API_KEY, or --user/--password or ELASTICSEARCH_USER/ELASTICSEARCH_PASSWORD.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auditctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "setup":
		return setup(ctx, args[1:], stdout, stderr)
	case "catalog":
		if len(args) < 2 {
			return errors.New("catalog: use `catalog lint FILE...` or `catalog docs FILE`")
		}
		switch args[1] {
		case "lint":
			return auditctl.CatalogLint(stdout, args[2:])
		case "docs":
			if len(args) != 3 {
				return errors.New("catalog docs: name exactly one catalog file")
			}
			return auditctl.CatalogDocs(stdout, args[2])
		}
		return fmt.Errorf("catalog: unknown command %q; use lint or docs", args[1])
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func setup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	esURL := fs.String("es", env("ELASTICSEARCH_URL", "http://localhost:9200"), "Elasticsearch URL")
	apiKey := fs.String("api-key", os.Getenv("ELASTICSEARCH_API_KEY"), "Elasticsearch API key")
	user := fs.String("user", os.Getenv("ELASTICSEARCH_USER"), "Elasticsearch user")
	password := fs.String("password", os.Getenv("ELASTICSEARCH_PASSWORD"), "Elasticsearch password")
	kibanaURL := fs.String("kibana", "", "Kibana URL; also import the saved objects and quick ranges")
	collectorCfg := fs.String("collector-config", "config/elasticsearch.yaml", "collector config whose audit_elasticsearch exporter gives the retention tiers and dataset")
	namespace := fs.String("namespace", "", "namespace of the data streams to create (default: the exporter's)")
	dryRun := fs.Bool("dry-run", false, "print what would be done, change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := exporterConfig(*collectorCfg)
	if err != nil {
		return err
	}
	ns := cfg.DataStream.Namespace
	if *namespace != "" {
		ns = *namespace
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{*esURL}, APIKey: *apiKey, Username: *user, Password: *password})
	if err != nil {
		return fmt.Errorf("elasticsearch client for %s: %w", *esURL, err)
	}
	if !*dryRun {
		if _, err := es.Info(); err != nil {
			return fmt.Errorf("cannot reach Elasticsearch at %s: %v; set ELASTICSEARCH_URL or --es", *esURL, err)
		}
	}
	o := auditctl.SetupOptions{ES: es, Tiers: cfg.Tiers(), Namespace: ns, KibanaURL: *kibanaURL, DryRun: *dryRun, Out: stdout}
	if *kibanaURL != "" {
		o.KibanaAuth = func(r *http.Request) {
			switch {
			case *apiKey != "":
				r.Header.Set("Authorization", "ApiKey "+*apiKey)
			case *user != "":
				r.SetBasicAuth(*user, *password)
			}
		}
	}
	return auditctl.Setup(ctx, o)
}

// exporterConfig reads the audit_elasticsearch section of a collector
// config, so setup installs exactly the tiers the collector writes to.
func exporterConfig(path string) (*auditelasticsearchexporter.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--collector-config: %w", err)
	}
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("--collector-config %s: %w", path, err)
	}
	f := auditelasticsearchexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	for name, section := range doc.Exporters {
		if name != "audit_elasticsearch" && !strings.HasPrefix(name, "audit_elasticsearch/") {
			continue
		}
		keep := map[string]any{}
		for _, k := range []string{"data_stream", "retention"} {
			if v, ok := section[k]; ok {
				keep[k] = v
			}
		}
		if err := confmap.NewFromStringMap(keep).Unmarshal(cfg); err != nil {
			return nil, fmt.Errorf("--collector-config %s: exporters.%s: %w", path, name, err)
		}
		return cfg, nil
	}
	return nil, fmt.Errorf("--collector-config %s has no audit_elasticsearch exporter", path)
}
