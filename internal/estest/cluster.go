package estest

import (
	"encoding/json"
	"fmt"
	"strconv"
)

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
