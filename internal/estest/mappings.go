package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// fieldMapping is one node of a mapping: an object with properties, or a
// leaf field.
type fieldMapping struct {
	path        string // dotted, for messages
	typ         string // "object" for objects
	props       map[string]*fieldMapping
	dynamic     string // objects: "true", "false", "strict" or "runtime"
	fields      map[string]*fieldMapping
	ignoreAbove int // -1: unset
	depthLimit  int // flattened
	value       string
	hasValue    bool
	index       bool
	// disabled: an object with "enabled": false, whose value is not
	// parsed at all (kept in _source only).
	disabled bool
}

// leafParams are the parameters each field type accepts, beside the
// generic fields and copy_to. Source: each mapper's getParameters() in
// elastic/elasticsearch (KeywordFieldMapper, WildcardFieldMapper,
// FlattenedFieldMapper, DateFieldMapper, IpFieldMapper,
// ConstantKeywordFieldMapper, TextFieldMapper, NumberFieldMapper,
// BooleanFieldMapper, MatchOnlyTextFieldMapper).
var leafParams = map[string][]string{
	"keyword": {"index", "doc_values", "store", "null_value", "eager_global_ordinals", "ignore_above", "index_options", "norms",
		"similarity", "normalizer", "split_queries_on_whitespace", "script", "on_script_error", "meta", "time_series_dimension"},
	"wildcard": {"ignore_above", "null_value", "meta"},
	"flattened": {"index", "doc_values", "depth_limit", "null_value", "eager_global_ordinals", "ignore_above", "index_options",
		"similarity", "split_queries_on_whitespace", "meta", "time_series_dimensions"},
	"date":             {"index", "doc_values", "store", "format", "locale", "null_value", "ignore_malformed", "script", "on_script_error", "meta"},
	"date_nanos":       {"index", "doc_values", "store", "format", "locale", "null_value", "ignore_malformed", "script", "on_script_error", "meta"},
	"ip":               {"index", "doc_values", "store", "ignore_malformed", "null_value", "script", "on_script_error", "meta", "time_series_dimension"},
	"constant_keyword": {"value", "meta"},
	"text": {"index", "store", "index_options", "norms", "term_vector", "analyzer", "search_analyzer", "search_quote_analyzer",
		"similarity", "position_increment_gap", "fielddata", "fielddata_frequency_filter", "eager_global_ordinals", "index_phrases", "index_prefixes", "meta"},
	"match_only_text": {"meta"},
	"boolean":         {"index", "doc_values", "store", "null_value", "script", "on_script_error", "meta", "ignore_malformed"},
	"long":            numberParams, "integer": numberParams, "short": numberParams, "byte": numberParams,
	"double": numberParams, "float": numberParams, "half_float": numberParams, "unsigned_long": numberParams,
}

var numberParams = []string{"index", "doc_values", "store", "null_value", "coerce", "ignore_malformed", "script", "on_script_error", "meta", "time_series_dimension", "time_series_metric"}

// objectParams: ObjectMapper.TypeParser and NestedObjectMapper.
var objectParams = []string{"type", "properties", "dynamic", "enabled", "subobjects"}

// rootParams: RootObjectMapper, plus the metadata fields a mapping may set.
var rootParams = []string{"properties", "dynamic", "enabled", "subobjects", "_source", "_meta", "_routing", "date_detection",
	"numeric_detection", "dynamic_date_formats", "dynamic_templates", "runtime", "_data_stream_timestamp"}

func mappingError(format string, args ...any) esError {
	return esError{Type: "mapper_parsing_exception", Reason: "Failed to parse mapping: " + fmt.Sprintf(format, args...)}
}

