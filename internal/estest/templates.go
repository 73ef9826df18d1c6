package estest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type componentTemplate struct {
	raw      json.RawMessage
	settings map[string]string
	mapping  *fieldMapping
	builtin  bool
}

type indexTemplate struct {
	name            string
	raw             json.RawMessage
	patterns        []string
	priority        int64
	dataStream      bool
	allowAutoCreate *bool
	composedOf      []string
	ignoreMissing   []string
	settings        map[string]string
	mapping         *fieldMapping
	builtin         bool
}

// templateBody is the shared "template" object of both template kinds.
// Source: specification/indices/_types/IndexTemplate.ts and
// ComponentTemplate.ts.
type templateBody struct {
	Settings          json.RawMessage `json:"settings"`
	Mappings          json.RawMessage `json:"mappings"`
	Aliases           json.RawMessage `json:"aliases"`
	Lifecycle         json.RawMessage `json:"lifecycle"`
	DataStreamOptions json.RawMessage `json:"data_stream_options"`
}

// strictKeys refuses unknown top-level keys as Elasticsearch's
// ObjectParser does: "[name] unknown field [key]".
func strictKeys(raw []byte, parser string, allowed ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return esError{Type: "x_content_parse_exception", Reason: "[1:1] " + err.Error()}
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[1:2] [%s] unknown field [%s]", parser, k)}
		}
	}
	return nil
}

func parseTemplateBody(raw json.RawMessage) (map[string]string, *fieldMapping, error) {
	if len(raw) == 0 {
		return map[string]string{}, nil, nil
	}
	if err := strictKeys(raw, "template", "settings", "mappings", "aliases", "lifecycle", "data_stream_options"); err != nil {
		return nil, nil, err
	}
	var b templateBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, nil, esError{Type: "x_content_parse_exception", Reason: err.Error()}
	}
	settings, err := parseSettings(b.Settings)
	if err != nil {
		return nil, nil, err
	}
	var m *fieldMapping
	if len(b.Mappings) > 0 {
		if m, err = parseMapping(b.Mappings); err != nil {
			return nil, nil, err
		}
	}
	return settings, m, nil
}

// knownSettings are the index settings the double knows, with a check of
// their values. Source: IndexScopedSettings.BUILT_IN_INDEX_SETTINGS and
// the plugins' settings (ILM's LifecycleSettings, IndexSettings.MODE).
var knownSettings = map[string]func(string) string{
	"index.number_of_shards":                                 positiveInt,
	"index.number_of_replicas":                               nonNegativeInt,
	"index.auto_expand_replicas":                             anyValue,
	"index.codec":                                            oneOf("default", "best_compression", "lz4", "zlib", "legacy_default", "legacy_best_compression", "best_speed"),
	"index.mapping.ignore_malformed":                         boolean,
	"index.mapping.total_fields.limit":                       nonNegativeInt,
	"index.mapping.total_fields.ignore_dynamic_beyond_limit": boolean,
	"index.mapping.depth.limit":                              positiveInt,
	"index.lifecycle.name":                                   anyValue,
	"index.lifecycle.parse_origination_date":                 boolean,
	"index.lifecycle.origination_date":                       nonNegativeInt,
	"index.lifecycle.rollover_alias":                         anyValue,
	"index.mode":                                             oneOf("standard", "time_series", "logsdb", "lookup"),
	"index.refresh_interval":                                 timeValueOrMinusOne,
	"index.hidden":                                           boolean,
	"index.default_pipeline":                                 anyValue,
	"index.final_pipeline":                                   anyValue,
	"index.priority":                                         nonNegativeInt,
	"index.max_result_window":                                positiveInt,
	"index.query.default_field":                              anyValue,
	"index.routing.allocation.include._tier_preference":      anyValue,
}

func anyValue(string) string { return "" }
func boolean(v string) string {
	if v != "true" && v != "false" {
		return fmt.Sprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", v)
	}
	return ""
}
func positiveInt(v string) string {
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return fmt.Sprintf("Failed to parse value [%s], must be >= [1]", v)
	}
	return ""
}
func nonNegativeInt(v string) string {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
		return fmt.Sprintf("Failed to parse value [%s], must be >= [0]", v)
	}
	return ""
}
func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		if !slices.Contains(vals, v) {
			return fmt.Sprintf("[%s] is an invalid value, valid values are: %v", v, vals)
		}
		return ""
	}
}
func timeValueOrMinusOne(v string) string {
	if v == "-1" {
		return ""
	}
	if _, err := parseTimeValue("refresh_interval", v); err != nil {
		return err.Error()
	}
	return ""
}

