package estest

import (
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
