package digest

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config is the `digest` section of an exporter that writes tamper
// evidence (audit_elasticsearch, audit_file).
type Config struct {
	// KeyFile is the Ed25519 private key (PKCS #8 PEM, `auditctl keygen`).
	// Empty turns tamper evidence off.
	KeyFile string `mapstructure:"key_file"`
	// Interval is how often each chain gets a digest, a heartbeat when no
	// event came.
	Interval time.Duration `mapstructure:"interval"`
	// MaxEvents bounds the events one digest lists; more make more digests.
	MaxEvents int `mapstructure:"max_events"`
	// MaxPendingEvents bounds the events waiting for a digest, in memory and
	// in storage. Past it, exports fail and are retried: the digest store
	// is not taking digests.
	MaxPendingEvents int `mapstructure:"max_pending_events"`
	// Storage keeps each chain's last digest and the writes under way, so
	// that a chain continues across restarts (a journal_storage or file_storage extension).
	Storage *component.ID `mapstructure:"storage"`
	// Instance names this collector's chains; empty: a random name made on
	// first start and kept in Storage.
	Instance string `mapstructure:"instance"`

	_ struct{}
}

// Defaults.
const (
	DefaultInterval         = time.Minute
	DefaultMaxEvents        = 10_000
	DefaultMaxPendingEvents = 1_000_000
)

// NewDefaultConfig is off, with the defaults for when a key is set.
func NewDefaultConfig() Config {
	return Config{Interval: DefaultInterval, MaxEvents: DefaultMaxEvents, MaxPendingEvents: DefaultMaxPendingEvents}
}

// Enabled reports whether digests are written.
func (c Config) Enabled() bool { return c.KeyFile != "" }

var instanceName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate checks the section when it is enabled.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if c.Interval < time.Second || c.Interval > 24*time.Hour {
		errs = append(errs, fmt.Errorf("digest::interval: %s is out of range: use 1s to 24h (default 1m)", c.Interval))
	}
	if c.MaxEvents < 1 || c.MaxEvents > 1_000_000 {
		errs = append(errs, fmt.Errorf("digest::max_events: %d is out of range: use 1 to 1000000 (default 10000)", c.MaxEvents))
	}
	if c.MaxPendingEvents < c.MaxEvents {
		errs = append(errs, fmt.Errorf("digest::max_pending_events: %d is below max_events (%d): raise it (default 1000000)", c.MaxPendingEvents, c.MaxEvents))
	}
	if c.Storage == nil {
		errs = append(errs, errors.New("digest::storage: tamper evidence keeps each chain's last digest across restarts: name a journal_storage or file_storage extension"))
	}
	if c.Instance != "" && !instanceName.MatchString(c.Instance) {
		errs = append(errs, fmt.Errorf("digest::instance: %q: use 1 to 64 letters, digits, '.', '_' or '-'", c.Instance))
	}
	return errors.Join(errs...)
}