// parseSettings flattens settings ({"index":{"codec":…}} or "index.codec")
// to dotted keys with the index. prefix and checks each. Source:
// AbstractScopedSettings.validate: "unknown setting [...] please check
// that any required plugins are installed, or check the breaking changes
// documentation for removed settings".
func parseSettings(raw json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, esError{Type: "x_content_parse_exception", Reason: err.Error()}
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				walk(prefix+k+".", vv)
			}
		default:
			key := strings.TrimSuffix(prefix, ".")
			if !strings.HasPrefix(key, "index.") {
				key = "index." + key
			}
			out[key] = fmt.Sprint(x)
		}
	}
	walk("", m)
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check, ok := knownSettings[k]
		if !ok {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("unknown setting [%s] please check that any required plugins are installed, or check the breaking changes documentation for removed settings", k)}
		}
		if msg := check(out[k]); msg != "" {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("failed to parse value [%s] for setting [%s]: %s", out[k], k, msg)}
		}
	}
	return out, nil
}

func (s *Server) putComponent(c *call) {
	if !s.allowCluster(c, "cluster:admin/component_template/put") {
		return
	}
	name := c.params["name"]
	if err := strictKeys(c.body, "component_template", "template", "version", "_meta", "deprecated"); err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	var body struct {
		Template json.RawMessage `json:"template"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || len(body.Template) == 0 {
		writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: template is missing;")
		return
	}
	settings, m, err := parseTemplateBody(body.Template)
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.components[name]; old != nil && old.builtin {
		writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("component template [%s] is managed by Elasticsearch", name))
		return
	}
	s.components[name] = &componentTemplate{raw: append(json.RawMessage(nil), c.body...), settings: settings, mapping: m}
	acknowledged(c.w)
}

func (s *Server) getComponent(c *call) {
	if !s.allowCluster(c, "cluster:monitor/component_template/get") {
		return
	}
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for n, ct := range s.components {
		if globMatch(name, n) {
			out = append(out, map[string]any{"name": n, "component_template": ct.raw})
		}
	}
	if len(out) == 0 {
		writeError(c.w, 404, "resource_not_found_exception", fmt.Sprintf("component template matching [%s] not found", name))
		return
	}
	writeJSON(c.w, 200, map[string]any{"component_templates": out})
}

func (s *Server) deleteComponent(c *call) {
	if !s.allowCluster(c, "cluster:admin/component_template/delete") {
		return
	}
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.components[name]; !ok {
		writeError(c.w, 404, "resource_not_found_exception", name)
		return
	}
	for tn, t := range s.templates {
		if slices.Contains(t.composedOf, name) {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("component templates [%s] cannot be removed as they are still in use by index templates [%s]", name, tn))
			return
		}
	}
	delete(s.components, name)
	acknowledged(c.w)
}

func (s *Server) putIndexTemplate(c *call) {
	if !s.allowCluster(c, "indices:admin/index_template/put") {
		return
	}
	name := c.params["name"]
	t, err := parseIndexTemplate(name, c.body)
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.validateIndexTemplate(t); err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	s.templates[name] = t
	acknowledged(c.w)
}

func parseIndexTemplate(name string, raw []byte) (*indexTemplate, error) {
	if err := strictKeys(raw, "index_template", "index_patterns", "composed_of", "template", "priority", "version", "_meta",
		"data_stream", "allow_auto_create", "ignore_missing_component_templates", "deprecated"); err != nil {
		return nil, err
	}
	var body struct {
		IndexPatterns   json.RawMessage `json:"index_patterns"`
		ComposedOf      []string        `json:"composed_of"`
		Template        json.RawMessage `json:"template"`
		Priority        *int64          `json:"priority"`
		DataStream      json.RawMessage `json:"data_stream"`
		AllowAutoCreate *bool           `json:"allow_auto_create"`
		IgnoreMissing   []string        `json:"ignore_missing_component_templates"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, esError{Type: "x_content_parse_exception", Reason: "[1:1] [index_template] " + err.Error()}
	}
	t := &indexTemplate{name: name, raw: append(json.RawMessage(nil), raw...), composedOf: body.ComposedOf,
		dataStream: len(body.DataStream) > 0 && string(body.DataStream) != "null", allowAutoCreate: body.AllowAutoCreate, ignoreMissing: body.IgnoreMissing}
	// index_patterns is a string or a list of strings.
	if err := json.Unmarshal(body.IndexPatterns, &t.patterns); err != nil {
		var one string
		if json.Unmarshal(body.IndexPatterns, &one) != nil {
			return nil, esError{Type: "x_content_parse_exception", Reason: "[index_template] failed to parse field [index_patterns]"}
		}
		t.patterns = []string{one}
	}
	if len(t.patterns) == 0 {
		return nil, esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: index patterns are missing;"}
	}
	if body.Priority != nil {
		if *body.Priority < 0 {
			return nil, esError{Type: "x_content_parse_exception", Reason: "[index_template] failed to parse field [priority]: priority must be non-negative"}
		}
		t.priority = *body.Priority
	}
	// Source: MetadataIndexTemplateService.validateV2TemplateRequest /
	// validate(): patterns must be valid file names and not start with '_'.
	for _, p := range t.patterns {
		if strings.ContainsAny(p, `\/?"<>| ,#`) || strings.HasPrefix(p, "_") {
			return nil, esError{Type: "invalid_index_template_exception", Reason: fmt.Sprintf("index_template [%s] invalid, cause [Validation Failed: 1: index_pattern [%s] must not contain a space, ',', '#' or any of the invalid filename characters and must not start with '_';]", name, p)}
		}
	}
	var err error
	if t.settings, t.mapping, err = parseTemplateBody(body.Template); err != nil {
		return nil, err
	}
	return t, nil
}

