package estest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type ilmPolicy struct {
	raw    json.RawMessage
	phases map[string]*ilmPhase
}

type ilmPhase struct {
	minAge  time.Duration
	actions map[string]json.RawMessage
}

// phaseActions are the actions each phase allows. Source:
// x-pack/plugin/core/.../ilm/TimeseriesLifecycleType.java.
var phaseActions = map[string][]string{
	"hot":    {"set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"},
	"warm":   {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
	"cold":   {"set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate", "freeze"},
	"frozen": {"unfollow", "searchable_snapshot"},
	"delete": {"wait_for_snapshot", "delete"},
}

var phaseOrder = []string{"hot", "warm", "cold", "frozen", "delete"}

// actionParams are the parameters of the actions the double parses
// closely; others are accepted as objects.
var actionParams = map[string][]string{
	"rollover": {"max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs",
		"min_age", "min_docs", "min_size", "min_primary_shard_size", "min_primary_shard_docs"},
	"delete":       {"delete_searchable_snapshot"},
	"set_priority": {"priority"},
	"readonly":     {},
	"forcemerge":   {"max_num_segments", "index_codec"},
}

// parseTimeValue is TimeValue.parseTimeValue: an integer and one of the
// units nanos, micros, ms, s, m, h, d (m is case-sensitive: M would be
// months); "-1" and "0" alone are allowed.
func parseTimeValue(setting, v string) (time.Duration, error) {
	bad := func(why string) error {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("failed to parse setting [%s] with value [%s] as a time value: %s", setting, v, why)}
	}
	switch v {
	case "-1":
		return -1, nil
	case "0", "00":
		return 0, nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		lower := strings.ToLower(v)
		if u.suffix == "m" {
			lower = v // "M" is months, refused
		}
		if !strings.HasSuffix(lower, u.suffix) {
			continue
		}
		num := strings.TrimSpace(v[:len(v)-len(u.suffix)])
		if strings.Contains(num, ".") {
			return 0, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("failed to parse [%s], fractional time values are not supported", v)}
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, bad("unit is missing or unrecognized")
		}
		if n < 0 {
			return 0, bad("negative durations are not supported")
		}
		return time.Duration(n) * u.d, nil
	}
	return 0, bad("unit is missing or unrecognized")
}

var byteSize = regexp.MustCompile(`(?i)^[0-9]+(b|kb|mb|gb|tb|pb)$`)

func parseILMPolicy(name string, raw []byte) (*ilmPolicy, error) {
	if err := strictKeys(raw, "put_lifecycle_request", "policy"); err != nil {
		return nil, err
	}
	var body struct {
		Policy json.RawMessage `json:"policy"`
	}
	_ = json.Unmarshal(raw, &body)
	if len(body.Policy) == 0 {
		return nil, esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: policy is missing;"}
	}
	if err := strictKeys(body.Policy, "lifecycle_policy", "phases", "_meta", "deprecated"); err != nil {
		return nil, err
	}
	var pol struct {
		Phases map[string]json.RawMessage `json:"phases"`
	}
	if err := json.Unmarshal(body.Policy, &pol); err != nil {
		return nil, esError{Type: "x_content_parse_exception", Reason: "[put_lifecycle_request] failed to parse field [policy]: " + err.Error()}
	}
	p := &ilmPolicy{raw: append(json.RawMessage(nil), raw...), phases: map[string]*ilmPhase{}}
	for phaseName, rawPhase := range pol.Phases {
		if err := strictKeys(rawPhase, "phase", "min_age", "actions"); err != nil {
			return nil, err
		}
		var ph struct {
			MinAge  *string                    `json:"min_age"`
			Actions map[string]json.RawMessage `json:"actions"`
		}
		if err := json.Unmarshal(rawPhase, &ph); err != nil {
			return nil, esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[phases] failed to parse field [%s]: %v", phaseName, err)}
		}
		phase := &ilmPhase{actions: ph.Actions}
		if ph.MinAge != nil {
			d, err := parseTimeValue("min_age", *ph.MinAge)
			if err != nil {
				return nil, esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[phase] failed to parse field [min_age]"), Extra: map[string]any{"caused_by": err.(esError).object()}}
			}
			phase.minAge = max(d, 0)
		}
		for action, params := range ph.Actions {
			if _, known := knownAction(action); !known {
				// Source: Phase.java parses actions as named objects:
				// NamedObjectNotFoundException "unknown field [x]".
				return nil, esError{Type: "x_content_parse_exception", Reason: "[put_lifecycle_request] failed to parse field [policy]",
					Extra: map[string]any{"caused_by": map[string]any{"type": "named_object_not_found_exception", "reason": fmt.Sprintf("[1:1] unknown field [%s]", action)}}}
			}
			if err := checkAction(action, params); err != nil {
				return nil, err
			}
		}
		p.phases[phaseName] = phase
	}
	return p, validatePolicy(name, p)
}

