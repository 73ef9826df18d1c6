// Package kibanatest is a test double for the Kibana APIs `auditctl setup`
// calls: the status, spaces, saved objects import and get, and advanced
// settings APIs. Like internal/estest it refuses what Kibana refuses and
// models what it does, each behaviour with its source in elastic/kibana:
//   - core's saved objects import (routes/import.ts, import/lib): a
//     multipart field "file" named *.ndjson; duplicate objects refused;
//     unknown types, bad attributes and missing references reported per
//     object; nothing created while a conflict or missing reference stands;
//   - the document migrator: a coreMigrationVersion newer than Kibana, or a
//     typeMigrationVersion newer than the type's latest, fails the whole
//     request with 422;
//   - each type's create schema (saved_search, dashboard model versions);
//   - ui settings: POST/GET /api/kibana/settings, a json setting's value
//     stored as sent, and the browser's JSON.parse of it
//     (core-ui-settings-browser-internal ui_settings_client.ts);
//   - spaces: a /s/<id> prefix on any path (spaces on_request_interceptor);
//   - 9.x's restriction of internal routes (the settings routes are not
//     marked public) to requests with x-elastic-internal-origin.
package kibanatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Server is the double.
type Server struct {
	mu      sync.Mutex
	version string
	latest  map[string]string // type -> latest typeMigrationVersion
	spaces  map[string]*space
	calls   []string
}

type space struct {
	objects  map[string]Object // "type:id"
	settings map[string]json.RawMessage
}

// Object is a saved object as the import API takes it.
type Object struct {
	Type                 string          `json:"type"`
	ID                   string          `json:"id"`
	Attributes           json.RawMessage `json:"attributes"`
	References           []Reference     `json:"references"`
	CoreMigrationVersion string          `json:"coreMigrationVersion,omitempty"`
	TypeMigrationVersion string          `json:"typeMigrationVersion,omitempty"`
	Managed              *bool           `json:"managed,omitempty"`
}

// Reference is one saved object reference.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// New returns a Kibana of a version ("8.17.0") with the latest type versions
// it knows, with the default space.
func New(version string, latest map[string]string) *Server {
	s := &Server{version: version, latest: latest, spaces: map[string]*space{}}
	s.AddSpace("default")
	return s
}

// AddSpace creates a space.
func (s *Server) AddSpace(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spaces[id] = &space{objects: map[string]Object{}, settings: map[string]json.RawMessage{}}
}

// Start serves the double until the test ends.
func (s *Server) Start(tb interface{ Cleanup(func()) }) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(ts.Close)
	return ts
}

// Calls lists "METHOD path" of every request.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Objects returns a space's saved objects, sorted by type and id.
func (s *Server) Objects(spaceID string) []Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.spaces[spaceID]
	if sp == nil {
		return nil
	}
	var out []Object
	for _, o := range sp.objects {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].ID < out[j].Type+out[j].ID })
	return out
}

// Setting returns a setting's stored user value in a space.
func (s *Server) Setting(spaceID, key string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp := s.spaces[spaceID]; sp != nil {
		return sp.settings[key]
	}
	return nil
}

// SetSetting stores a user value as an admin would.
func (s *Server) SetSetting(spaceID, key string, value json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spaces[spaceID].settings[key] = value
}

// BrowserJSONSetting does what Kibana's browser client does with a json
// setting: JSON.parse of the stored value. A value stored as an array, not
// a string, is turned into "[object Object],…" by JSON.parse and throws:
// the time picker breaks for every user of the space.
func (s *Server) BrowserJSONSetting(spaceID, key string, dst any) error {
	raw := s.Setting(spaceID, key)
	if raw == nil {
		return fmt.Errorf("%s has no user value", key)
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		return fmt.Errorf("SyntaxError: JSON.parse: the stored value of %s is %s, not a string", key, firstByteKind(raw))
	}
	if err := json.Unmarshal([]byte(str), dst); err != nil {
		return fmt.Errorf("SyntaxError: JSON.parse: %v", err)
	}
	return nil
}