// validateIndexTemplate checks a template against the cluster; s.mu is held.
func (s *Server) validateIndexTemplate(t *indexTemplate) error {
	if old := s.templates[t.name]; old != nil && old.builtin {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("index template [%s] is managed by Elasticsearch", t.name)}
	}
	for _, cn := range t.composedOf {
		if _, ok := s.components[cn]; !ok && !slices.Contains(t.ignoreMissing, cn) {
			return esError{Type: "invalid_index_template_exception", Reason: fmt.Sprintf("index_template [%s] invalid, cause [index template [%s] specifies component templates [%s] that do not exist]", t.name, t.name, cn)}
		}
	}
	// Source: MetadataIndexTemplateService.findConflictingV2Templates.
	var clash []string
	for other, ot := range s.templates {
		if other == t.name || ot.priority != t.priority {
			continue
		}
		for _, a := range ot.patterns {
			if slices.ContainsFunc(t.patterns, func(b string) bool { return globsIntersect(a, b) }) {
				clash = append(clash, other)
				break
			}
		}
	}
	if len(clash) > 0 {
		sort.Strings(clash)
		var with []string
		for _, n := range clash {
			with = append(with, fmt.Sprintf("%s => [%s]", n, strings.Join(s.templates[n].patterns, ", ")))
		}
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("index template [%s] has index patterns [%s] matching patterns from existing templates [%s] with patterns (%s) that have the same priority [%d], multiple index templates may not match during index creation, please use a different priority",
			t.name, strings.Join(t.patterns, ", "), strings.Join(clash, ","), strings.Join(with, ","), t.priority)}
	}
	// The composition must make a valid index. Source:
	// MetadataIndexTemplateService.validateCompositeTemplate.
	_, m := s.compose(t)
	if t.dataStream {
		if ts := m.fieldType("@timestamp"); ts != nil && ts.typ != "date" && ts.typ != "date_nanos" {
			return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("composable template [%s] template after composition with component templates %v is invalid: data stream timestamp field [@timestamp] is of type [%s], but [date,date_nanos] is expected", t.name, t.composedOf, ts.typ)}
		}
	}
	// A data stream must keep matching a template that makes data streams.
	// Source: MetadataIndexTemplateService.dataStreamsExclusivelyUsingTemplates
	// / validateDataStreamsStillReferenced.
	for dsName := range s.streams {
		best := s.findTemplateWith(dsName, t)
		if best == nil || !best.dataStream {
			return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("composable template [%s] with index patterns [%s], priority [%d] would cause data streams [%s] to no longer match a data stream template", t.name, strings.Join(t.patterns, ", "), t.priority, dsName)}
		}
	}
	return nil
}

// compose merges a template's components and its own template; s.mu is held.
func (s *Server) compose(t *indexTemplate) (map[string]string, *fieldMapping) {
	settings := map[string]string{}
	var m *fieldMapping
	for _, cn := range t.composedOf {
		ct := s.components[cn]
		if ct == nil {
			continue
		}
		for k, v := range ct.settings {
			settings[k] = v
		}
		m = merge(m, ct.mapping)
	}
	for k, v := range t.settings {
		settings[k] = v
	}
	m = merge(m, t.mapping)
	if m == nil {
		m = &fieldMapping{typ: "object", props: map[string]*fieldMapping{}, dynamic: "true"}
	}
	if m.dynamic == "" || m.dynamic == "inherit" {
		m.dynamic = "true"
	}
	return settings, m
}

// findTemplate is the highest-priority template matching name. Source:
// MetadataIndexTemplateService.findV2Template.
func (s *Server) findTemplate(name string) *indexTemplate { return s.findTemplateWith(name, nil) }

