package auditreceiver

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-audit/otelcol-audit/internal/strictconfig"
)

// Config is the audit receiver's configuration.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, TLS, auth, CORS, timeouts,
	// and max_request_body_size, which bounds /v1/import uploads.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// MaxEventsBodySize bounds a /v1/events body, after decompression.
	MaxEventsBodySize int64 `mapstructure:"max_events_body_size"`
	// MaxEventsPerRequest bounds the events in one /v1/events request.
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`
	// MaxFutureSkew refuses events whose time is further ahead than this.
	MaxFutureSkew time.Duration `mapstructure:"max_future_skew"`
	// ImportBatchSize is how many CSV rows go to the pipeline at once.
	ImportBatchSize int `mapstructure:"import_batch_size"`
	// SpoolDirectory holds an upload while it is validated; empty is the
	// system temporary directory.
	SpoolDirectory string `mapstructure:"spool_directory"`
	// RetryAfter is sent with 503 when the pipeline refuses data.
	RetryAfter time.Duration `mapstructure:"retry_after"`
	// MaxProblems bounds the problems listed in a 400 answer.
	MaxProblems int `mapstructure:"max_problems"`

	// MaxPropertyDepth, MaxPropertyKeys and MaxPropertyValues bound an
	// event's properties on every path: nesting levels, keys in one object
	// (properties itself included), and values at every level.
	MaxPropertyDepth  int `mapstructure:"max_property_depth"`
	MaxPropertyKeys   int `mapstructure:"max_property_keys"`
	MaxPropertyValues int `mapstructure:"max_property_values"`
	// MaxImportFieldSize and MaxImportRowSize bound one CSV field and one
	// row in bytes, checked while the file is read.
	MaxImportFieldSize int `mapstructure:"max_import_field_size"`
	MaxImportRowSize   int `mapstructure:"max_import_row_size"`
	// MaxImportDecompressedSize bounds a compressed upload once
	// decompressed, checked while decompressing; max_request_body_size
	// applies too, so the lower of the two counts.
	MaxImportDecompressedSize int64 `mapstructure:"max_import_decompressed_size"`
	// A request body must keep up with MinBodyRate bytes per second, with
	// BodyReadTimeout of slack: it is cut off once it is further behind.
	BodyReadTimeout time.Duration `mapstructure:"body_read_timeout"`
	MinBodyRate     int64         `mapstructure:"min_body_rate"`
	// MaxConcurrentRequests and MaxConcurrentImports bound the requests in
	// progress; past them the answer is 503 with Retry-After.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	MaxConcurrentImports  int `mapstructure:"max_concurrent_imports"`
	// MaxDiscardSize bounds what is read and thrown away of a body the
	// receiver refused before its end (413, 400, 415...), so that a client
	// that sends the whole body before reading the answer reads it instead
	// of a connection reset. That read lasts at most BodyReadTimeout after
	// the answer, at MinBodyRate. A body declaring more than this beyond
	// what was read is not read: the connection closes at once. 0 turns
	// the receiver's read off, but not the Go HTTP server's own: it still
	// reads up to 256 KiB of what is left (a body declaring more is not
	// read) before it reuses or closes the connection.
	MaxDiscardSize int64 `mapstructure:"max_discard_size"`
	// ShutdownTimeout is how long shutdown waits for requests in progress
	// before it cuts them.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`

	_ struct{}
}

// Validate rejects settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: required, for example localhost:4319"))
	}
	if c.MaxEventsBodySize <= 0 {
		errs = append(errs, fmt.Errorf("max_events_body_size: must be positive, got %d", c.MaxEventsBodySize))
	}
	if c.ServerConfig.MaxRequestBodySize > 0 && c.MaxEventsBodySize > c.ServerConfig.MaxRequestBodySize {
		errs = append(errs, fmt.Errorf("max_events_body_size (%d) is larger than max_request_body_size (%d), which bounds every request", c.MaxEventsBodySize, c.ServerConfig.MaxRequestBodySize))
	}
	if c.MaxEventsPerRequest <= 0 {
		errs = append(errs, fmt.Errorf("max_events_per_request: must be positive, got %d", c.MaxEventsPerRequest))
	}
	if c.MaxFutureSkew <= 0 {
		errs = append(errs, fmt.Errorf("max_future_skew: must be positive, got %s", c.MaxFutureSkew))
	}
	if c.ImportBatchSize <= 0 || c.ImportBatchSize > 100_000 {
		errs = append(errs, fmt.Errorf("import_batch_size: must be between 1 and 100000, got %d", c.ImportBatchSize))
	}
	if c.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("retry_after: must be at least 1s (Retry-After is in whole seconds), got %s", c.RetryAfter))
	}
	if c.MaxProblems <= 0 {
		errs = append(errs, fmt.Errorf("max_problems: must be positive, got %d", c.MaxProblems))
	}
	positive := func(key string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %d", key, v))
		}
	}
	positive("max_property_keys", int64(c.MaxPropertyKeys))
	positive("max_property_values", int64(c.MaxPropertyValues))
	positive("max_import_field_size", int64(c.MaxImportFieldSize))
	positive("max_import_decompressed_size", c.MaxImportDecompressedSize)
	positive("max_concurrent_requests", int64(c.MaxConcurrentRequests))
	if c.MaxPropertyDepth <= 0 || c.MaxPropertyDepth > 1000 {
		errs = append(errs, fmt.Errorf("max_property_depth: must be between 1 and 1000, got %d", c.MaxPropertyDepth))
	}
	if c.MaxImportRowSize < c.MaxImportFieldSize {
		errs = append(errs, fmt.Errorf("max_import_row_size (%d) is smaller than max_import_field_size (%d)", c.MaxImportRowSize, c.MaxImportFieldSize))
	}
	if c.MaxDiscardSize < 0 {
		errs = append(errs, fmt.Errorf("max_discard_size: must be 0 (nothing read past what Go's HTTP server reads itself, at most 256 KiB) or more, got %d", c.MaxDiscardSize))
	}
	if c.BodyReadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("body_read_timeout: must be positive, got %s", c.BodyReadTimeout))
	}
	if c.MinBodyRate < 0 {
		errs = append(errs, fmt.Errorf("min_body_rate: must be 0 (the whole body within body_read_timeout) or more, got %d", c.MinBodyRate))
	}
	if c.MaxConcurrentImports <= 0 || c.MaxConcurrentImports > c.MaxConcurrentRequests {
		errs = append(errs, fmt.Errorf("max_concurrent_imports: must be between 1 and max_concurrent_requests (%d), got %d", c.MaxConcurrentRequests, c.MaxConcurrentImports))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be positive, got %s", c.ShutdownTimeout))
	}
	if c.SpoolDirectory != "" {
		if st, err := os.Stat(c.SpoolDirectory); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("spool_directory: %q is not an existing directory", c.SpoolDirectory))
		}
	}
	return errors.Join(errs...)
}

// Unmarshal decodes strictly: see internal/strictconfig.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := strictconfig.CheckKeys(conf, c); err != nil {
		return err
	}
	type plain Config
	return conf.Unmarshal((*plain)(c))
}
