package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	pathpkg "path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// maxIDBytes is DocWriteRequest.MAX_DOCUMENT_ID_LENGTH_IN_BYTES.
const maxIDBytes = 512

// bulkOp is one action of a bulk request.
type bulkOp struct {
	action    string // create or index
	index, id string
	hasID     bool
	doc       []byte
	requireDS *bool
	unknown   string // a metadata key Elasticsearch does not know
}

// item is one bulk item's answer.
type item struct {
	action        string
	index, id     string
	status, seqNo int
	updated       bool
	err           esError
}

// bulk serves POST [/<index>]/_bulk. Sources: specification/_global/bulk
// (BulkRequest.ts, BulkResponse.ts), BulkRequest.validate (the whole
// request is refused when one item fails validation), BulkOperation and
// TransportBulkAction (auto-creation, then per-item writes), and
// docs/reference/elasticsearch/rest-apis/api-conventions (filter_path).
func (s *Server) bulk(c *call) {
	drop, answered := s.bulkFault(c)
	if answered {
		return
	}
	requireDS := c.query("require_data_stream") == "true"
	if len(c.body) > 0 && c.body[len(c.body)-1] != '\n' {
		writeError(c.w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		return
	}
	ops, err := parseBulk(c.body, c.params["index"])
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	if len(ops) == 0 {
		writeError(c.w, 400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
		return
	}
	// Source: DocWriteRequest.validateDocIdLength, gathered over every
	// item by BulkRequest.validate: one long id refuses the whole request.
	var problems []string
	for _, o := range ops {
		if n := len(o.id); n > maxIDBytes {
			problems = append(problems, fmt.Sprintf("id [%s] is too long, must be no longer than 512 bytes but was: %d", o.id, n))
		}
	}
	if len(problems) > 0 {
		var b strings.Builder
		b.WriteString("Validation Failed: ")
		for i, p := range problems {
			fmt.Fprintf(&b, "%d: %s;", i+1, p)
		}
		writeError(c.w, 400, "action_request_validation_exception", b.String())
		return
	}
	start := time.Now()
	items := make([]item, len(ops))
	errorsSeen := false
	s.mu.Lock()
	for i, o := range ops {
		if o.requireDS == nil {
			o.requireDS = &requireDS
		}
		items[i] = s.write(c, o)
		errorsSeen = errorsSeen || items[i].status >= 300
	}
	if c.query("refresh") == "true" || c.query("refresh") == "wait_for" || c.query("refresh") == "" && c.r.URL.Query().Has("refresh") {
		now := s.clock()
		for _, it := range items {
			if ix := s.indices[it.index]; ix != nil {
				ix.refresh(now)
			}
		}
	}
	s.mu.Unlock()
	if drop {
		s.count(func(st *Stats) { st.DroppedAnswers++ })
		hijackClose(c.w)
		return
	}
	writeBulkAnswer(c.w, parseFilterPath(c.query("filter_path")), items, errorsSeen, time.Since(start))
}

// parseBulk splits the NDJSON body into operations. Source:
// BulkRequestParser ("Malformed action/metadata line", "The bulk request
// must be terminated by a newline").
func parseBulk(body []byte, defIndex string) ([]bulkOp, error) {
	var ops []bulkOp
	line := 0
	for rest := body; len(rest) > 0; {
		action, next := nextLine(rest)
		rest = next
		line++
		if len(action) == 0 {
			continue
		}
		o, ok := parseAction(action)
		if !ok {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", line)}
		}
		if o.unknown != "" {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Action/metadata line [%d] contains an unknown parameter [%s]", line, o.unknown)}
		}
		if o.action != "create" && o.action != "index" {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Action/metadata line [%d] contains an action [%s] this test double does not speak (only create and index)", line, o.action)}
		}
		if len(rest) == 0 {
			return nil, esError{Type: "illegal_argument_exception", Reason: "The bulk request must be terminated by a newline [\\n]"}
		}
		o.doc, rest = nextLine(rest)
		line++
		if o.index == "" {
			o.index = defIndex
		}
		if o.index == "" {
			return nil, esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: index is missing;"}
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// nextLine splits off one NDJSON line, without its newline.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSpace(b), nil
	}
	return bytes.TrimSpace(b[:i]), b[i+1:]
}

// parseAction reads {"create":{"_index":…,"_id":…}}.
func parseAction(line []byte) (bulkOp, bool) {
	// Fast path for the exact shape the exporter writes.
	if rest, ok := bytes.CutPrefix(line, []byte(`{"create":{"_index":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			idx, rest := string(rest[:i]), rest[i+1:]
			if rest, ok := bytes.CutPrefix(rest, []byte(`,"_id":"`)); ok {
				if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 && string(rest[j+1:]) == "}}" {
					return bulkOp{action: "create", index: idx, id: string(rest[:j]), hasID: true}, true
				}
			}
		}
	}
	var a map[string]map[string]json.RawMessage
	if err := json.Unmarshal(line, &a); err != nil || len(a) != 1 {
		return bulkOp{}, false
	}
	for name, meta := range a {
		o := bulkOp{action: name}
		for k, v := range meta {
			var err error
			switch k {
			case "_index":
				err = json.Unmarshal(v, &o.index)
			case "_id":
				o.hasID = true
				err = json.Unmarshal(v, &o.id)
			case "require_data_stream":
				o.requireDS = new(bool)
				err = json.Unmarshal(v, o.requireDS)
			case "routing", "require_alias", "pipeline", "dynamic_templates", "list_executed_pipelines", "if_seq_no", "if_primary_term", "version", "version_type":
			default:
				// Source: BulkRequestParser ("Action/metadata line [N]
				// contains an unknown parameter [x]").
				o.unknown = k
			}
			if err != nil {
				return bulkOp{}, false
			}
		}
		return o, true
	}
	return bulkOp{}, false
}

// write executes one item; s.mu is held.
func (s *Server) write(c *call, o bulkOp) item {
	s.stats.Items++
	it := item{action: o.action, index: o.index, id: o.id}
	fail := func(status int, e esError) item {
		it.status, it.err = status, e
		return it
	}
	if !o.hasID {
		s.seq++
		it.id = fmt.Sprintf("estest%014d", s.seq)
		o.id = it.id
	}
	switch {
	case o.hasID && o.id == "":
		return fail(400, esError{Type: "illegal_argument_exception", Reason: "if _id is specified it must not be empty"})
	}
	if status, e, ok := s.itemFault(c, o); ok {
		return fail(status, e)
	}
	ix, status, err := s.target(c, o)
	if err == nil && !s.mayWrite(c, o) {
		status, err = 403, indexDenied(c.user, "indices:data/write/index:op_type/"+o.action, o.index)
	}
	if err != nil {
		if status == 403 {
			s.stats.Forbidden++
		}
		return fail(status, err.(esError))
	}
	it.index = ix.name
	if err := ix.check.runWith(o.id, o.doc); err != nil {
		s.stats.Rejected++
		return fail(400, err.(esError))
	}
	it.status = 201
	if _, exists := ix.docs[o.id]; exists {
		if o.action == "create" {
			s.stats.Conflicts++
			// Source: VersionConflictEngineException.
			return fail(409, esError{Type: "version_conflict_engine_exception", Reason: fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", o.id)})
		}
		it.status, it.updated = 200, true // an index op replaces the document
	}
	s.store(ix, o)
	it.seqNo = len(ix.order) - 1
	if ds := s.streams[ix.stream]; ds != nil && c.faults.RolloverEveryDocs > 0 && len(ix.docs) >= c.faults.RolloverEveryDocs {
		s.rollover(ds)
	}
	return it
}

// target finds or auto-creates the index an item writes to; s.mu is held.
// It returns the item's status and error when that fails.
func (s *Server) target(c *call, o bulkOp) (*index, int, error) {
	requireDS := o.requireDS != nil && *o.requireDS
	if ds, ok := s.streams[o.index]; ok {
		if o.action != "create" {
			return nil, 400, esError{Type: "illegal_argument_exception", Reason: "only write ops with an op_type of create are allowed in data streams"}
		}
		return ds.writeIndex(), 0, nil
	}
	if ix, ok := s.indices[o.index]; ok {
		if requireDS {
			// Source: BulkOperation, 190_require_data_stream.yml.
			return nil, 404, esError{Type: "resource_not_found_exception", Reason: fmt.Sprintf("[require_data_stream] request flag is [true] and [%s] is not a data stream", o.index)}
		}
		if ix.stream != "" && o.action == "index" {
			return nil, 400, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("index request with op_type=index and no if_primary_term and if_seq_no set targeting backing indices is disallowed, target corresponding data stream [%s] instead", ix.stream)}
		}
		return ix, 0, nil
	}
	// Auto-creation. Source: TransportBulkAction / AutoCreateAction.
	if err := validateIndexName(o.index); err != nil {
		return nil, 400, err
	}
	t := s.findTemplate(o.index)
	if requireDS && (t == nil || !t.dataStream) {
		e := indexNotFound(o.index)
		e.Reason = fmt.Sprintf("no such index [%s] and the index creation request requires a data stream, but no matching index template with data stream template was found for it", o.index)
		return nil, 404, e
	}
	if err := s.mayAutoCreate(o.index); err != nil {
		return nil, 404, err
	}
	if s.sec != nil && c.user != nil && !s.sec.may(c.user, "indices:admin/auto_create", o.index, false) {
		return nil, 403, indexDenied(c.user, "indices:admin/auto_create", o.index)
	}
	if t == nil || t.builtin {
		s.stats.UntemplatedWrites++
	}
	if t == nil || !t.dataStream {
		ix, err := s.newIndex(o.index, "", nil, nil)
		if err != nil {
			return nil, 400, err
		}
		return ix, 0, nil
	}
	if o.action != "create" {
		return nil, 400, esError{Type: "illegal_argument_exception", Reason: "only write ops with an op_type of create are allowed in data streams"}
	}
	ds, err := s.newDataStream(o.index)
	if err != nil {
		return nil, 400, err
	}
	return ds.writeIndex(), 0, nil
}

func (s *Server) mayWrite(c *call, o bulkOp) bool {
	return s.sec == nil || c.user == nil || s.sec.may(c.user, "indices:data/write/index:op_type/"+o.action, o.index, false)
}

// store adds a checked document; s.mu is held.
func (s *Server) store(ix *index, o bulkOp) {
	for _, p := range ix.check.constants {
		ix.constants[p.f] = p.value
	}
	s.seq++
	d := &document{id: o.id, seq: s.seq}
	if t, ok := docTime(o.doc); ok {
		d.ts = t.UnixNano()
	}
	if s.keepSource {
		d.src = bytes.Clone(o.doc)
	}
	if old, ok := ix.docs[o.id]; ok {
		// An index op: the new version takes the old one's place.
		ix.order = slices.DeleteFunc(ix.order, func(x *document) bool { return x == old })
		ix.visible = min(ix.visible, len(ix.order))
	}
	ix.docs[o.id] = d
	ix.order = append(ix.order, d)
	if first, seen := s.ids[o.id]; seen && first != ix.name {
		s.stats.Duplicates++
	} else if !seen {
		s.ids[o.id] = ix.name
	}
	s.stats.Created++
	if s.latency != nil {
		if t, ok := docTime(o.doc); ok {
			s.latency.add(time.Since(t))
		}
	}
}

var tsPrefix = []byte(`{"@timestamp":"`)

func docTime(doc []byte) (time.Time, bool) {
	if !bytes.HasPrefix(doc, tsPrefix) {
		return time.Time{}, false
	}
	rest := doc[len(tsPrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	return t, err == nil
}

func writeBulkAnswer(w http.ResponseWriter, fp filterPath, items []item, errorsSeen bool, took time.Duration) {
	out := make([]byte, 0, 64+len(items)*200)
	out = append(out, '{')
	n := 0
	if fp.keep("took") {
		out, n = appendKey(out, n, "took")
		out = strconv.AppendInt(out, took.Milliseconds(), 10)
	}
	if fp.keep("errors") {
		out, n = appendKey(out, n, "errors")
		out = strconv.AppendBool(out, errorsSeen)
	}
	if fp.keep("items") || fp.descends("items") {
		start := len(out)
		out, _ = appendKey(out, n, "items")
		out = append(out, '[')
		written := 0
		for _, it := range items {
			mark := len(out)
			if written > 0 {
				out = append(out, ',')
			}
			var ok bool
			if out, ok = it.appendJSON(out, fp); ok {
				written++
			} else {
				// filter_path drops objects it leaves empty, array
				// elements included.
				out = out[:mark]
			}
		}
		out = append(out, ']')
		if written == 0 && !fp.keep("items") {
			out = out[:start]
		}
	}
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(200)
	_, _ = w.Write(out)
}

// filterPath is Elasticsearch's filter_path response filtering: dotted
// paths whose segments may be "*" wildcards; a path keeps what is under it.
type filterPath [][]string

func parseFilterPath(q string) filterPath {
	if q == "" {
		return nil
	}
	var fp filterPath
	for _, p := range strings.Split(q, ",") {
		if p = strings.TrimSpace(p); p != "" {
			fp = append(fp, strings.Split(p, "."))
		}
	}
	return fp
}

// keep reports whether the value at path is kept whole.
func (fp filterPath) keep(path ...string) bool {
	if fp == nil {
		return true
	}
	for _, p := range fp {
		if len(p) <= len(path) && segmentsMatch(p, path[:len(p)]) {
			return true
		}
	}
	return false
}

// descends reports whether some of what is under path is kept.
func (fp filterPath) descends(path ...string) bool {
	for _, p := range fp {
		if len(p) > len(path) && segmentsMatch(p[:len(path)], path) {
			return true
		}
	}
	return false
}

func segmentsMatch(pattern, path []string) bool {
	for i := range pattern {
		if pattern[i] == "*" || pattern[i] == path[i] {
			continue
		}
		if ok, _ := pathpkg.Match(pattern[i], path[i]); !ok {
			return false
		}
	}
	return true
}

func appendKey(b []byte, n int, key string) ([]byte, int) {
	if n > 0 {
		b = append(b, ',')
	}
	b = appendQuote(b, key)
	return append(b, ':'), n + 1
}

// appendQuote writes s as a JSON string (strconv's quoting is Go's, not JSON's).
func appendQuote(b []byte, s string) []byte {
	out, _ := jsontext.AppendQuote(b, s) // invalid UTF-8 becomes U+FFFD
	return out
}

// appendJSON writes the item as Elasticsearch does, in its key order,
// keeping what fp keeps; ok is false when nothing was kept.
func (it item) appendJSON(b []byte, fp filterPath) ([]byte, bool) {
	op := it.action
	b = append(b, `{"`...)
	b = append(b, op...)
	b = append(b, `":{`...)
	n := 0
	str := func(key, v string, path ...string) {
		if fp.keep(path...) {
			b, n = appendKey(b, n, key)
			b = appendQuote(b, v)
		}
	}
	num := func(key string, v int, path ...string) {
		if fp.keep(path...) {
			b, n = appendKey(b, n, key)
			b = strconv.AppendInt(b, int64(v), 10)
		}
	}
	str("_index", it.index, "items", op, "_index")
	str("_id", it.id, "items", op, "_id")
	if it.err.Type != "" {
		num("status", it.status, "items", op, "status")
		if fp.keep("items", op, "error") || fp.descends("items", op, "error") {
			b, n = appendKey(b, n, "error")
			outer := n
			b, n = append(b, '{'), 0
			str("type", it.err.Type, "items", op, "error", "type")
			str("reason", it.err.Reason, "items", op, "error", "reason")
			for _, k := range []string{"index_uuid", "shard", "index"} {
				v := map[string]string{"index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": it.index}[k]
				if x, ok := it.err.Extra[k].(string); ok {
					v = x
				}
				str(k, v, "items", op, "error", k)
			}
			if cause, ok := it.err.Extra["caused_by"]; ok && fp.keep("items", op, "error", "caused_by") {
				raw, _ := json.Marshal(cause)
				b, n = appendKey(b, n, "caused_by")
				b = append(b, raw...)
			}
			b, n = append(b, '}'), outer
		}
		return append(b, "}}"...), n > 0
	}
	num("_version", 1, "items", op, "_version")
	str("result", map[bool]string{false: "created", true: "updated"}[it.updated], "items", op, "result")
	if fp.keep("items", op, "_shards") {
		b, n = appendKey(b, n, "_shards")
		b = append(b, `{"total":2,"successful":1,"failed":0}`...)
	}
	num("_seq_no", it.seqNo, "items", op, "_seq_no")
	num("_primary_term", 1, "items", op, "_primary_term")
	num("status", it.status, "items", op, "status")
	return append(b, "}}"...), n > 0
}