// findTemplateWith resolves as if extra were installed too.
func (s *Server) findTemplateWith(name string, extra *indexTemplate) *indexTemplate {
	var best *indexTemplate
	consider := func(t *indexTemplate) {
		for _, p := range t.patterns {
			if globMatch(p, name) && (best == nil || t.priority > best.priority) {
				best = t
				return
			}
		}
	}
	for n, t := range s.templates {
		if extra != nil && n == extra.name {
			continue
		}
		consider(t)
	}
	if extra != nil {
		consider(extra)
	}
	return best
}

func (s *Server) getIndexTemplate(c *call) {
	if !s.allowCluster(c, "indices:admin/index_template/get") {
		return
	}
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	names := make([]string, 0, len(s.templates))
	for n := range s.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if globMatch(name, n) {
			out = append(out, map[string]any{"name": n, "index_template": s.templates[n].raw})
		}
	}
	if len(out) == 0 {
		writeError(c.w, 404, "resource_not_found_exception", fmt.Sprintf("index template matching [%s] not found", name))
		return
	}
	writeJSON(c.w, 200, map[string]any{"index_templates": out})
}

func (s *Server) deleteIndexTemplate(c *call) {
	if !s.allowCluster(c, "indices:admin/index_template/delete") {
		return
	}
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[name]
	if !ok {
		writeError(c.w, 404, "resource_not_found_exception", fmt.Sprintf("index_template matching [%s] not found", name))
		return
	}
	for dsName := range s.streams {
		if s.findTemplate(dsName) == t {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("unable to remove composable templates [%s] as they are in use by a data streams [%s]", name, dsName))
			return
		}
	}
	delete(s.templates, name)
	acknowledged(c.w)
}

// installBuiltins adds what a fresh 8.x/9.x cluster has: the logs index
// template at priority 100 over logs-*-* (data streams, auto-create
// allowed) and its ILM policy. Source: x-pack/plugin/core/template-resources
// logs@template.json, logs@settings.json, logs@mappings.json,
// logs@lifecycle.json, registered by StackTemplateRegistry.
func (s *Server) installBuiltins() {
	yes := true
	s.components["logs@mappings"] = &componentTemplate{builtin: true, raw: json.RawMessage(`{"template":{"mappings":{"date_detection":false,"properties":{"@timestamp":{"type":"date"},"data_stream":{"properties":{"type":{"type":"constant_keyword","value":"logs"},"dataset":{"type":"constant_keyword"},"namespace":{"type":"constant_keyword"}}}}}},"_meta":{"managed":true}}`),
		settings: map[string]string{},
		mapping: &fieldMapping{typ: "object", dynamic: "true", props: map[string]*fieldMapping{
			"@timestamp": {path: "@timestamp", typ: "date", ignoreAbove: -1, index: true},
			"data_stream": {path: "data_stream", typ: "object", dynamic: "inherit", props: map[string]*fieldMapping{
				"type":      {path: "data_stream.type", typ: "constant_keyword", value: "logs", hasValue: true, ignoreAbove: -1},
				"dataset":   {path: "data_stream.dataset", typ: "constant_keyword", ignoreAbove: -1},
				"namespace": {path: "data_stream.namespace", typ: "constant_keyword", ignoreAbove: -1},
			}},
		}}}
	s.components["logs@settings"] = &componentTemplate{builtin: true, raw: json.RawMessage(`{"template":{"settings":{"index":{"lifecycle":{"name":"logs@lifecycle"},"codec":"best_compression","mapping":{"ignore_malformed":true}}}},"_meta":{"managed":true}}`),
		settings: map[string]string{"index.lifecycle.name": "logs@lifecycle", "index.codec": "best_compression", "index.mapping.ignore_malformed": "true"}}
	s.templates["logs"] = &indexTemplate{name: "logs", builtin: true, patterns: []string{"logs-*-*"}, priority: 100, dataStream: true, allowAutoCreate: &yes,
		composedOf: []string{"logs@mappings", "logs@settings"},
		raw:        json.RawMessage(`{"index_patterns":["logs-*-*"],"priority":100,"data_stream":{},"composed_of":["logs@mappings","logs@settings","logs@custom","ecs@mappings"],"ignore_missing_component_templates":["logs@custom"],"allow_auto_create":true,"_meta":{"description":"default logs template installed by x-pack","managed":true}}`)}
	p, _ := parseILMPolicy("logs@lifecycle", []byte(`{"policy":{"phases":{"hot":{"actions":{"rollover":{"max_primary_shard_size":"50gb","max_age":"30d"}}}},"_meta":{"managed":true}}}`))
	s.ilm["logs@lifecycle"] = p
}