// parseMapping reads a "mappings" object. Source: MapperService.parseMapping
// wraps every failure as mapper_parsing_exception "Failed to parse mapping: …".
func parseMapping(raw json.RawMessage) (*fieldMapping, error) {
	root := &fieldMapping{typ: "object", props: map[string]*fieldMapping{}, dynamic: "true"}
	if len(raw) == 0 || string(raw) == "null" {
		return root, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, mappingError("%v", err)
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(rootParams, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, mappingError("Root mapping definition has unsupported parameters:  [%s]", strings.Join(unknown, ", "))
	}
	if err := parseObject(root, "", m); err != nil {
		return nil, err
	}
	return root, nil
}

func parseObject(obj *fieldMapping, path string, m map[string]json.RawMessage) error {
	if d, ok := m["dynamic"]; ok {
		v := strings.Trim(string(d), `"`)
		switch v {
		case "true", "false", "strict", "runtime":
			obj.dynamic = v
		default:
			return mappingError("Could not convert [%sdynamic] to boolean", path)
		}
	}
	props, ok := m["properties"]
	if !ok {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(props, &fields); err != nil {
		return mappingError("Expected map for property [properties] on field [%s] but got a %s", strings.TrimSuffix(path, "."), props)
	}
	for name, def := range fields {
		f, err := parseField(path+name, def)
		if err != nil {
			return err
		}
		obj.props[name] = f
	}
	return nil
}

func parseField(name string, raw json.RawMessage) (*fieldMapping, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, mappingError("Expected map for property [fields] on field [%s] but got a %s", name, raw)
	}
	typ := ""
	if t, ok := m["type"]; ok {
		if err := json.Unmarshal(t, &typ); err != nil {
			return nil, mappingError("type of field [%s] is not a string", name)
		}
	}
	if typ == "" {
		if _, ok := m["properties"]; !ok {
			return nil, mappingError("No type specified for field [%s]", name)
		}
		typ = "object"
	}
	f := &fieldMapping{path: name, typ: typ, ignoreAbove: -1, index: true}
	if typ == "object" || typ == "nested" {
		f.props, f.dynamic = map[string]*fieldMapping{}, "inherit"
		for k := range m {
			if !slices.Contains(objectParams, k) {
				return nil, mappingError("unknown parameter [%s] on mapper [%s] of type [%s]", k, name, typ)
			}
		}
		if v, ok := m["enabled"]; ok {
			switch string(v) {
			case "false", `"false"`:
				f.disabled = true
			case "true", `"true"`:
			default:
				return nil, mappingError("Failed to parse value [%s] as only [true] or [false] are allowed.", strings.Trim(string(v), `"`))
			}
		}
		return f, parseObject(f, name+".", m)
	}
	allowed, known := leafParams[typ]
	if !known {
		// Source: ObjectMapper.TypeParser.parseProperties.
		return nil, mappingError("The mapper type [%s] declared on field [%s] does not exist. It might have been created within a future version or requires a plugin to be installed. Check the documentation.", typ, name)
	}
	for k, v := range m {
		switch {
		case k == "type":
		case k == "fields" || k == "copy_to":
			if typ == "flattened" || typ == "constant_keyword" {
				return nil, mappingError("%s field [%s] does not support [%s]", typ, name, k)
			}
		case k == "boost":
			return nil, mappingError("Unknown parameter [boost] on mapper [%s]", name)
		case !slices.Contains(allowed, k):
			return nil, mappingError("unknown parameter [%s] on mapper [%s] of type [%s]", k, name, typ)
		}
		if string(v) == "null" && k != "null_value" {
			return nil, mappingError("[%s] on mapper [%s] of type [%s] must not have a [null] value", k, name, typ)
		}
	}
	if v, ok := m["ignore_above"]; ok {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return nil, mappingError("[ignore_above] must be positive, got [%s]", v)
		}
		f.ignoreAbove = n
	}
	if typ == "flattened" {
		f.depthLimit = 20
		if v, ok := m["depth_limit"]; ok {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 {
				return nil, mappingError("[depth_limit] must be positive, got [%s]", v)
			}
			f.depthLimit = n
		}
	}
	if v, ok := m["index"]; ok {
		f.index = string(v) != "false"
	}
	if v, ok := m["value"]; ok {
		if err := json.Unmarshal(v, &f.value); err != nil {
			return nil, mappingError("Property [value] on field [%s] must be a string", name)
		}
		f.hasValue = true
	}
	if sub, ok := m["fields"]; ok {
		var subs map[string]json.RawMessage
		if err := json.Unmarshal(sub, &subs); err != nil {
			return nil, mappingError("Expected map for property [fields] on field [%s]", name)
		}
		f.fields = map[string]*fieldMapping{}
		for sn, sdef := range subs {
			sf, err := parseField(name+"."+sn, sdef)
			if err != nil {
				return nil, err
			}
			if sf.typ == "object" || sf.typ == "nested" {
				return nil, mappingError("Type [%s] cannot be used in multi field", sf.typ)
			}
			f.fields[sn] = sf
		}
	}
	return f, nil
}