func firstByteKind(raw json.RawMessage) string {
	switch bytes.TrimSpace(raw)[0] {
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "not a string"
}

var spacePrefix = regexp.MustCompile(`^/s/([a-z0-9_\-]+)(/.*)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	spaceID, path := "default", r.URL.Path
	if m := spacePrefix.FindStringSubmatch(path); m != nil {
		spaceID, path = m[1], m[2]
	}
	if r.Method != http.MethodGet && r.Header.Get("kbn-xsrf") == "" {
		boom(w, 400, "Request must contain a kbn-xsrf header.")
		return
	}
	s.mu.Lock()
	sp := s.spaces[spaceID]
	s.mu.Unlock()
	switch {
	case path == "/api/status" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"name": "kibanatest", "version": map[string]any{"number": s.version, "build_flavor": "traditional"},
			"status": map[string]any{"overall": map[string]any{"level": "available"}}})
	case strings.HasPrefix(path, "/api/spaces/space/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(path, "/api/spaces/space/")
		s.mu.Lock()
		_, ok := s.spaces[id]
		s.mu.Unlock()
		if !ok {
			boom(w, 404, "Saved object [space/"+id+"] not found")
			return
		}
		writeJSON(w, 200, map[string]any{"id": id, "name": id, "disabledFeatures": []string{}})
	case sp == nil:
		// Source: the spaces plugin answers for a space that does not
		// exist with 404 on its app and API routes.
		boom(w, 404, "Not Found")
	case path == "/api/saved_objects/_import" && r.Method == http.MethodPost:
		s.importObjects(w, r, sp)
	case strings.HasPrefix(path, "/api/saved_objects/") && r.Method == http.MethodGet:
		parts := strings.Split(strings.TrimPrefix(path, "/api/saved_objects/"), "/")
		if len(parts) != 2 {
			boom(w, 404, "Not Found")
			return
		}
		s.mu.Lock()
		o, ok := sp.objects[parts[0]+":"+parts[1]]
		s.mu.Unlock()
		if !ok {
			boom(w, 404, fmt.Sprintf("Saved object [%s/%s] not found", parts[0], parts[1]))
			return
		}
		writeJSON(w, 200, o)
	case path == "/api/kibana/settings":
		if s.major() >= 9 && r.Header.Get("x-elastic-internal-origin") == "" {
			// Source: core http lifecycle_handlers.ts,
			// createRestrictInternalRoutesPostAuthHandler (on by default
			// from 9.0); the settings routes are internal access.
			boom(w, 400, fmt.Sprintf("uri [%s] with method [%s] exists but is not available with the current configuration", r.URL.Path, strings.ToLower(r.Method)))
			return
		}
		s.settings(w, r, sp)
	case path == "/internal/kibana/settings":
		if !s.atLeast(8, 10) {
			boom(w, 404, "Not Found") // elastic/kibana#160499 added it in 8.10
			return
		}
		s.settings(w, r, sp)
	default:
		boom(w, 404, "Not Found")
	}
}

func (s *Server) major() int {
	n, _ := strconv.Atoi(strings.SplitN(s.version, ".", 2)[0])
	return n
}

func (s *Server) atLeast(major, minor int) bool {
	return compareVersions(s.version, fmt.Sprintf("%d.%d.0", major, minor)) >= 0
}

// compareVersions compares dotted versions numerically.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

var semver = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

type importError struct {
	ID    string         `json:"id"`
	Type  string         `json:"type"`
	Title string         `json:"title,omitempty"`
	Meta  map[string]any `json:"meta"`
	Error map[string]any `json:"error"`
}

// importObjects: POST /api/saved_objects/_import.
func (s *Server) importObjects(w http.ResponseWriter, r *http.Request, sp *space) {
	q := r.URL.Query()
	overwrite, copies := q.Get("overwrite") == "true", q.Get("createNewCopies") == "true"
	if overwrite && copies {
		boom(w, 400, "cannot use [overwrite] with [createNewCopies]")
		return
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		boom(w, 415, "Unsupported Media Type")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "file" {
		boom(w, 400, "[request body.file]: expected value of type [Stream] but got [undefined]")
		return
	}
	if ext := part.FileName()[strings.LastIndexByte(part.FileName(), '.')+1:]; ext != "ndjson" || !strings.Contains(part.FileName(), ".") {
		boom(w, 400, "Invalid file extension ."+ext)
		return
	}
	raw, _ := io.ReadAll(part)
	var objs []Object
	seen := map[string]bool{}
	var dups []string
	for i, line := range bytes.Split(raw, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(line, &probe); err != nil {
			boom(w, 400, fmt.Sprintf("Unexpected token in JSON at line %d", i+1))
			return
		}
		if _, summary := probe["exportedCount"]; summary {
			continue
		}
		var o Object
		if err := json.Unmarshal(line, &o); err != nil {
			boom(w, 400, fmt.Sprintf("line %d: %v", i+1, err))
			return
		}
		key := o.Type + ":" + o.ID
		if seen[key] {
			dups = append(dups, key)
		}
		seen[key] = true
		objs = append(objs, o)
	}
	if len(dups) > 0 {
		boom(w, 400, fmt.Sprintf("Non-unique import objects detected: [%s]", strings.Join(dups, ",")))
		return
	}
	// Version checks run in the migrator outside the per-object handling:
	// the whole request fails (document_migrator pipelines/utils.ts).
	for _, o := range objs {
		if o.CoreMigrationVersion != "" {
			if !semver.MatchString(o.CoreMigrationVersion) {
				boom(w, 422, fmt.Sprintf(`Document "%s" has an invalid "coreMigrationVersion" [%s]. This must be a semver value.`, o.ID, o.CoreMigrationVersion))
				return
			}
			if compareVersions(o.CoreMigrationVersion, s.version) > 0 {
				boom(w, 422, fmt.Sprintf(`Document "%s" has a "coreMigrationVersion" which belongs to a more recent version of Kibana [%s]. The current version is [%s].`, o.ID, o.CoreMigrationVersion, s.version))
				return
			}
		}
		if latest, ok := s.latest[o.Type]; ok && o.TypeMigrationVersion != "" && compareVersions(o.TypeMigrationVersion, latest) > 0 {
			boom(w, 422, fmt.Sprintf(`Document "%s" belongs to a more recent version of Kibana [%s] when the last known version is [%s].`, o.ID, o.TypeMigrationVersion, latest))
			return
		}
	}
	var errs []importError
	var ok []Object
	resolvable := false
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objs {
		title := titleOf(o)
		fail := func(e map[string]any) {
			errs = append(errs, importError{ID: o.ID, Type: o.Type, Title: title, Meta: map[string]any{"title": title}, Error: e})
		}
		if _, known := s.latest[o.Type]; !known {
			fail(map[string]any{"type": "unsupported_type"})
			continue
		}
		var missing []map[string]string
		for _, ref := range o.References {
			if !seen[ref.Type+":"+ref.ID] {
				if _, exists := sp.objects[ref.Type+":"+ref.ID]; !exists {
					missing = append(missing, map[string]string{"type": ref.Type, "id": ref.ID})
				}
			}
		}
		if len(missing) > 0 {
			fail(map[string]any{"type": "missing_references", "references": missing})
			resolvable = true
			continue
		}
		if _, exists := sp.objects[o.Type+":"+o.ID]; exists && !overwrite {
			fail(map[string]any{"type": "conflict"})
			resolvable = true
			continue
		}
		if msg := validate(o); msg != "" {
			fail(map[string]any{"type": "unknown", "message": msg, "statusCode": 400})
			continue
		}
		ok = append(ok, o)
	}
	// Source: import/lib/create_saved_objects.ts: with any resolvable
	// error, nothing at all is created.
	var results []map[string]any
	if !resolvable {
		for _, o := range ok {
			sp.objects[o.Type+":"+o.ID] = o
			results = append(results, map[string]any{"type": o.Type, "id": o.ID, "meta": map[string]any{"title": titleOf(o)}, "overwrite": overwrite})
		}
	}
	if errs == nil {
		errs = []importError{}
	}
	writeJSON(w, 200, map[string]any{"success": len(errs) == 0, "successCount": len(results), "successResults": results, "errors": errs, "warnings": []any{}})
}

func titleOf(o Object) string {
	var a struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(o.Attributes, &a)
	return a.Title
}

// schemas: the attributes each type's create schema allows (unknown keys
// refused) and requires. Sources: saved_search server/saved_objects/
// schema.ts (model versions 1-5, 8.17) and dashboard's schema/v1 (8.17).
var schemas = map[string]struct{ allowed, required []string }{
	"search": {
		allowed: []string{"title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "sampleSize", "headerRowHeight",
			"hideChart", "breakdownField", "kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "timeRange",
			"refreshInterval", "viewMode", "hideAggregatedPreview", "visContext", "density", "hits", "version"},
		required: []string{"title", "kibanaSavedObjectMeta"},
	},
	"dashboard": {
		allowed: []string{"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo", "refreshInterval",
			"controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"},
		required: []string{"title"},
	},
	"index-pattern": {required: []string{"title"}},
	"lens":          {required: []string{"title", "visualizationType", "state"}},
	"visualization": {required: []string{"title", "visState"}},
}

// validate applies the type's create schema and checks the JSON-in-string
// attributes parse.
func validate(o Object) string {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(o.Attributes, &attrs); err != nil {
		return "attributes: expected an object"
	}
	sc := schemas[o.Type]
	for _, k := range sc.required {
		if _, ok := attrs[k]; !ok {
			return fmt.Sprintf("[attributes.%s]: expected value of type [string] but got [undefined]", k)
		}
	}
	if sc.allowed != nil {
		for k := range attrs {
			if !slices.Contains(sc.allowed, k) {
				return fmt.Sprintf("[attributes.%s]: definition for this key is missing", k)
			}
		}
	}
	for _, k := range []string{"panelsJSON", "optionsJSON", "visState", "uiStateJSON", "fields", "fieldFormatMap", "runtimeFieldMap"} {
		if v, ok := attrs[k]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil || !json.Valid([]byte(s)) {
				return fmt.Sprintf("[attributes.%s]: expected a JSON string", k)
			}
		}
	}
	if meta, ok := attrs["kibanaSavedObjectMeta"]; ok {
		var m struct {
			SearchSourceJSON *string `json:"searchSourceJSON"`
		}
		if json.Unmarshal(meta, &m) != nil || (o.Type == "search" && m.SearchSourceJSON == nil) {
			return "[attributes.kibanaSavedObjectMeta.searchSourceJSON]: expected value of type [string] but got [undefined]"
		}
		if m.SearchSourceJSON != nil && !json.Valid([]byte(*m.SearchSourceJSON)) {
			return "[attributes.kibanaSavedObjectMeta.searchSourceJSON]: not JSON"
		}
	}
	return ""
}

// settings: GET and POST /api/kibana/settings. GET answers only user-set
// values; POST validates a known setting and stores the value as sent.
func (s *Server) settings(w http.ResponseWriter, r *http.Request, sp *space) {
	if r.Method == http.MethodPost {
		var body struct {
			Changes map[string]json.RawMessage `json:"changes"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Changes == nil {
			boom(w, 400, "[request body.changes]: expected value of type [object] but got [undefined]")
			return
		}
		for k, v := range body.Changes {
			if k == "timepicker:quickRanges" && string(v) != "null" {
				if msg := validQuickRanges(v, s.major()); msg != "" {
					boom(w, 400, "[validation [timepicker:quickRanges]]: "+msg)
					return
				}
			}
		}
		s.mu.Lock()
		for k, v := range body.Changes {
			if string(v) == "null" {
				delete(sp.settings, k)
			} else {
				sp.settings[k] = v
			}
		}
		s.mu.Unlock()
	} else if r.Method != http.MethodGet {
		boom(w, 404, "Not Found")
		return
	}
	s.mu.Lock()
	out := map[string]any{"buildNum": map[string]any{"userValue": 80000}}
	for k, v := range sp.settings {
		out[k] = map[string]any{"userValue": v}
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"settings": out})
}

// validQuickRanges is the setting's schema: an array (a string is parsed
// first, as config-schema does) of objects with exactly from, to and
// display; at most 50 entries on 9.x.
func validQuickRanges(v json.RawMessage, major int) string {
	var str string
	if json.Unmarshal(v, &str) == nil {
		v = json.RawMessage(str)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return "expected value of type [array]"
	}
	if major >= 9 && len(items) > 50 {
		return fmt.Sprintf("array size is [%d], but cannot be greater than [50]", len(items))
	}
	for i, it := range items {
		for _, k := range []string{"from", "to", "display"} {
			var s string
			if json.Unmarshal(it[k], &s) != nil {
				return fmt.Sprintf("[%d.%s]: expected value of type [string]", i, k)
			}
		}
		for k := range it {
			if k != "from" && k != "to" && k != "display" {
				return fmt.Sprintf("[%d.%s]: definition for this key is missing", i, k)
			}
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// boom answers in Kibana's error shape (@hapi/boom).
func boom(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"statusCode": code, "error": http.StatusText(code), "message": msg})
}
