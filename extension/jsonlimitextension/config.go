package jsonlimitextension

import (
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// maxMaxDepth keeps a configured limit below where Go's own decoders stop
// (encoding/json refuses 10 000 levels), so what passes here reads back.
const maxMaxDepth = 4096

// Config of the json_limit middleware.
type Config struct {
	// MaxDepth is the deepest nesting of objects and arrays a JSON body may
	// have. An OTLP/JSON log record's attribute value starts at level 11;
	// each nested array adds 3 levels, each nested key-value list 4.
	MaxDepth int `mapstructure:"max_depth"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the limit is usable.
func (c *Config) Validate() error {
	if c.MaxDepth < 16 || c.MaxDepth > maxMaxDepth {
		return fmt.Errorf("max_depth %d: must be between 16 (an OTLP/JSON record's attribute alone is 11 levels deep) and %d", c.MaxDepth, maxMaxDepth)
	}
	return nil
}