// merge lays b over a, as composing templates does (later wins per field).
func merge(a, b *fieldMapping) *fieldMapping {
	if a == nil {
		return clone(b)
	}
	if b == nil {
		return clone(a)
	}
	if a.typ != "object" || b.typ != "object" {
		return clone(b)
	}
	out := *b
	if b.dynamic == "inherit" || b.dynamic == "" {
		out.dynamic = a.dynamic
	}
	out.props = map[string]*fieldMapping{}
	for k, v := range a.props {
		out.props[k] = clone(v)
	}
	for k, v := range b.props {
		out.props[k] = merge(out.props[k], v)
	}
	return &out
}

func clone(f *fieldMapping) *fieldMapping {
	if f == nil {
		return nil
	}
	out := *f
	if f.props != nil {
		out.props = map[string]*fieldMapping{}
		for k, v := range f.props {
			out.props[k] = clone(v)
		}
	}
	return &out
}

// fieldType finds a dotted field's mapping, multi-fields included.
func (f *fieldMapping) fieldType(path string) *fieldMapping {
	cur := f
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if cur.props != nil {
			if next, ok := cur.props[p]; ok {
				cur = next
				continue
			}
		}
		if cur.fields != nil && i == len(parts)-1 {
			if next, ok := cur.fields[p]; ok {
				return next
			}
		}
		return nil
	}
	return cur
}

// docCheck validates a document against an index's mapping, as
// Elasticsearch's document parser does for the fields a mapping declares:
// a mapped object must get an object, a leaf must parse as its type.
// Unmapped fields follow the object's dynamic setting (and are still
// parsed: the document must be valid JSON without duplicate names).
type docCheck struct {
	s  scanner
	ix *index
	id string
	// constants first seen in this document, kept when it is stored.
	constants []pendingConstant
	hasTS     bool
}

type pendingConstant struct {
	f     *fieldMapping
	value string
}

const maxTermBytes = 32766 // IndexWriter.MAX_TERM_LENGTH

func docFailure(field, typ, id, preview string, cause esError) esError {
	if len(preview) > 20 {
		preview = preview[:20] + "..."
	}
	e := esError{Type: "document_parsing_exception",
		Reason: fmt.Sprintf("[1:1] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", field, typ, id, preview)}
	if cause.Type != "" {
		e.Extra = map[string]any{"caused_by": cause.object()}
	}
	return e
}

func parseErr(err error) error {
	return esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: " + err.Error()}
}

func (c *docCheck) runWith(id string, doc []byte) error {
	c.id = id
	c.s = scanner{b: doc, scratch: c.s.scratch[:0]}
	c.constants = c.constants[:0]
	c.hasTS = false
	if c.s.peek() != '{' {
		return esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: The document must be a JSON object"}
	}
	if err := c.object(c.ix.mapping, c.ix.mapping.dynamic, true, 1); err != nil {
		return err
	}
	if !c.s.atEnd() {
		return parseErr(c.s.fail("unexpected content after the document"))
	}
	if c.ix.stream != "" && !c.hasTS {
		// Source: DataStreamTimestampFieldMapper.
		return esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing"}
	}
	return nil
}

// object reads one JSON object whose mapping is obj.
func (c *docCheck) object(obj *fieldMapping, dynamic string, root bool, depth int) error {
	s := &c.s
	if depth > maxDepth {
		return parseErr(errDepth)
	}
	s.i++ // '{'
	if obj.dynamic != "inherit" && obj.dynamic != "" {
		dynamic = obj.dynamic
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	var seen names
	for {
		raw, esc, err := s.str()
		if err != nil {
			return parseErr(err)
		}
		name := raw
		if esc {
			name = []byte(string(s.text(raw, esc)))
		}
		if !seen.add(name) {
			return parseErr(fmt.Errorf("duplicate field '%s'", name))
		}
		if err := s.expect(':', "expected ':'"); err != nil {
			return parseErr(err)
		}
		f := obj.props[string(name)]
		if f == nil && bytes.IndexByte(name, '.') >= 0 {
			f = obj.fieldType(string(name))
		}
		if root && string(name) == "@timestamp" {
			c.hasTS = true
		}
		if f == nil {
			if dynamic == "strict" {
				return esError{Type: "strict_dynamic_mapping_exception", Reason: fmt.Sprintf("[1:1] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", name, map[bool]string{true: "_doc", false: obj.path}[root])}
			}
			if _, err := s.skip(depth + 1); err != nil {
				return parseErr(err)
			}
		} else if err := c.value(f, dynamic, depth+1); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return parseErr(s.fail("expected ',' or '}'"))
		}
	}
}

