package auditfileexporter

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// Config is the file exporter's configuration, unchanged, and the digest
// section.
type Config struct {
	fileexporter.Config `mapstructure:",squash"`

	// Digest turns on tamper evidence (digest::key_file) and says where
	// the digests go (digest::path).
	Digest DigestConfig `mapstructure:"digest"`
}

// DigestConfig is digest.Config and where the digest file is.
type DigestConfig struct {
	digest.Config `mapstructure:",squash"`

	// Path is the digest file: one signed digest per line, appended.
	// Empty: DefaultDigestFile beside path.
	Path string `mapstructure:"path"`
}

// DefaultDigestFile is the digest file's name in the archive's directory.
// It must not contain ".jsonl": the archive readers read every file whose
// name does.
const DefaultDigestFile = "digests.ndjson"

// digestPath is where the digests go.
func (c *Config) digestPath() string {
	if c.Digest.Path != "" {
		return c.Digest.Path
	}
	return filepath.Join(filepath.Dir(c.Path), DefaultDigestFile)
}

// Unmarshal reads the file exporter's keys with the file exporter's own
// Unmarshal (its defaults: rotation off unless set, flush_interval 1s) and
// the digest section apart: the file exporter's refuses keys it does not
// know.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	_, hasDigest := raw["digest"]
	delete(raw, "digest")
	// Through Conf.Unmarshal, so that the file exporter's Unmarshal runs
	// as it does for the file exporter.
	if err := confmap.NewFromStringMap(raw).Unmarshal(&c.Config); err != nil {
		return err
	}
	if !hasDigest {
		return nil
	}
	sub, err := conf.Sub("digest")
	if err != nil {
		return err
	}
	if err := sub.Unmarshal(&c.Digest); err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	return nil
}

// Validate checks what digests need. The file exporter's own checks and
// digest.Config's run too (the collector validates every embedded
// section).
func (c *Config) Validate() error {
	if !c.Digest.Enabled() {
		return nil
	}
	var errs []error
	refuse := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("audit_file with digests on (digest::key_file set): "+format, args...))
	}
	if c.FormatType != "json" || c.Encoding != nil {
		refuse("format must be json with no encoding extension: the archive readers and auditctl verify read OTLP JSON lines")
	}
	if c.Compression != "" {
		refuse("compression %q: the archive readers read uncompressed JSON lines; remove compression", c.Compression)
	}
	if c.GroupBy != nil && c.GroupBy.Enabled {
		refuse("group_by: the archive readers read one directory of *.jsonl files in name order; disable group_by")
	}
	// Without rotation the file exporter writes through a bufio.Writer
	// (fileexporter's newFileWriter, case rotation == nil:
	// newBufferedWriteCloser) and only logs a failed periodic flush
	// (fileWriter.startFlusher): records lost in that buffer would still
	// be claimed (and without append it truncates path at every start).
	// With rotation it writes each line straight to the file through
	// timberjack.Logger.Write (an *os.File, no buffer; newFileWriter's
	// default case), so a failed write fails the export.
	if c.Rotation == nil {
		refuse("a rotation section is required: without one the file exporter buffers writes and only logs a failed flush, so digests could claim lost records; add e.g. rotation: {max_megabytes: 100}")
	}
	if c.Rotation != nil && c.Rotation.LocalTime {
		refuse("rotation::localtime: backups named in local time do not sort in write order across a clock change, and verify checks order; remove localtime (UTC names)")
	}
	dp := c.digestPath()
	switch {
	case strings.Contains(filepath.Base(dp), ".jsonl"):
		refuse("digest::path %q: the name must not contain \".jsonl\" (the archive readers would read it as events); use e.g. %s", dp, DefaultDigestFile)
	case filepath.Clean(dp) == filepath.Clean(c.Path):
		refuse("digest::path is path: the digests need a file of their own, e.g. %s beside it", DefaultDigestFile)
	}
	return errors.Join(errs...)
}

// Validate checks the digest section's own fields; digest.Config.Validate
// checks the rest.
func (d *DigestConfig) Validate() error {
	if d.Enabled() && d.Path != "" && strings.HasSuffix(d.Path, "/") {
		return fmt.Errorf("digest::path %q names a directory: name the file, e.g. %s", d.Path, filepath.Join(d.Path, DefaultDigestFile))
	}
	return nil
}