func knownAction(a string) (string, bool) {
	for _, ph := range phaseOrder {
		if slices.Contains(phaseActions[ph], a) {
			return ph, true
		}
	}
	return "", false
}

func checkAction(action string, raw json.RawMessage) error {
	allowed, strict := actionParams[action]
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[%s] expected an object", action)}
	}
	if strict {
		for k := range m {
			if !slices.Contains(allowed, k) {
				return esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[1:1] [%s] unknown field [%s]", action, k)}
			}
		}
	}
	if action != "rollover" {
		return nil
	}
	hasMax := false
	for k, v := range m {
		var s string
		_ = json.Unmarshal(v, &s)
		switch {
		case strings.HasSuffix(k, "_age"):
			if _, err := parseTimeValue(k, s); err != nil {
				return esError{Type: "x_content_parse_exception", Reason: "[rollover] failed to parse field [" + k + "]", Extra: map[string]any{"caused_by": err.(esError).object()}}
			}
		case strings.HasSuffix(k, "_size"):
			if !byteSize.MatchString(s) {
				return esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[rollover] failed to parse field [%s]: failed to parse setting [%s] with value [%s] as a size in bytes: unit is missing or unrecognized", k, k, s)}
			}
		case strings.HasSuffix(k, "_docs"):
			if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
				return esError{Type: "x_content_parse_exception", Reason: fmt.Sprintf("[rollover] failed to parse field [%s]", k)}
			}
		}
		if strings.HasPrefix(k, "max_") {
			hasMax = true
		}
	}
	if !hasMax {
		// Source: RolloverAction's constructor.
		return esError{Type: "x_content_parse_exception", Reason: "[rollover] failed to parse", Extra: map[string]any{"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "At least one max_* rollover condition must be set."}}}
	}
	return nil
}

// validatePolicy: TimeseriesLifecycleType.validate.
func validatePolicy(name string, p *ilmPolicy) error {
	if strings.ContainsAny(name, ", ") || strings.HasPrefix(name, "_") {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("invalid policy name [%s]: must not contain ',' or ' ' and must not start with '_'", name)}
	}
	for phase, ph := range p.phases {
		allowed, ok := phaseActions[phase]
		if !ok {
			return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Timeseries lifecycle does not support phase [%s]", phase)}
		}
		for a := range ph.actions {
			if !slices.Contains(allowed, a) {
				return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("invalid action [%s] defined in phase [%s]", a, phase)}
			}
		}
	}
	if hot := p.phases["hot"]; hot != nil {
		if _, ok := hot.actions["rollover"]; !ok {
			var need []string
			for _, a := range []string{"readonly", "shrink", "forcemerge", "searchable_snapshot", "downsample"} {
				if _, ok := hot.actions[a]; ok {
					need = append(need, a)
				}
			}
			if len(need) > 0 {
				return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("the [%s] action(s) may not be used in the [hot] phase without an accompanying [rollover] action", strings.Join(need, ","))}
			}
		}
	}
	var prev string
	var prevAge time.Duration
	for _, ph := range phaseOrder {
		p := p.phases[ph]
		if p == nil {
			continue
		}
		if prev != "" && p.minAge < prevAge {
			return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Your policy is configured to run the %s phase (min_age: %s) before the %s phase (min_age: %s). You should change the phase timing so that the phases will execute in the order of hot, warm, then cold.", ph, p.minAge, prev, prevAge)}
		}
		prev, prevAge = ph, p.minAge
	}
	return nil
}

