package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditelasticsearchexporter"
)

// collectorConfig reads a collector config file as the collector does:
// ${env:VAR}, ${env:VAR:-default} and ${VAR} expanded.
func collectorConfig(path string) (*confmap.Conf, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("--collector-config %s: %w", path, err)
	}
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + abs},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory(), yamlprovider.NewFactory()},
		DefaultScheme:     "env",
		ProviderSettings:  confmap.ProviderSettings{Logger: zap.NewNop()},
	})
	if err != nil {
		return nil, fmt.Errorf("--collector-config %s: %w", path, err)
	}
	conf, err := r.Resolve(context.Background())
	if err != nil {
		return nil, fmt.Errorf("--collector-config %s: %w", path, err)
	}
	return conf, nil
}

// exportersOfType lists the names of the exporters of one type, sorted
// ("audit_elasticsearch" and "audit_elasticsearch/…").
func exportersOfType(conf *confmap.Conf, typ string) []string {
	var names []string
	for name := range conf.ToStringMap() {
		if name == typ || strings.HasPrefix(name, typ+"/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// exporterConfig reads the audit_elasticsearch section of a collector
// config, so setup installs exactly the tiers the collector writes to.
// With two or more such exporters, name selects one; it must then be set.
func exporterConfig(path, name string) (*auditelasticsearchexporter.Config, error) {
	conf, err := collectorConfig(path)
	if err != nil {
		return nil, err
	}
	exporters, err := conf.Sub("exporters")
	if err != nil {
		return nil, fmt.Errorf("--collector-config %s: exporters: %w", path, err)
	}
	names := exportersOfType(exporters, "audit_elasticsearch")
	switch {
	case len(names) == 0:
		return nil, fmt.Errorf("--collector-config %s has no audit_elasticsearch exporter", path)
	case name == "" && len(names) > 1:
		return nil, fmt.Errorf("--collector-config %s has %d audit_elasticsearch exporters (%s): name one with --exporter NAME", path, len(names), strings.Join(names, ", "))
	case name == "":
		name = names[0]
	case !slices.Contains(names, name):
		return nil, fmt.Errorf("--exporter: --collector-config %s has no exporter %q; its audit_elasticsearch exporters: %s", path, name, strings.Join(names, ", "))
	}
	section, err := exporters.Sub(name)
	if err != nil {
		return nil, fmt.Errorf("--collector-config %s: exporters.%s: %w", path, name, err)
	}
	// Each section is decoded from its own sub-config, which keeps the
	// expanded values' original text: namespace: ${env:NS} with NS=123
	// stays the string "123".
	cfg := auditelasticsearchexporter.NewFactory().CreateDefaultConfig().(*auditelasticsearchexporter.Config)
	for k, target := range map[string]any{"data_stream": &cfg.DataStream, "retention": &cfg.Retention} {
		if !section.IsSet(k) {
			continue
		}
		sub, err := section.Sub(k)
		if err == nil {
			err = sub.Unmarshal(target)
		}
		if err != nil {
			return nil, fmt.Errorf("--collector-config %s: exporters.%s.%s: %w", path, name, k, err)
		}
	}
	return cfg, nil
}

// archiveDirs lists the directories the collector config's archive
// (audit_file) and file exporters write to, for a hint when Elasticsearch is out of reach.
func archiveDirs(path string) []string {
	conf, err := collectorConfig(path)
	if err != nil {
		return nil
	}
	exporters, err := conf.Sub("exporters")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, name := range append(exportersOfType(exporters, "audit_file"), exportersOfType(exporters, "file")...) {
		if p, ok := exporters.Get(name + "::path").(string); ok && p != "" {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	return dirs
}
