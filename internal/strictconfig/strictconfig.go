// Package strictconfig rejects unknown configuration keys for components
// whose config squashes a confighttp struct. In collector v0.161 such a
// struct implements confmap.Unmarshaler and decodes with unused keys
// ignored, so a misspelt sibling key would otherwise pass silently.
package strictconfig

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// CheckKeys returns an error naming every top-level key of conf that no
// field of cfg (a pointer to a struct) takes, following squashed fields.
func CheckKeys(conf *confmap.Conf, cfg any) error { return CheckKeysAt(conf, cfg, "") }

// CheckKeysAt is CheckKeys for the section at path (e.g. "tls"), which the
// error names.
func CheckKeysAt(conf *confmap.Conf, cfg any, path string) error {
	known := Keys(reflect.TypeOf(cfg))
	var unknown []string
	for k := range conf.ToStringMap() {
		if !slices.Contains(known, strings.ToLower(k)) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	slices.Sort(known)
	if path != "" {
		path += ": "
	}
	return fmt.Errorf("%sunknown configuration key(s) %s; the keys are %s", path, strings.Join(quote(unknown), ", "), strings.Join(known, ", "))
}

// Keys lists the top-level keys a struct type takes.
func Keys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" || f.Name == "_" {
			continue
		}
		if strings.Contains(opts, "squash") {
			keys = append(keys, Keys(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, strings.ToLower(name))
	}
	return keys
}

func quote(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
