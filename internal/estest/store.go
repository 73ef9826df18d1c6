package estest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// document is one stored document.
type document struct {
	id  string
	src []byte // nil unless WithSource
	ts  int64  // @timestamp in nanoseconds, when it leads the document
	seq int64
	// searched is the parsed source, built on first search.
	searched *hit
}

// index is a concrete index: a plain one, or a data stream's backing index.
type index struct {
	name     string
	stream   string // the data stream it backs, if any
	template string
	created  time.Time
	// rolledOver is when a backing index stopped being the write index;
	// origination is index.lifecycle.origination_date (set, or parsed
	// from the name).
	rolledOver, origination time.Time
	settings                map[string]string
	mapping                 *fieldMapping
	mode                    string
	constants               map[*fieldMapping]string
	docs                    map[string]*document
	order                   []*document
	// visible is how many documents of order a search sees: the ones
	// written before the last refresh.
	visible         int
	lastRefresh     time.Time
	refreshInterval time.Duration // -1: only explicit refreshes
	check           docCheck
}

// dataStream is a data stream and its backing indices, oldest first.
type dataStream struct {
	name, template string
	indices        []*index
	generation     int
}

func (ds *dataStream) writeIndex() *index { return ds.indices[len(ds.indices)-1] }

// newIndex creates a concrete index from the template that matches it
// (for a backing index, the template that matches its data stream) and
// the request's own settings and mappings; s.mu is held. Sources:
// MetadataCreateIndexService (templates, then request), ILM's
// IndexLifecycleService.beforeIndexAddedToCluster (origination date),
// LogsdbIndexModeSettingsProvider (logsdb for logs-*-* data streams).
func (s *Server) newIndex(name, stream string, reqSettings map[string]string, reqMapping *fieldMapping) (*index, error) {
	match := name
	if stream != "" {
		match = stream
	} else if err := validateIndexName(name); err != nil {
		return nil, err
	}
	settings := map[string]string{}
	var m *fieldMapping
	tmpl := ""
	if t := s.findTemplate(match); t != nil && (stream == "" || t.dataStream) {
		settings, m = s.compose(t)
		tmpl = t.name
	}
	for k, v := range reqSettings {
		settings[k] = v
	}
	m = merge(m, reqMapping)
	if m == nil {
		m = &fieldMapping{typ: "object", props: map[string]*fieldMapping{}, dynamic: "true"}
	}
	if m.dynamic == "" || m.dynamic == "inherit" {
		m.dynamic = "true"
	}
	// Source: ShardLimitValidator (cluster.max_shards_per_node, one node
	// here; a replica counts though it is unassigned).
	if open := s.openShards(); open+indexShards(settings) > s.maxShards {
		return nil, esError{Type: "validation_exception", Reason: fmt.Sprintf("Validation Failed: 1: this action would add [%d] shards, but this cluster currently has [%d]/[%d] maximum normal shards open;", indexShards(settings), open, s.maxShards)}
	}
	now := s.clock()
	ix := &index{name: name, stream: stream, template: tmpl, created: now, settings: settings, mapping: m,
		constants: map[*fieldMapping]string{}, docs: map[string]*document{}, lastRefresh: now, refreshInterval: time.Second, mode: "standard"}
	if v := settings["index.lifecycle.origination_date"]; v != "" {
		ms, _ := strconv.ParseInt(v, 10, 64)
		ix.origination = time.UnixMilli(ms).UTC()
	} else if settings["index.lifecycle.parse_origination_date"] == "true" {
		t, err := parseOriginationDate(name)
		if err != nil {
			return nil, err
		}
		ix.origination = t
	}
	switch mode := settings["index.mode"]; {
	case mode != "":
		ix.mode = mode
	case s.logsdb && stream != "" && globMatch("logs-*-*", stream):
		ix.mode = "logsdb"
	}
	if v := settings["index.refresh_interval"]; v != "" {
		ix.refreshInterval, _ = parseTimeValue("index.refresh_interval", v)
	}
	ix.check.ix = ix
	s.indices[name] = ix
	return ix, nil
}

