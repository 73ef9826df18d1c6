package estest

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
)

// control serves the double's own endpoints, for a double in its own
// process (cmd/es-testdouble, the load harness).
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_testdouble/stats":
		writeJSON(w, 200, s.Stats())
	case "/_testdouble/faults":
		if r.Method == http.MethodGet {
			s.mu.Lock()
			f := s.faults
			s.mu.Unlock()
			writeJSON(w, 200, f)
			return
		}
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeError(w, 400, "parse_exception", err.Error())
			return
		}
		s.SetFaults(f)
		writeJSON(w, 200, map[string]any{"acknowledged": true})
	case "/_testdouble/ids":
		s.mu.Lock()
		ids := make([]string, 0, len(s.ids))
		for id := range s.ids {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		sort.Strings(ids)
		writeJSON(w, 200, ids)
	default:
		writeError(w, 404, "not_found", r.URL.Path)
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	if s.latency != nil {
		st.LatencyP50, st.LatencyP99 = s.latency.quantile(0.5), s.latency.quantile(0.99)
	}
	st.Streams = map[string]int64{}
	for n, ix := range s.indices {
		name := n
		if ix.stream != "" {
			name = ix.stream
		}
		st.Streams[name] += int64(len(ix.docs))
	}
	return st
}

// IDs returns the ids stored in the indices an expression names (an index,
// a data stream, a pattern, or several separated by commas), in write
// order.
func (s *Server) IDs(expr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var docs []*document
	for _, ix := range s.resolveAll(expr) {
		docs = append(docs, ix.order...)
	}
	slices.SortFunc(docs, func(a, b *document) int { return int(a.seq - b.seq) })
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.id
	}
	return out
}

// Doc returns a stored document's source (WithSource only) from the
// indices expr names.
func (s *Server) Doc(expr, id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ix := range s.resolveAll(expr) {
		if d, ok := ix.docs[id]; ok {
			return d.src, true
		}
	}
	return nil, false
}

// Indices lists the concrete indices an expression names, sorted.
func (s *Server) Indices(expr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ix := range s.resolveAll(expr) {
		out = append(out, ix.name)
	}
	sort.Strings(out)
	return out
}

// DataStreams lists the data streams, sorted.
func (s *Server) DataStreams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := keys(s.streams)
	return out
}

// Has reports whether an asset exists: kind is "ilm", "component",
// "index_template", "data_stream", "index" or "role".
func (s *Server) Has(kind, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "ilm":
		_, ok := s.ilm[name]
		return ok
	case "component":
		_, ok := s.components[name]
		return ok
	case "role":
		if s.sec == nil {
			return false
		}
		_, ok := s.sec.roles[name]
		return ok
	case "index_template":
		_, ok := s.templates[name]
		return ok
	case "data_stream":
		_, ok := s.streams[name]
		return ok
	case "index":
		_, ok := s.indices[name]
		return ok
	}
	// A misspelt kind would make every "has not" assertion pass.
	panic("estest: Has of unknown kind " + kind)
}

// Asset returns an installed asset's body as it was sent.
func (s *Server) Asset(kind, name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "ilm":
		if p := s.ilm[name]; p != nil {
			return p.raw
		}
	case "component":
		if c := s.components[name]; c != nil {
			return c.raw
		}
	case "role":
		if s.sec != nil {
			if r := s.sec.roles[name]; r != nil {
				return r.raw
			}
		}
	case "index_template":
		if t := s.templates[name]; t != nil {
			return t.raw
		}
	default:
		panic("estest: Asset of unknown kind " + kind)
	}
	return nil
}

// Requests lists "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// SetClusterSetting sets a persistent cluster setting, as PUT
// _cluster/settings does.
func (s *Server) SetClusterSetting(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setClusterSetting(key, value)
}
