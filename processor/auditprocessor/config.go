package auditprocessor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/configdir"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/strictconfig"
)

// Policies for actions that are not in the catalog.
const (
	PolicyQuarantine = "quarantine"
	PolicyDrop       = "drop"
)

// Config is the audit processor's configuration.
type Config struct {
	// Catalogs are the YAML files of auditable events. Required.
	Catalogs []string `mapstructure:"catalogs"`
	// ActionAttributes are read, in order, when the LogRecord's EventName
	// is empty.
	ActionAttributes []string `mapstructure:"action_attributes"`
	// UnknownActions is "quarantine" (keep, mark invalid, route to the
	// quarantine stream) or "drop" (drop and count).
	UnknownActions string `mapstructure:"unknown_actions"`
	// MaskEmails masks the local part of every email address in the record.
	MaskEmails bool `mapstructure:"mask_emails"`
	// Pseudonym adds user.hash, an HMAC of the actor's address.
	Pseudonym PseudonymConfig `mapstructure:"pseudonym"`
	// Attributes keeps records to metadata: allow or deny lists of
	// attribute keys, by default and per catalog group.
	Attributes AttributesConfig `mapstructure:"attributes"`

	_ struct{}
}

// PseudonymConfig configures user.hash.
type PseudonymConfig struct {
	// Key is the HMAC-SHA256 key; empty turns the pseudonym off. Use
	// ${env:AUDIT_PSEUDONYM_KEY} to keep it out of the file. Never logged.
	Key configopaque.String `mapstructure:"key"`
	// TrustSenderHash keeps a sender's user.hash when user.email holds no
	// address to recompute it from (absent or already masked): for a
	// pipeline that only restores exports. Any sender of that pipeline can
	// then attribute events to any pseudonym.
	TrustSenderHash bool `mapstructure:"trust_sender_hash"`
}

// AttributesConfig holds the metadata-only rules.
type AttributesConfig struct {
	Default AttributeRule            `mapstructure:"default"`
	Groups  map[string]AttributeRule `mapstructure:"groups"`
}

// AttributeRule is an allow-list or a deny-list of attribute keys. Core
// audit attributes (user.email, client.address, event.*, …) are always kept.
type AttributeRule struct {
	Allow []string `mapstructure:"allow"`
	Deny  []string `mapstructure:"deny"`
}

const minKeyLen = 16

// Validate checks the configuration and loads the catalogs, so a broken
// catalog fails `otelcol-audit validate` and not only the start.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Catalogs) == 0 {
		errs = append(errs, errors.New("catalogs: at least one catalog file is required (for example config/catalogs/codatum.yaml)"))
	}
	if len(c.ActionAttributes) == 0 {
		errs = append(errs, errors.New("action_attributes: must name at least one attribute (default [event.name, event.action])"))
	}
	if c.UnknownActions != PolicyQuarantine && c.UnknownActions != PolicyDrop {
		errs = append(errs, fmt.Errorf("unknown_actions: %q is not a policy; use %q or %q", c.UnknownActions, PolicyQuarantine, PolicyDrop))
	}
	if k := len(c.Pseudonym.Key); k > 0 && k < minKeyLen {
		errs = append(errs, fmt.Errorf("pseudonym.key: %d bytes is too short for an HMAC key; use at least %d random bytes", k, minKeyLen))
	}
	errs = append(errs, c.Attributes.Default.validate("attributes.default"))
	var cat *catalog.Catalog
	if missing := missingRelative(c.Catalogs); len(missing) > 0 {
		errs = append(errs, missing...)
	} else if len(c.Catalogs) > 0 {
		var err error
		if cat, err = catalog.Load(catalogPaths(c.Catalogs)...); err != nil {
			errs = append(errs, err)
		}
	}
	for _, g := range sortedKeys(c.Attributes.Groups) {
		path := "attributes.groups." + g
		errs = append(errs, c.Attributes.Groups[g].validate(path))
		if cat != nil && !slices.ContainsFunc(cat.Actions(), func(a *catalog.Action) bool { return a.Group == g }) {
			errs = append(errs, fmt.Errorf("%s: no catalog has a group named %q", path, g))
		}
	}
	return errors.Join(errs...)
}

// catalogPaths are the files the catalogs name: a relative path is read
// from the config file's directory when the distribution's command line
// knows it and the file is there, else from the working directory.
func catalogPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = configdir.Resolve(p)
	}
	return out
}

// missingRelative explains each relative catalog path found in neither
// place it is looked for.
func missingRelative(paths []string) []error {
	var errs []error
	for _, p := range paths {
		if filepath.IsAbs(p) {
			continue
		}
		if _, err := os.Stat(configdir.Resolve(p)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		wd, err := os.Getwd()
		if err != nil {
			wd = "(unknown: " + err.Error() + ")"
		}
		where := "not in the collector's working directory " + wd
		if d := configdir.Dir(); d != "" {
			where = "neither in the config file's directory " + d + " nor in the collector's working directory " + wd
		}
		errs = append(errs, fmt.Errorf("catalogs: %q is %s: a relative path is read from the config file's directory, "+
			"else from the working directory; fix the path, or use an absolute one", p, where))
	}
	return errs
}

func (r AttributeRule) validate(path string) error {
	if len(r.Allow) > 0 && len(r.Deny) > 0 {
		return fmt.Errorf("%s: set allow or deny, not both", path)
	}
	for _, k := range r.Deny {
		if fields.IsCore(k) {
			return fmt.Errorf("%s.deny: %q is a core audit attribute and cannot be removed", path, k)
		}
	}
	return nil
}

// Unmarshal names, for a misspelt key at any level, the keys that section
// takes, as the receiver and the exporter do (internal/strictconfig).
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	errs := []error{strictconfig.CheckKeys(conf, c)}
	section := func(key, path string, cfg any) {
		// A section that is not a map is left to the decoder's type error.
		if sub, err := conf.Sub(key); err == nil {
			errs = append(errs, strictconfig.CheckKeysAt(sub, cfg, path))
		}
	}
	section("pseudonym", "pseudonym", &PseudonymConfig{})
	section("attributes", "attributes", &AttributesConfig{})
	section("attributes::default", "attributes.default", &AttributeRule{})
	if groups, err := conf.Sub("attributes::groups"); err == nil {
		for _, g := range sortedKeys(groups.ToStringMap()) {
			section("attributes::groups::"+g, "attributes.groups."+g, &AttributeRule{})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	type plain Config // without this method
	return conf.Unmarshal((*plain)(c))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