// value reads the value of a mapped field (arrays of it included).
func (c *docCheck) value(f *fieldMapping, dynamic string, depth int) error {
	s := &c.s
	if depth > maxDepth {
		return parseErr(errDepth)
	}
	if f.disabled {
		// Source: mapping-reference/enabled.md: Elasticsearch skips
		// parsing the contents of a disabled object entirely, whatever
		// the value (an object, an array, a scalar).
		if _, err := s.skip(depth); err != nil {
			return parseErr(err)
		}
		return nil
	}
	switch s.peek() {
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := c.value(f, dynamic, depth+1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return parseErr(s.fail("expected ',' or ']'"))
			}
		}
	case '{':
		switch f.typ {
		case "object", "nested":
			return c.object(f, dynamic, false, depth)
		}
		start := s.i
		d, err := s.skip(depth)
		if err != nil {
			return parseErr(err)
		}
		if f.typ == "flattened" {
			return c.flattened(f, s.b[start:s.i], d)
		}
		return docFailure(f.path, f.typ, c.id, string(s.b[start:s.i]), esError{Type: "illegal_state_exception", Reason: "Can't get text on a START_OBJECT"})
	}
	text, quoted, err := s.scalar()
	if err != nil {
		return parseErr(err)
	}
	if !quoted && string(text) == "null" {
		return nil
	}
	if f.typ == "object" || f.typ == "nested" {
		leaf := f.path[strings.LastIndexByte(f.path, '.')+1:]
		return esError{Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:1] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", f.path, leaf)}
	}
	if f.typ == "flattened" {
		return nil // a flattened field takes a single value too
	}
	if err := c.leaf(f, text, quoted); err != nil {
		return err
	}
	for _, sf := range f.fields {
		if err := c.leaf(sf, text, quoted); err != nil {
			return err
		}
	}
	return nil
}

func (c *docCheck) leaf(f *fieldMapping, text []byte, quoted bool) error {
	switch f.typ {
	case "keyword":
		// ignore_above counts characters, never more than bytes.
		if f.index && len(text) > maxTermBytes && (f.ignoreAbove < 0 || utf8.RuneCount(text) <= f.ignoreAbove) {
			return immense(f.path, len(text))
		}
	case "ip":
		if _, err := netip.ParseAddr(string(text)); err != nil || !quoted {
			return docFailure(f.path, "ip", c.id, string(text), esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("'%s' is not an IP string literal.", text)})
		}
	case "date", "date_nanos":
		if err := parseDate(f.typ, string(text)); err != nil {
			return docFailure(f.path, f.typ, c.id, string(text), esError{Type: "illegal_argument_exception", Reason: err.Error()})
		}
	case "constant_keyword":
		want, known := f.value, f.hasValue
		if !known {
			want, known = c.ix.constants[f]
		}
		if !known {
			for _, p := range c.constants {
				if p.f == f {
					want, known = p.value, true
				}
			}
		}
		if !known {
			c.constants = append(c.constants, pendingConstant{f, string(text)})
			return nil
		}
		if string(text) != want {
			// Source: ConstantKeywordFieldMapper.parseCreateField.
			return docFailure(f.path, "constant_keyword", c.id, string(text), esError{Type: "illegal_argument_exception",
				Reason: fmt.Sprintf("[constant_keyword] field [%s] only accepts values that are equal to the value defined in the mappings [%s], but got [%s]", f.path, want, text)})
		}
	case "long", "integer", "short", "byte":
		if _, err := strconv.ParseInt(string(text), 10, 64); err != nil {
			return docFailure(f.path, f.typ, c.id, string(text), esError{Type: "number_format_exception", Reason: fmt.Sprintf("For input string: \"%s\"", text)})
		}
	case "boolean":
		if s := string(text); s != "true" && s != "false" && s != "" {
			return docFailure(f.path, "boolean", c.id, s, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", s)})
		}
	}
	return nil
}

