package journalstorageextension

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// Config of the journal_storage extension.
type Config struct {
	// Directory holds one subdirectory per client (component and name).
	// It is created when missing.
	Directory string `mapstructure:"directory"`
	// Fsync makes a write durable across a machine crash before it is
	// acknowledged; without it a write survives the process being killed.
	Fsync bool `mapstructure:"fsync"`
	// SegmentSizeMiB is the size past which a client starts a new segment
	// file. Disk is reclaimed a whole segment at a time.
	SegmentSizeMiB int `mapstructure:"segment_size_mib"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration is usable.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory: required; give each collector its own"))
	}
	if c.SegmentSizeMiB < 1 || c.SegmentSizeMiB > 1024 {
		errs = append(errs, fmt.Errorf("segment_size_mib %d: must be between 1 and 1024", c.SegmentSizeMiB))
	}
	return errors.Join(errs...)
}
