// Package auditfileexporter is the contrib file exporter with tamper
// evidence: with digest::key_file set, it lists each record it archived
// (its id and the SHA-256 of its canonical document, digest.ArchiveDocument)
// in signed, chained digests appended to a digest file beside the archive.
// With no key it is the file exporter, unchanged.
package auditfileexporter

import (
	"context"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-audit/otelcol-audit/exporter/auditfileexporter/internal/metadata"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// NewFactory returns the audit_file exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

var fileFactory = fileexporter.NewFactory()

func createDefaultConfig() component.Config {
	return &Config{
		Config: *fileFactory.CreateDefaultConfig().(*fileexporter.Config),
		Digest: DigestConfig{Config: digest.NewDefaultConfig()},
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	// The file exporter keeps one exporter per config pointer: ours is
	// the embedded one, one per audit_file instance.
	inner, err := fileFactory.CreateLogs(ctx, innerSettings(set), &c.Config)
	if err != nil {
		return nil, err
	}
	if !c.Digest.Enabled() {
		return inner, nil
	}
	e := newExporter(set, c, inner)
	// exporterhelper counts what this exporter sent and failed under its
	// own id, a refusal by the digest backlog included (no queue, no retry:
	// the file exporter has none either).
	helped, err := exporterhelper.NewLogs(ctx, set, cfg, e.ConsumeLogs,
		exporterhelper.WithStart(e.Start), exporterhelper.WithShutdown(e.Shutdown),
		exporterhelper.WithCapabilities(e.Capabilities()))
	if err != nil {
		return nil, err
	}
	return digesting{helped, e}, nil
}

// digesting is the helper-wrapped exporter, with ours at hand for tests.
type digesting struct {
	exporter.Logs
	e *auditFileExporter
}

// innerSettings are set for the file exporter inside, which checks that
// the id is of its type: file/audit_file[/<name>], so its telemetry (sent
// and failed records) names this exporter.
func innerSettings(set exporter.Settings) exporter.Settings {
	name := metadata.Type.String()
	if set.ID.Name() != "" {
		name += "/" + set.ID.Name()
	}
	set.ID = component.NewIDWithName(fileFactory.Type(), name)
	return set
}