func immense(path string, n int) esError {
	// Source: IndexingChain / DocumentParser for a term over Lucene's limit.
	return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Document contains at least one immense term in field=\"%s\" (whose UTF8 encoding is longer than the max length 32766), all of which were skipped. Please correct the analyzer to not produce such terms. original message: bytes can be at most 32766 in length; got %d", path, n)}
}

// parseDate accepts strict_date_optional_time and epoch_millis, the
// default format of date and date_nanos; date_nanos keeps 1970 to 2262.
func parseDate(typ, text string) error {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		if ms, err2 := strconv.ParseInt(text, 10, 64); err2 == nil {
			t, err = time.UnixMilli(ms), nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if err == nil {
			break
		}
		t, err = time.Parse(layout, text)
	}
	if err != nil {
		return fmt.Errorf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", text)
	}
	if typ == "date_nanos" {
		if t.Before(time.Unix(0, 0)) {
			return fmt.Errorf("date[%s] is before the epoch in 1970 and cannot be stored in nanosecond resolution", t.UTC().Format(time.RFC3339Nano))
		}
		if t.After(time.Unix(0, 1<<63-1)) {
			return fmt.Errorf("date[%s] is after 2262-04-11T23:47:16.854775807 and cannot be stored in nanosecond resolution", t.UTC().Format(time.RFC3339Nano))
		}
	}
	return nil
}

// flattened checks a flattened value's depth and its leaves' lengths.
// Source: FlattenedFieldParser ("exceeds the maximum depth limit").
func (c *docCheck) flattened(f *fieldMapping, raw []byte, depth int) error {
	if depth > f.depthLimit {
		return docFailure(f.path, "flattened", c.id, string(raw), esError{Type: "illegal_argument_exception",
			Reason: fmt.Sprintf("The provided [flattened] field [%s] exceeds the maximum depth limit of [%d].", f.path, f.depthLimit)})
	}
	if f.ignoreAbove >= 0 {
		return nil
	}
	inString, escaped, start := false, false, 0
	for i, b := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
				if i-start > maxTermBytes {
					return immense(f.path, i-start)
				}
			}
		case b == '"':
			inString, start = true, i+1
		}
	}
	return nil
}

// synthetic rebuilds a document's _source as logsdb's synthetic source
// returns it: object keys sorted, leaf arrays sorted, and every value
// inside a flattened field a string. Source: the "synthetic _source" page
// of the mapping docs (docs/reference/elasticsearch/mapping-reference/
// mapping-source-field.md) and FlattenedFieldSyntheticWriterHelper.
func synthetic(root *fieldMapping, src []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return src
	}
	out, err := json.Marshal(synthObject(root, doc))
	if err != nil {
		return src
	}
	return out
}

func synthObject(m *fieldMapping, obj map[string]any) map[string]any {
	for k, v := range obj {
		var f *fieldMapping
		if m != nil && m.props != nil {
			f = m.props[k]
		}
		if f == nil {
			continue // unmapped: kept as sent (_ignored_source)
		}
		switch {
		case f.typ == "flattened":
			obj[k] = synthFlattened(v)
		case f.props != nil:
			if sub, ok := v.(map[string]any); ok {
				obj[k] = synthObject(f, sub)
			}
		default:
			if arr, ok := v.([]any); ok {
				obj[k] = sortLeaves(arr)
			}
		}
	}
	return obj // encoding/json writes map keys sorted
}

func synthFlattened(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			x[k] = synthFlattened(vv)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = synthFlattened(vv)
		}
		return sortLeaves(out)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return v
}

// sortLeaves sorts an array of leaves and drops repeated values, as
// synthetic source does for keyword and flattened fields.
func sortLeaves(arr []any) []any {
	sort.SliceStable(arr, func(i, j int) bool { return fmt.Sprint(arr[i]) < fmt.Sprint(arr[j]) })
	return slices.CompactFunc(arr, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) })
}
