package auditelasticsearchexporter

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/strictconfig"
)

// Config is the exporter's configuration. Connection settings are explicit
// fields rather than a squashed confighttp.ClientConfig, whose "timeout"
// would collide with exporterhelper's and whose unmarshaling ignores
// misspelt sibling keys.
type Config struct {
	// Endpoints are Elasticsearch URLs, e.g. https://es:9200.
	Endpoints []string `mapstructure:"endpoints"`
	// APIKey is the base64 "id:key" API key; or User and Password.
	APIKey   configopaque.String `mapstructure:"api_key"`
	User     string              `mapstructure:"user"`
	Password configopaque.String `mapstructure:"password"`
	// Authenticator names a client auth extension (e.g. oauth2client).
	Authenticator *component.ID          `mapstructure:"authenticator"`
	TLS           configtls.ClientConfig `mapstructure:"tls"`
	// RequestTimeout bounds one HTTP request to Elasticsearch.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// Compression of request bodies: "none" or "gzip".
	Compression string `mapstructure:"compression"`

	DataStream DataStreamConfig `mapstructure:"data_stream"`
	Retention  RetentionConfig  `mapstructure:"retention"`
	Bootstrap  BootstrapConfig  `mapstructure:"bootstrap"`
	Bulk       BulkConfig       `mapstructure:"bulk"`
	// Digest turns tamper evidence on: signed, chained digests of what
	// was stored, in the digest data stream.
	Digest digest.Config `mapstructure:"digest"`

	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`

	_ struct{}
}

// DataStreamConfig names the indices: logs-<dataset>[.<tier>]-<namespace>,
// followed by the period's date for events (the dead-letter data stream
// has none). The section keeps its name from the data stream naming
// scheme these names follow.
type DataStreamConfig struct {
	Dataset   string `mapstructure:"dataset"`
	Namespace string `mapstructure:"namespace"`
	// NamespaceAttribute, when set, takes the namespace from this record
	// attribute (e.g. organization.id), sanitized to Elasticsearch's rules.
	NamespaceAttribute string `mapstructure:"namespace_attribute"`
}

// RetentionConfig sets how long each kind of event is kept (Elasticsearch
// time units: 90d, 400d, 12h), counted from the event's own time.
type RetentionConfig struct {
	Default    string `mapstructure:"default"`
	Quarantine string `mapstructure:"quarantine"`
	DeadLetter string `mapstructure:"dead_letter"`
	// Period is how much event time one index holds: day, week or month.
	// An event is kept at least its retention and less than its retention
	// plus one period.
	Period   assets.Period  `mapstructure:"period"`
	Rollover RolloverConfig `mapstructure:"rollover"`
	Tiers    []TierConfig   `mapstructure:"tiers"`
	// Digest is how long the tamper-evidence digests are kept, counted
	// from the rollover of their index. It must be longer than any event
	// is kept; empty: that plus 30 days (DigestRetention).
	Digest string `mapstructure:"digest"`
}

// RolloverConfig is the rollover of the data streams (dead letters,
// digests); their retention counts from rollover.
type RolloverConfig struct {
	MaxAge              string `mapstructure:"max_age"`
	MaxPrimaryShardSize string `mapstructure:"max_primary_shard_size"`
}

// TierConfig keeps events of some categories for their own time, in their
// own indices under their own ILM policy.
type TierConfig struct {
	Name        string   `mapstructure:"name"`
	Categories  []string `mapstructure:"categories"`
	DeleteAfter string   `mapstructure:"delete_after"`
}

// BootstrapConfig controls installing the assets on start.
type BootstrapConfig struct {
	// Enabled installs ILM policies, templates and the dead-letter data
	// stream on start.
	// Turn it off when the collector's role may only write (see auditctl
	// setup).
	Enabled       bool          `mapstructure:"enabled"`
	RetryInterval time.Duration `mapstructure:"retry_interval"`
}

// BulkConfig controls item retries inside one export call.
type BulkConfig struct {
	// MaxRetries of 429 and 5xx items before the export call fails with
	// only those records, for exporterhelper's retry and queue.
	MaxRetries     int           `mapstructure:"max_retries"`
	InitialBackoff time.Duration `mapstructure:"initial_backoff"`
	MaxBackoff     time.Duration `mapstructure:"max_backoff"`
}

// Unmarshal decodes strictly: see internal/strictconfig.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := strictconfig.CheckKeys(conf, c); err != nil {
		return err
	}
	type plain Config
	return conf.Unmarshal((*plain)(c))
}

var (
	sizeUnit   = regexp.MustCompile(`^[1-9][0-9]*(b|kb|mb|gb|tb|pb)$`)
	nameRule   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)
	tierRule   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	reservedNS = []string{"quarantine", "deadletter", "default", assets.DigestTierName}
)

// maxDatasetBytes keeps logs-<dataset>.<tier>-<namespace>-<yyyy.MM.dd>
// within Elasticsearch's 255 bytes for the longest namespace (100 bytes).
const maxDatasetBytes = 255 - len("logs-") - 1 - 100 - len("-2006.01.02")

// Validate rejects settings that cannot work, saying what to change.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Endpoints) == 0 {
		add("endpoints: at least one Elasticsearch URL is required, e.g. [https://localhost:9200]")
	}
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("endpoints: %q is not an http(s) URL with a host", e)
		}
	}
	if c.APIKey != "" && (c.User != "" || c.Password != "") {
		add("api_key and user/password are both set: use one")
	}
	if c.Password != "" && c.User == "" {
		add("password is set without user")
	}
	if c.RequestTimeout <= 0 {
		add("request_timeout: must be positive, got %s", c.RequestTimeout)
	}
	if q := c.QueueConfig; q.HasValue() && q.Get().Batch.HasValue() && len(q.Get().Batch.Get().Partition.MetadataKeys) > 0 {
		// The queue holds encoded documents, not the request's context.
		add("sending_queue::batch::partition::metadata_keys: not supported by this exporter; it routes each event by its own attributes (data_stream.namespace_attribute)")
	}
	if c.Compression != "none" && c.Compression != "gzip" {
		add("compression: %q is not supported; use none or gzip", c.Compression)
	}
	if !nameRule.MatchString(c.DataStream.Dataset) || strings.Contains(c.DataStream.Dataset, "-") {
		add("data_stream.dataset: %q must be lower case letters, digits, '_' and '.', without '-'", c.DataStream.Dataset)
	}
	if len(c.DataStream.Dataset)+len(".deadletter") > maxDatasetBytes {
		add("data_stream.dataset: %q is too long for index names: at most %d bytes", c.DataStream.Dataset, maxDatasetBytes-len(".deadletter"))
	}
	if ns := c.DataStream.Namespace; ns == "" || sanitizeNamespace(ns, "") != ns {
		add("data_stream.namespace: %q must be lower case, without '-', spaces or any of \\/*?\"<>|,#: (at most 100 bytes)", ns)
	}
	for _, f := range []struct{ name, v string }{{"retention.default", c.Retention.Default}, {"retention.quarantine", c.Retention.Quarantine}, {"retention.dead_letter", c.Retention.DeadLetter}, {"retention.rollover.max_age", c.Retention.Rollover.MaxAge}} {
		if _, err := assets.Duration(f.v); err != nil {
			add("%s: %v", f.name, err)
		}
	}
	if !slices.Contains(assets.Periods, c.Retention.Period) {
		add("retention.period: %q is not one of %v (the event time one index holds; events are kept up to one period past their retention)", c.Retention.Period, assets.Periods)
	}
	if !sizeUnit.MatchString(strings.ToLower(c.Retention.Rollover.MaxPrimaryShardSize)) {
		add("retention.rollover.max_primary_shard_size: %q is not a size such as 50gb", c.Retention.Rollover.MaxPrimaryShardSize)
	}
	seenTier := map[string]bool{}
	seenCat := map[string]string{}
	for i, t := range c.Retention.Tiers {
		p := fmt.Sprintf("retention.tiers[%d]", i)
		switch {
		case !tierRule.MatchString(t.Name):
			add("%s.name: %q must be lower snake_case", p, t.Name)
		case slices.Contains(reservedNS, t.Name):
			add("%s.name: %q is reserved", p, t.Name)
		case seenTier[t.Name]:
			add("%s.name: %q is used twice", p, t.Name)
		case len(c.DataStream.Dataset)+1+len(t.Name) > maxDatasetBytes:
			add("%s.name: %q makes index names too long: dataset and tier name together must stay within %d bytes (an index name is at most 255)", p, t.Name, maxDatasetBytes)
		}
		seenTier[t.Name] = true
		if len(t.Categories) == 0 {
			add("%s.categories: list the catalog categories this tier keeps", p)
		}
		for _, cat := range t.Categories {
			if other, dup := seenCat[cat]; dup {
				add("%s.categories: %q is already in tier %q; an event with several categories goes to the tier that keeps it longest", p, cat, other)
			}
			seenCat[cat] = t.Name
		}
		if _, err := assets.Duration(t.DeleteAfter); err != nil {
			add("%s.delete_after: %v", p, err)
		}
	}
	if c.Bootstrap.RetryInterval <= 0 {
		add("bootstrap.retry_interval: must be positive, got %s", c.Bootstrap.RetryInterval)
	}
	if c.Bulk.MaxRetries < 0 || c.Bulk.InitialBackoff <= 0 || c.Bulk.MaxBackoff < c.Bulk.InitialBackoff {
		add("bulk: max_retries must be >= 0 and 0 < initial_backoff <= max_backoff (got %d, %s, %s)", c.Bulk.MaxRetries, c.Bulk.InitialBackoff, c.Bulk.MaxBackoff)
	}
	if err := c.Digest.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Retention.Digest != "" {
		d, err := assets.Duration(c.Retention.Digest)
		floor, what := c.longestKept()
		switch {
		case err != nil:
			add("retention.digest: %v", err)
		case d <= floor:
			add("retention.digest: %s is not longer than %s, the longest %s can be kept counted from when it is written: digests must outlive the events they cover; set %s or more, or leave it empty for %s", c.Retention.Digest, dayText(floor), what, assets.FormatDuration(ceilDay(floor+1)), c.defaultDigestRetention())
		}
	}
	if c.BackOffConfig.Enabled && c.BackOffConfig.MaxElapsedTime != 0 {
		add("retry_on_failure.max_elapsed_time: %s would drop events after that long; set 0 to retry until Elasticsearch takes them (the queue bounds memory)", c.BackOffConfig.MaxElapsedTime)
	}
	if !c.BackOffConfig.Enabled {
		add("retry_on_failure.enabled: false would drop events on the first failure; keep it on")
	}
	return errors.Join(errs...)
}

// Tiers returns every retention tier of the config, the fixed ones first,
// and the digest tier when digests are on; `auditctl setup` installs the
// same ones.
func (c *Config) Tiers() []assets.Tier {
	out := c.eventTiers()
	if c.Digest.Enabled() {
		out = append(out, c.DigestTier())
	}
	return out
}

// eventTiers are the tiers that hold events (dead letters included).
func (c *Config) eventTiers() []assets.Tier {
	ro := c.Retention.Rollover
	mk := func(name, dataset, deleteAfter string) assets.Tier {
		return assets.Tier{Name: name, Dataset: dataset, DeleteAfter: deleteAfter, Period: c.Retention.Period,
			RolloverMaxAge: ro.MaxAge, RolloverMaxPrimaryShardSize: ro.MaxPrimaryShardSize}
	}
	ds := c.DataStream.Dataset
	out := []assets.Tier{
		mk("default", ds, c.Retention.Default),
		mk("quarantine", ds+".quarantine", c.Retention.Quarantine),
		{Name: "deadletter", Dataset: ds + ".deadletter", DeleteAfter: c.Retention.DeadLetter,
			RolloverMaxAge: ro.MaxAge, RolloverMaxPrimaryShardSize: ro.MaxPrimaryShardSize},
	}
	for _, t := range c.Retention.Tiers {
		out = append(out, mk(t.Name, ds+"."+t.Name, t.DeleteAfter))
	}
	return out
}

// DigestTier is the tamper-evidence digests' data stream tier,
// logs-<dataset>.digest-<namespace>. Tiers has it when digests are on;
// `auditctl setup` may install it regardless (the host running setup
// need not hold the signing key).
func (c *Config) DigestTier() assets.Tier {
	ro := c.Retention.Rollover
	return assets.Tier{Name: assets.DigestTierName, Dataset: c.DataStream.Dataset + "." + assets.DigestTierName,
		DeleteAfter: c.DigestRetention(), RolloverMaxAge: ro.MaxAge, RolloverMaxPrimaryShardSize: ro.MaxPrimaryShardSize}
}

// digestStream is where this exporter writes digests.
func (c *Config) digestStream() string {
	return c.DigestTier().StreamName(c.DataStream.Namespace)
}

// longestKept is the longest any event of the config can be kept, counted
// from when the exporter writes it, and which tier that is. An events
// index is deleted its tier's retention plus at most one period after the
// period's first day, and an event may pick a period up to maxFutureSkew
// ahead; a dead letter is deleted its retention after its stream's
// rollover, at most rollover.max_age after the write. Digests are written
// after the events they cover, so outliving this is enough.
func (c *Config) longestKept() (time.Duration, string) {
	var longest time.Duration
	what := ""
	maxAge, _ := assets.Duration(c.Retention.Rollover.MaxAge)
	for _, t := range c.eventTiers() {
		d, err := assets.Duration(t.DeleteAfter)
		if err != nil {
			continue // Validate reports it
		}
		if t.DataStream() {
			d += maxAge
		} else {
			d += t.Period.MaxLength() + maxFutureSkew
		}
		if d > longest {
			longest, what = d, fmt.Sprintf("an event of tier %q", t.Name)
		}
	}
	return longest, what
}

// DigestRetention is retention.digest, or by default the longest an event
// is kept (longestKept) in whole days plus 30 days.
func (c *Config) DigestRetention() string {
	if c.Retention.Digest != "" {
		return c.Retention.Digest
	}
	return c.defaultDigestRetention()
}

func (c *Config) defaultDigestRetention() string {
	floor, _ := c.longestKept()
	return assets.FormatDuration(ceilDay(floor) + 30*day)
}

const day = 24 * time.Hour

func ceilDay(d time.Duration) time.Duration { return (d + day - 1) / day * day }

// dayText writes d as days and the rest: 396d10m.
func dayText(d time.Duration) string {
	if d%day == 0 || d < day {
		return assets.FormatDuration(d)
	}
	return assets.FormatDuration(d/day*day) + assets.FormatDuration(d%day)
}

// sanitizeNamespace makes s a valid namespace (assets.Namespace).
func sanitizeNamespace(s, def string) string { return assets.Namespace(s, def) }
