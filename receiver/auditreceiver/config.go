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
