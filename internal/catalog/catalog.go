// Package catalog loads the YAML catalogs of auditable events and answers
// whether an action name is one of them.
//
// Loading is strict: any problem fails the load, with an error naming the
// file and line of every problem, because a catalog that silently accepts a
// typo would let unaudited actions through.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Action is one auditable event.
type Action struct {
	Name        string
	Group       string
	Categories  []string
	ECSCategory []string
	ECSType     []string
	Description string

	// Catalog, File and Line say where the action was declared.
	Catalog string
	File    string
	Line    int
}

// Category is one audit category a catalog declares, e.g. "access_control".
type Category struct {
	Name        string
	Description string
}

// Catalog is the union of one or more catalog files.
type Catalog struct {
	actions    map[string]*Action
	normalized map[string]*Action
	ordered    []*Action
	normNames  []string // Normalize of each ordered name, for Suggest
	categories []Category
}

// ECS 8.x allowed values; anything else would be rejected by ECS-aware tools.
var (
	ecsCategories = []string{"api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam", "intrusion_detection", "library", "malware", "network", "package", "process", "registry", "session", "threat", "vulnerability", "web"}
	ecsTypes      = []string{"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "device", "end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user"}
	namePattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*([._:-][A-Za-z0-9]+)*$`)
	catPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

type fileDoc struct {
	Catalog     string      `yaml:"catalog"`
	Description string      `yaml:"description"`
	Categories  []yaml.Node `yaml:"categories"`
	Events      []yaml.Node `yaml:"events"`
}

type categoryDoc struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

type eventDoc struct {
	Name        string   `yaml:"name"`
	Group       string   `yaml:"group"`
	Categories  []string `yaml:"categories"`
	Description string   `yaml:"description"`
	ECS         struct {
		Category []string `yaml:"category"`
		Type     []string `yaml:"type"`
	} `yaml:"ecs"`
}

// Load reads and merges the catalog files. Names must be unique across all
// files, including variants that differ only in case or separators. The
// error lists every problem of every file, each with its file and line.
func Load(paths ...string) (*Catalog, error) {
	if len(paths) == 0 {
		return nil, errors.New("no catalog files given")
	}
	c := &Catalog{actions: map[string]*Action{}, normalized: map[string]*Action{}}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("catalog %s: %w", p, err))
			continue
		}
		errs = append(errs, c.add(p, data)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Parse builds a catalog from one document; file is used in error messages.
func Parse(file string, data []byte) (*Catalog, error) {
	c := &Catalog{actions: map[string]*Action{}, normalized: map[string]*Action{}}
	if errs := c.add(file, data); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// add merges one file into c and returns every problem it has; the
// events without problems are added, so that later files are checked
// against them.
func (c *Catalog) add(file string, data []byte) []error {
	var errs []error
	at := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("catalog %s:%d: %s", file, line, fmt.Sprintf(format, args...)))
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return []error{yamlError(file, err)}
	}
	if doc.Catalog == "" {
		at(1, "missing top-level \"catalog\" name")
	}
	if len(doc.Categories) == 0 {
		at(1, "no categories declared; every event needs at least one")
	}
	if len(doc.Events) == 0 {
		at(1, "no events declared")
	}
	declared := map[string]bool{}
	for i := range doc.Categories {
		n := &doc.Categories[i]
		var cd categoryDoc
		if err := decodeStrict(n, &cd); err != nil {
			at(n.Line, "category: %v", err)
			continue
		}
		if !catPattern.MatchString(cd.Name) {
			at(n.Line, "category name %q must be lower snake_case", cd.Name)
			continue
		}
		if declared[cd.Name] {
			at(n.Line, "category %q declared twice", cd.Name)
			continue
		}
		declared[cd.Name] = true
		if !slices.ContainsFunc(c.categories, func(x Category) bool { return x.Name == cd.Name }) {
			c.categories = append(c.categories, Category(cd))
		}
	}
	names := slices.Sorted(mapsKeys(declared))
	for i := range doc.Events {
		n := &doc.Events[i]
		var ed eventDoc
		if err := decodeStrict(n, &ed); err != nil {
			at(n.Line, "event: %v", err)
			continue
		}
		before := len(errs)
		switch {
		case ed.Name == "":
			at(n.Line, "event has no name")
		case !namePattern.MatchString(ed.Name):
			at(n.Line, "event name %q: use letters and digits, optionally separated by single '.', '_', ':' or '-'", ed.Name)
		}
		if ed.Group == "" {
			at(n.Line, "event %q has no group", ed.Name)
		}
		if len(ed.Categories) == 0 {
			at(n.Line, "event %q has no categories (declared: %s)", ed.Name, strings.Join(names, ", "))
		}
		if ed.Description == "" {
			at(n.Line, "event %q has no description", ed.Name)
		}
		for _, cat := range ed.Categories {
			if !declared[cat] {
				at(n.Line, "event %q: unknown category %q (declared: %s)", ed.Name, cat, strings.Join(names, ", "))
			}
		}
		if d := firstDuplicate(ed.Categories); d != "" {
			at(n.Line, "event %q lists category %q twice", ed.Name, d)
		}
		for _, v := range ed.ECS.Category {
			if !slices.Contains(ecsCategories, v) {
				at(n.Line, "event %q: %q is not an ECS event.category (allowed: %s)", ed.Name, v, strings.Join(ecsCategories, ", "))
			}
		}
		for _, v := range ed.ECS.Type {
			if !slices.Contains(ecsTypes, v) {
				at(n.Line, "event %q: %q is not an ECS event.type (allowed: %s)", ed.Name, v, strings.Join(ecsTypes, ", "))
			}
		}
		if ed.Name == "" {
			continue
		}
		if prev, ok := c.actions[ed.Name]; ok {
			at(n.Line, "duplicate event %q, first declared at %s:%d", ed.Name, prev.File, prev.Line)
			continue
		}
		norm := Normalize(ed.Name)
		if prev, ok := c.normalized[norm]; ok {
			at(n.Line, "event %q differs from %q (%s:%d) only in case or separators; such names are ambiguous", ed.Name, prev.Name, prev.File, prev.Line)
			continue
		}
		if len(errs) > before {
			continue
		}
		a := &Action{
			Name: ed.Name, Group: ed.Group, Categories: ed.Categories,
			ECSCategory: ed.ECS.Category, ECSType: ed.ECS.Type, Description: ed.Description,
			Catalog: doc.Catalog, File: file, Line: n.Line,
		}
		c.actions[a.Name] = a
		c.normalized[norm] = a
		c.ordered = append(c.ordered, a)
		c.normNames = append(c.normNames, norm)
	}
	return errs
}

func decodeStrict(n *yaml.Node, out any) error {
	// yaml.Node.Decode does not honour KnownFields, so re-encode and decode strictly.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		// Line numbers inside the re-encoded snippet are meaningless to users.
		return errors.New(stripLine(err.Error()))
	}
	return nil
}

var (
	lineRef = regexp.MustCompile(`line (\d+): `)
	typeRef = regexp.MustCompile(` in type \S+`)
)

func stripLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	s = typeRef.ReplaceAllString(s, "")
	return strings.TrimSpace(lineRef.ReplaceAllString(s, ""))
}

// yamlError turns "yaml: line 3: ..." into "catalog FILE:3: ...".
func yamlError(file string, err error) error {
	msg := typeRef.ReplaceAllString(err.Error(), "")
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "yaml: unmarshal errors:\n"), "yaml: ")
	msg = strings.TrimSpace(msg)
	if m := lineRef.FindStringSubmatchIndex(msg); m != nil && m[0] == 0 {
		return fmt.Errorf("catalog %s:%s: %s", file, msg[m[2]:m[3]], msg[m[1]:])
	}
	return fmt.Errorf("catalog %s: %s", file, msg)
}

func firstDuplicate(xs []string) string {
	for i, x := range xs {
		if slices.Contains(xs[:i], x) {
			return x
		}
	}
	return ""
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Lookup returns the action with exactly this name. Variants in case or
// format are deliberately not found: see Suggest.
func (c *Catalog) Lookup(name string) (*Action, bool) {
	a, ok := c.actions[name]
	return a, ok
}

// Actions returns every action in declaration order.
func (c *Catalog) Actions() []*Action { return c.ordered }

// Categories returns every declared category in declaration order.
func (c *Catalog) Categories() []Category { return c.categories }

// Len is the number of actions.
func (c *Catalog) Len() int { return len(c.ordered) }

// Normalize folds case and drops separators, so "CreateNotebook",
// "create_notebook" and "create-notebook" compare equal.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ':' || r == ' ':
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