// indexShards is what an index holds: primaries times one plus replicas
// (1 and 1 by default).
func indexShards(settings map[string]string) int {
	p, r := 1, 1
	if v, err := strconv.Atoi(settings["index.number_of_shards"]); err == nil {
		p = v
	}
	if v, err := strconv.Atoi(settings["index.number_of_replicas"]); err == nil {
		r = v
	}
	return p * (1 + r)
}

func (s *Server) openShards() int {
	n := 0
	for _, ix := range s.indices {
		n += indexShards(ix.settings)
	}
	return n
}

// backingName is DataStream.getDefaultBackingIndexName:
// .ds-<stream>-<yyyy.MM.dd>-<generation, 6 digits>.
func backingName(stream string, at time.Time, generation int) string {
	return fmt.Sprintf(".ds-%s-%s-%06d", stream, at.UTC().Format("2006.01.02"), generation)
}

// newDataStream creates a data stream and its first backing index; s.mu
// is held. Source: MetadataCreateDataStreamService.
func (s *Server) newDataStream(name string) (*dataStream, error) {
	if err := validateDataStreamName(name); err != nil {
		return nil, err
	}
	if _, ok := s.streams[name]; ok {
		return nil, esError{Type: "resource_already_exists_exception", Reason: fmt.Sprintf("data_stream [%s] already exists", name)}
	}
	if _, ok := s.indices[name]; ok {
		return nil, esError{Type: "resource_already_exists_exception", Reason: fmt.Sprintf("index [%s] already exists", name)}
	}
	t := s.findTemplate(name)
	if t == nil {
		return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("no matching index template found for data stream [%s]", name)}
	}
	if !t.dataStream {
		return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("matching index template [%s] for data stream [%s] has no data stream template", t.name, name)}
	}
	ds := &dataStream{name: name, template: t.name, generation: 1}
	ix, err := s.newIndex(backingName(name, s.clock(), 1), name, nil, nil)
	if err != nil {
		return nil, err
	}
	ds.indices = []*index{ix}
	s.streams[name] = ds
	return ds, nil
}

// rollover gives a data stream a new write index; s.mu is held. Source:
// MetadataRolloverService. The old write index keeps its documents and its
// _ids: a later create with the same _id lands in the new index.
func (s *Server) rollover(ds *dataStream) (old, cur *index) {
	old = ds.writeIndex()
	ds.generation++
	name := backingName(ds.name, s.clock(), ds.generation)
	for s.indices[name] != nil {
		ds.generation++
		name = backingName(ds.name, s.clock(), ds.generation)
	}
	cur, err := s.newIndex(name, ds.name, nil, nil)
	if err != nil {
		panic(err) // backing names are always valid
	}
	old.rolledOver = s.clock()
	ds.indices = append(ds.indices, cur)
	s.stats.Rollovers++
	return old, cur
}

// dropIndex removes an index (and a data stream left without indices).
func (s *Server) dropIndex(ix *index) {
	for id := range ix.docs {
		if s.ids[id] == ix.name {
			delete(s.ids, id)
		}
	}
	delete(s.indices, ix.name)
	if ds := s.streams[ix.stream]; ds != nil {
		ds.indices = slices.DeleteFunc(ds.indices, func(x *index) bool { return x == ix })
		if len(ds.indices) == 0 {
			delete(s.streams, ds.name)
		}
	}
}

