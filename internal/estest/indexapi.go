package estest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The index and data stream APIs over the store.

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