func (s *Server) putILM(c *call) {
	if !s.allowCluster(c, "cluster:admin/ilm/put") {
		return
	}
	p, err := parseILMPolicy(c.params["name"], c.body)
	if err != nil {
		writeErr(c.w, 400, err.(esError))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.ilm[c.params["name"]]; old != nil && strings.Contains(string(old.raw), `"managed":true`) && strings.Contains(c.params["name"], "@") {
		writeError(c.w, 400, "illegal_argument_exception", "policy ["+c.params["name"]+"] is managed by Elasticsearch")
		return
	}
	s.ilm[c.params["name"]] = p
	acknowledged(c.w)
}

func (s *Server) getILM(c *call) {
	if !s.allowCluster(c, "cluster:admin/ilm/get") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ilm[c.params["name"]]
	if !ok {
		writeError(c.w, 404, "resource_not_found_exception", fmt.Sprintf("Lifecycle policy not found: [%s]", c.params["name"]))
		return
	}
	var body struct {
		Policy json.RawMessage `json:"policy"`
	}
	_ = json.Unmarshal(p.raw, &body)
	writeJSON(c.w, 200, map[string]any{c.params["name"]: map[string]any{"version": 1, "policy": body.Policy}})
}

func (s *Server) deleteILM(c *call) {
	if !s.allowCluster(c, "cluster:admin/ilm/delete") {
		return
	}
	name := c.params["name"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ilm[name]; !ok {
		writeError(c.w, 404, "resource_not_found_exception", fmt.Sprintf("Lifecycle policy not found: [%s]", name))
		return
	}
	for _, ix := range s.indices {
		if ix.settings["index.lifecycle.name"] == name {
			writeError(c.w, 400, "illegal_argument_exception", fmt.Sprintf("Cannot delete policy [%s]. It is in use by one or more indices: [%s]", name, ix.name))
			return
		}
	}
	delete(s.ilm, name)
	acknowledged(c.w)
}

// lifecycleDate is when an index's ILM ages count from: its origination
// date when set or parsed from the name, else its rollover time, else its
// creation. Source: IndexLifecycleRunner.calculateOriginationMillis and
// the ILM docs' "How min_age is calculated".
func (ix *index) lifecycleDate() time.Time {
	if !ix.origination.IsZero() {
		return ix.origination
	}
	if !ix.rolledOver.IsZero() {
		return ix.rolledOver
	}
	return ix.created
}

// AdvanceILM runs index lifecycle management once at the double's clock:
// data streams roll over by their hot phase's max_age and max_docs, and
// indices whose lifecycle date is older than their delete phase's min_age
// are deleted (a data stream's write index first has to roll over). It
// returns the names of the deleted indices.
func (s *Server) AdvanceILM() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	for _, ds := range s.streams {
		w := ds.writeIndex()
		p := s.ilm[w.settings["index.lifecycle.name"]]
		if p == nil || p.phases["hot"] == nil {
			continue
		}
		raw, ok := p.phases["hot"].actions["rollover"]
		if !ok {
			continue
		}
		var cond struct {
			MaxAge  string `json:"max_age"`
			MaxDocs int    `json:"max_docs"`
		}
		_ = json.Unmarshal(raw, &cond)
		due := cond.MaxDocs > 0 && len(w.docs) >= cond.MaxDocs
		if cond.MaxAge != "" {
			if d, err := parseTimeValue("max_age", cond.MaxAge); err == nil && now.Sub(w.created) >= d {
				due = true
			}
		}
		// Rollover skips an empty write index. Source: RolloverAction's
		// "min_docs: 1" default in 8.x (ILM does not roll over empty indices).
		if due && len(w.docs) > 0 {
			s.rollover(ds)
		}
	}
	var deleted []string
	for name, ix := range s.indices {
		p := s.ilm[ix.settings["index.lifecycle.name"]]
		if p == nil || p.phases["delete"] == nil {
			continue
		}
		if ds := s.streams[ix.stream]; ds != nil && ds.writeIndex() == ix {
			continue
		}
		if now.Sub(ix.lifecycleDate()) >= p.phases["delete"].minAge {
			s.dropIndex(ix)
			deleted = append(deleted, name)
		}
	}
	slices.Sort(deleted)
	return deleted
}

// explainILM answers GET <index>/_ilm/explain. Source:
// specification/ilm/explain_lifecycle/types.ts (LifecycleExplainManaged).
func (s *Server) explainILM(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, ok := s.resolveFor(c, "indices:admin/ilm/explain", c.params["index"])
	if !ok {
		return
	}
	out := map[string]any{}
	now := s.clock()
	for _, ix := range targets {
		policy := ix.settings["index.lifecycle.name"]
		if policy == "" {
			out[ix.name] = map[string]any{"index": ix.name, "managed": false}
			continue
		}
		e := map[string]any{"index": ix.name, "managed": true, "policy": policy,
			"index_creation_date_millis": ix.created.UnixMilli(), "lifecycle_date_millis": ix.lifecycleDate().UnixMilli(),
			"age": fmt.Sprintf("%dd", int(now.Sub(ix.lifecycleDate()).Hours()/24))}
		if !ix.origination.IsZero() {
			e["origination_date"] = ix.origination.UnixMilli()
		}
		out[ix.name] = e
	}
	writeJSON(c.w, 200, map[string]any{"indices": out})
}