// resolve expands an index expression: comma-separated names, data
// streams and wildcard patterns, with '-' exclusions; a wildcard skips
// hidden indices (backing indices) unless it starts with '.'. It returns
// the concrete indices, and the plain names that exist nowhere. Source:
// IndexNameExpressionResolver.
func (s *Server) resolve(expr string) (out []*index, missing []string) {
	seen := map[*index]bool{}
	add := func(ix *index) {
		if !seen[ix] {
			seen[ix] = true
			out = append(out, ix)
		}
	}
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case strings.HasPrefix(part, "-") && len(out) > 0:
			pat := part[1:]
			out = slices.DeleteFunc(out, func(ix *index) bool {
				drop := globMatch(pat, ix.name) || (ix.stream != "" && globMatch(pat, ix.stream))
				if drop {
					delete(seen, ix)
				}
				return drop
			})
		case part == "_all" || strings.Contains(part, "*"):
			if part == "_all" {
				part = "*"
			}
			for _, ds := range s.streams {
				if globMatch(part, ds.name) {
					for _, ix := range ds.indices {
						add(ix)
					}
				}
			}
			for _, ix := range s.indices {
				if (ix.stream == "" || strings.HasPrefix(part, ".")) && globMatch(part, ix.name) {
					add(ix)
				}
			}
		default:
			if ds, ok := s.streams[part]; ok {
				for _, ix := range ds.indices {
					add(ix)
				}
			} else if ix, ok := s.indices[part]; ok {
				add(ix)
			} else {
				missing = append(missing, part)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, missing
}

func (s *Server) resolveAll(expr string) []*index {
	out, _ := s.resolve(expr)
	return out
}

func indexNotFound(name string) esError {
	return esError{Type: "index_not_found_exception", Reason: fmt.Sprintf("no such index [%s]", name),
		Extra: map[string]any{"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name}}
}

// autoCreateSetting is action.auto_create_index: true, false, or a list of
// +pattern/-pattern where the first match decides. Source: AutoCreateIndex.
type autoCreateSetting struct {
	all      bool
	patterns []string
	raw      string
}

func parseAutoCreate(v string) autoCreateSetting {
	switch v {
	case "", "true":
		return autoCreateSetting{all: true, raw: "true"}
	case "false":
		return autoCreateSetting{raw: "false"}
	}
	return autoCreateSetting{patterns: strings.Split(v, ","), raw: v}
}

// mayAutoCreate is AutoCreateIndex.shouldAutoCreate for a name that does
// not exist: a matching template's allow_auto_create decides, else the
// cluster setting (which does not stop data streams).
func (s *Server) mayAutoCreate(name string) error {
	t := s.findTemplate(name)
	if t != nil && t.allowAutoCreate != nil {
		if *t.allowAutoCreate {
			return nil
		}
		e := indexNotFound(name)
		e.Reason = fmt.Sprintf("no such index [%s] and composable template [%s] forbids index auto creation", name, strings.Join(t.patterns, ", "))
		return e
	}
	if t != nil && t.dataStream {
		return nil
	}
	ac := s.autoCreate
	if ac.all {
		return nil
	}
	e := indexNotFound(name)
	if len(ac.patterns) == 0 {
		e.Reason = fmt.Sprintf("no such index [%s] and [action.auto_create_index] is [false]", name)
		return e
	}
	for _, p := range ac.patterns {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "-")
		if globMatch(strings.TrimLeft(p, "+-"), name) {
			if neg {
				e.Reason = fmt.Sprintf("no such index [%s] and [action.auto_create_index] contains [%s] which forbids automatic creation of the index", name, p)
				return e
			}
			return nil
		}
	}
	e.Reason = fmt.Sprintf("no such index [%s] and [action.auto_create_index] ([%s]) doesn't match", name, ac.raw)
	return e
}

// refresh makes every document of the index visible to search.
func (ix *index) refresh(now time.Time) {
	ix.visible = len(ix.order)
	ix.lastRefresh = now
}

// searchable returns the documents a search sees: those before the last
// refresh. A search first runs the scheduled refresh when refresh_interval
// has passed since the last one (a shard that was search-idle refreshes
// before answering). Source: index-modules.md, index.refresh_interval and
// index.search.idle.after.
func (ix *index) searchable(now time.Time) []*document {
	if ix.refreshInterval >= 0 && now.Sub(ix.lastRefresh) >= ix.refreshInterval {
		ix.refresh(now)
	}
	return ix.order[:ix.visible]
}

// --- index and data stream APIs ---

func (s *Server) createIndex(c *call) {
	name := c.params["index"]
	var body struct {
		Settings json.RawMessage `json:"settings"`
		Mappings json.RawMessage `json:"mappings"`
		Aliases  json.RawMessage `json:"aliases"`
	}
	if len(c.body) > 0 {
		if err := strictKeys(c.body, "create_index", "settings", "mappings", "aliases"); err != nil {
			writeErr(c.w, 400, err.(esError))
			return
		}
		_ = json.Unmarshal(c.body, &body)
	}
	settings, err := parseSettings(body.Settings)
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	var m *fieldMapping
	if len(body.Mappings) > 0 {
		if m, err = parseMapping(body.Mappings); err != nil {
			writeErr(c.w, 400, err.(esError))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.allowIndex(c, "indices:admin/create", name) {
		return
	}
	if _, ok := s.indices[name]; ok {
		writeError(c.w, 400, "resource_already_exists_exception", fmt.Sprintf("index [%s/estest] already exists", name))
		return
	}
	if _, ok := s.streams[name]; ok {
		writeError(c.w, 400, "invalid_index_name_exception", fmt.Sprintf("Invalid index name [%s], already exists as data stream", name))
		return
	}
	if t := s.findTemplate(name); t != nil && t.dataStream {
		// Source: MetadataCreateIndexService: a create-index request
		// cannot make an index a data-stream template matches.
		writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("cannot create index with name [%s], because it matches with template [%s] that creates data streams only, use create data stream api instead", name, t.name))
		return
	}
	if _, err := s.newIndex(name, "", settings, m); err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	writeJSON(c.w, 200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

func (s *Server) deleteIndex(c *call) {
	expr := c.params["index"]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Source: DestructiveOperations (action.destructive_requires_name,
	// true by default since 8.0).
	if s.destructiveName && (strings.Contains(expr, "*") || expr == "_all") {
		writeError(c.w, 400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed")
		return
	}
	var targets []*index
	for _, name := range strings.Split(expr, ",") {
		if ds, ok := s.streams[name]; ok && !strings.Contains(name, "*") {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("The provided expression [%s] matches a data stream, specify the corresponding concrete indices instead.", ds.name))
			return
		}
		found, missing := s.resolve(name)
		if len(missing) > 0 {
			writeErr(c.w, 404, indexNotFound(missing[0]))
			return
		}
		targets = append(targets, found...)
	}
	for _, ix := range targets {
		if ds := s.streams[ix.stream]; ds != nil && ds.writeIndex() == ix {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("index [%s] is the write index for data stream [%s] and cannot be deleted", ix.name, ds.name))
			return
		}
		if !s.allowIndex(c, "indices:admin/delete", ix.name) {
			return
		}
	}
	for _, ix := range targets {
		s.dropIndex(ix)
	}
	acknowledged(c.w)
}

func (s *Server) indexExists(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, missing := s.resolve(c.params["index"])
	code := 200
	if len(missing) > 0 || len(found) == 0 {
		code = 404
	}
	c.w.Header().Set("X-Elastic-Product", "Elasticsearch")
	c.w.WriteHeader(code)
}

// nested turns dotted settings into Elasticsearch's nested answer form.
func nested(flat map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		parts := strings.Split(k, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	return out
}

// settingsView renders the settings, only those matching filter (a
// comma-separated list of patterns) when it is set.
func (ix *index) settingsView(filter string) map[string]any {
	flat := map[string]string{"index.provided_name": ix.name, "index.creation_date": strconv.FormatInt(ix.created.UnixMilli(), 10),
		"index.number_of_shards": "1", "index.number_of_replicas": "1", "index.uuid": "estest-" + ix.name}
	for k, v := range ix.settings {
		flat[k] = v
	}
	if ix.mode != "standard" {
		flat["index.mode"] = ix.mode
	}
	if ix.stream != "" {
		flat["index.hidden"] = "true"
	}
	if filter != "" {
		for k := range flat {
			if !slices.ContainsFunc(strings.Split(filter, ","), func(p string) bool { return globMatch(p, k) }) {
				delete(flat, k)
			}
		}
	}
	return nested(flat)
}

// perIndex answers an index read API: one entry per resolved index.
func (s *Server) perIndex(c *call, action string, entry func(*index) any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.resolveFor(c, action, c.params["index"])
	if !ok {
		return
	}
	out := map[string]any{}
	for _, ix := range found {
		out[ix.name] = entry(ix)
	}
	writeJSON(c.w, 200, out)
}

func (s *Server) getIndex(c *call) {
	s.perIndex(c, "indices:admin/get", func(ix *index) any {
		e := map[string]any{"aliases": map[string]any{}, "mappings": ix.mapping.toJSON(), "settings": ix.settingsView("")}
		if ix.stream != "" {
			e["data_stream"] = ix.stream
		}
		return e
	})
}

func (s *Server) getSettings(c *call) {
	s.perIndex(c, "indices:admin/settings/get", func(ix *index) any {
		return map[string]any{"settings": ix.settingsView(c.params["name"])}
	})
}

func (s *Server) getMapping(c *call) {
	s.perIndex(c, "indices:admin/mappings/get", func(ix *index) any { return map[string]any{"mappings": ix.mapping.toJSON()} })
}

// toJSON renders a mapping as GET _mapping shows it.
func (f *fieldMapping) toJSON() map[string]any {
	out := map[string]any{}
	if f.typ != "object" {
		out["type"] = f.typ
	}
	if f.dynamic != "" && f.dynamic != "inherit" && f.dynamic != "true" {
		out["dynamic"] = f.dynamic
	}
	if f.ignoreAbove >= 0 && f.typ != "object" {
		out["ignore_above"] = f.ignoreAbove
	}
	if f.typ == "flattened" && f.depthLimit != 20 {
		out["depth_limit"] = f.depthLimit
	}
	if f.hasValue {
		out["value"] = f.value
	}
	if !f.index {
		out["index"] = false
	}
	if len(f.props) > 0 {
		props := map[string]any{}
		for k, v := range f.props {
			props[k] = v.toJSON()
		}
		out["properties"] = props
	}
	if len(f.fields) > 0 {
		fields := map[string]any{}
		for k, v := range f.fields {
			fields[k] = v.toJSON()
		}
		out["fields"] = fields
	}
	return out
}

func (s *Server) resolveIndex(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.resolveFor(c, "indices:admin/resolve/index", c.params["index"])
	if !ok {
		return
	}
	indices, streams := []any{}, []any{}
	seenDS := map[string]bool{}
	for _, ix := range found {
		e := map[string]any{"name": ix.name, "attributes": []string{"open"}}
		if ix.stream != "" {
			e["attributes"] = []string{"hidden", "open"}
			e["data_stream"] = ix.stream
			if !seenDS[ix.stream] {
				seenDS[ix.stream] = true
				var backing []string
				for _, b := range s.streams[ix.stream].indices {
					backing = append(backing, b.name)
				}
				streams = append(streams, map[string]any{"name": ix.stream, "backing_indices": backing, "timestamp_field": "@timestamp"})
			}
		}
		indices = append(indices, e)
	}
	writeJSON(c.w, 200, map[string]any{"indices": indices, "aliases": []any{}, "data_streams": streams})
}

func (s *Server) createDataStream(c *call) {
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.allowIndex(c, "indices:admin/data_stream/create", name) {
		return
	}
	if _, err := s.newDataStream(name); err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	acknowledged(c.w)
}

func (s *Server) getDataStream(c *call) {
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	names := make([]string, 0, len(s.streams))
	for n := range s.streams {
		if slices.ContainsFunc(strings.Split(name, ","), func(p string) bool { return globMatch(p, n) }) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if !s.allowIndex(c, "indices:admin/data_stream/get", n) {
			return
		}
		ds := s.streams[n]
		var backing []any
		for _, ix := range ds.indices {
			backing = append(backing, map[string]any{"index_name": ix.name, "index_uuid": "estest-" + ix.name, "index_mode": ix.mode})
		}
		out = append(out, map[string]any{"name": n, "timestamp_field": map[string]any{"name": "@timestamp"}, "indices": backing,
			"generation": ds.generation, "status": "GREEN", "template": ds.template, "hidden": false, "system": false,
			"index_mode": ds.writeIndex().mode, "ilm_policy": ds.writeIndex().settings["index.lifecycle.name"]})
	}
	if len(out) == 0 && !strings.Contains(name, "*") {
		writeErr(c.w, 404, indexNotFound(name))
		return
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(c.w, 200, map[string]any{"data_streams": out})
}

func (s *Server) deleteDataStream(c *call) {
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*dataStream
	for _, part := range strings.Split(name, ",") {
		matched := false
		for n, ds := range s.streams {
			if globMatch(part, n) {
				targets, matched = append(targets, ds), true
			}
		}
		if !matched && !strings.Contains(part, "*") {
			writeErr(c.w, 404, indexNotFound(part))
			return
		}
	}
	for _, ds := range targets {
		if !s.allowIndex(c, "indices:admin/data_stream/delete", ds.name) {
			return
		}
	}
	for _, ds := range targets {
		for _, ix := range slices.Clone(ds.indices) {
			s.dropIndex(ix)
		}
		delete(s.streams, ds.name)
	}
	acknowledged(c.w)
}

// rolloverAPI: POST <data stream>/_rollover. Source:
// specification/indices/rollover/IndicesRolloverResponse.ts.
func (s *Server) rolloverAPI(c *call) {
	name := c.params["index"]
	s.mu.Lock()
	defer s.mu.Unlock()
	ds, ok := s.streams[name]
	if !ok {
		writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("rollover target [%s] does not exist", name))
		return
	}
	if !s.allowIndex(c, "indices:admin/rollover", name) {
		return
	}
	old, cur := s.rollover(ds)
	writeJSON(c.w, 200, map[string]any{"acknowledged": true, "shards_acknowledged": true, "old_index": old.name, "new_index": cur.name,
		"rolled_over": true, "dry_run": false, "lazy": false, "conditions": map[string]any{}})
}

func (s *Server) refreshAPI(c *call) {
	expr := c.params["index"]
	if expr == "" {
		expr = "_all"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.resolveFor(c, "indices:admin/refresh", expr)
	if !ok {
		return
	}
	now := s.clock()
	for _, ix := range found {
		ix.refresh(now)
	}
	n := len(found)
	writeJSON(c.w, 200, map[string]any{"_shards": map[string]any{"total": 2 * n, "successful": n, "failed": 0}})
}

// Cluster settings the double knows. Source: the settings reference
// (action.auto_create_index, action.destructive_requires_name,
// cluster.logsdb.enabled).
func (s *Server) setClusterSetting(key, value string) error {
	switch key {
	case "action.auto_create_index":
		s.autoCreate = parseAutoCreate(value)
	case "action.destructive_requires_name":
		s.destructiveName = value != "false"
	case "cluster.logsdb.enabled":
		s.logsdb = value == "true"
	case "cluster.max_shards_per_node":
		n, err := strconv.Atoi(value)
		if value == "" {
			n, err = 1000, nil
		}
		if err != nil || n < 1 {
			return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Failed to parse value [%s] for setting [cluster.max_shards_per_node] must be >= 1", value)}
		}
		s.maxShards = n
	default:
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("persistent setting [%s], not recognized", key)}
	}
	return nil
}

func (s *Server) clusterSettings() map[string]any {
	return nested(map[string]string{"action.auto_create_index": s.autoCreate.raw, "action.destructive_requires_name": strconv.FormatBool(s.destructiveName),
		"cluster.logsdb.enabled": strconv.FormatBool(s.logsdb), "cluster.max_shards_per_node": strconv.Itoa(s.maxShards)})
}

func (s *Server) getClusterSettings(c *call) {
	if !s.allowCluster(c, "cluster:monitor/settings") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(c.w, 200, map[string]any{"persistent": s.clusterSettings(), "transient": map[string]any{}})
}

func (s *Server) putClusterSettings(c *call) {
	if !s.allowCluster(c, "cluster:admin/settings/update") {
		return
	}
	var body struct {
		Persistent map[string]any `json:"persistent"`
		Transient  map[string]any `json:"transient"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		writeError(c.w, 400, "x_content_parse_exception", err.Error())
		return
	}
	flat := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			if v == nil {
				flat[prefix+k] = ""
			} else {
				flat[prefix+k] = fmt.Sprint(v)
			}
		}
	}
	walk("", body.Persistent)
	walk("", body.Transient)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range flat {
		if err := s.setClusterSetting(k, v); err != nil {
			writeErr(c.w, 400, err.(esError))
			return
		}
	}
	writeJSON(c.w, 200, map[string]any{"acknowledged": true, "persistent": body.Persistent, "transient": map[string]any{}})
}
