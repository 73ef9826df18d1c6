package estest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Faults are the failures the double injects on top of what it models.
// The zero value injects none.
type Faults struct {
	// RequestThrottleFraction of _bulk requests are answered 429 whole.
	RequestThrottleFraction float64 `json:"request_throttle_fraction"`
	// ItemThrottleFraction of bulk items are answered 429.
	ItemThrottleFraction float64 `json:"item_throttle_fraction"`
	// ItemErrorFraction of bulk items are answered 503.
	ItemErrorFraction float64 `json:"item_error_fraction"`
	// ItemForbiddenFraction of bulk items are answered 403, as when the
	// writer's role lost a privilege on the target.
	ItemForbiddenFraction float64 `json:"item_forbidden_fraction"`
	// Outage: "" (none), "503" (every request answered 503) or "close"
	// (every connection closed without an answer).
	Outage string `json:"outage"`
	// Delay is added before every answer.
	Delay time.Duration `json:"delay"`
	// IndexThenDropFraction of _bulk requests are stored, then the
	// connection is closed without an answer: the write landed, the
	// client does not know.
	IndexThenDropFraction float64 `json:"index_then_drop_fraction"`
	// RolloverEveryDocs rolls a data stream over when its write index holds
	// this many documents, as ILM's max_docs condition would.
	RolloverEveryDocs int `json:"rollover_every_docs"`
	// RejectIDSuffix rejects documents whose _id ends with it, with the
	// mapping error real Elasticsearch gives.
	RejectIDSuffix string `json:"reject_id_suffix"`
	// RejectField rejects documents whose source contains this string.
	RejectField string `json:"reject_field"`
	// RejectDeadLetter rejects every write to a dead-letter stream.
	RejectDeadLetter bool `json:"reject_dead_letter"`
	// MaxBodyBytes answers 413 to larger bulk requests, like
	// http.max_content_length.
	MaxBodyBytes int `json:"max_body_bytes"`
	// RejectRequestContaining answers 400 to a whole bulk request whose
	// body contains this string.
	RejectRequestContaining string `json:"reject_request_containing"`
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

func (s *Server) chance(f float64) bool { return f > 0 && s.rnd.Float64() < f }

// outage delays the answer and plays an outage; true when it answered.
func (s *Server) outage(w http.ResponseWriter, f Faults) bool {
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	switch f.Outage {
	case "503":
		s.count(func(st *Stats) { st.OutageAnswers++ })
		writeError(w, http.StatusServiceUnavailable, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];")
		return true
	case "close":
		s.count(func(st *Stats) { st.OutageAnswers++ })
		hijackClose(w)
		return true
	}
	return false
}

// bulkFault plays the faults of a whole _bulk request; answered when it
// answered it, drop when the request is to be stored and its answer lost.
func (s *Server) bulkFault(c *call) (drop, answered bool) {
	f := c.faults
	s.mu.Lock()
	s.stats.BulkRequests++
	throttle := s.chance(f.RequestThrottleFraction)
	drop = !throttle && s.chance(f.IndexThenDropFraction)
	s.mu.Unlock()
	if f.MaxBodyBytes > 0 && len(c.body) > f.MaxBodyBytes {
		// http.max_content_length: Netty answers 413 with no body.
		c.w.Header().Set("X-Elastic-Product", "Elasticsearch")
		c.w.WriteHeader(http.StatusRequestEntityTooLarge)
		return false, true
	}
	if f.RejectRequestContaining != "" && bytes.Contains(c.body, []byte(f.RejectRequestContaining)) {
		writeError(c.w, 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]")
		return false, true
	}
	if throttle {
		s.count(func(st *Stats) { st.Throttled++ })
		writeError(c.w, http.StatusTooManyRequests, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]")
		return false, true
	}
	return drop, false
}

// itemFault plays the faults of one bulk item; ok when it refused it.
// s.mu is held.
func (s *Server) itemFault(c *call, o bulkOp) (status int, e esError, ok bool) {
	f := c.faults
	switch {
	case s.chance(f.ItemThrottleFraction):
		s.stats.Throttled++
		return 429, esError{Type: "es_rejected_execution_exception", Reason: "rejected execution of primary operation [shard_detail=[logs][0][P], shard_operation_bytes=1024] OR [node_write_bytes=0]"}, true
	case s.chance(f.ItemErrorFraction):
		s.stats.ItemErrors++
		return 503, esError{Type: "unavailable_shards_exception", Reason: fmt.Sprintf("[%s][0] primary shard is not active Timeout: [1m]", o.index)}, true
	case s.chance(f.ItemForbiddenFraction):
		s.stats.Forbidden++
		u := c.user
		if u == nil {
			u = &user{name: "writer", roles: []string{"otelcol_audit_writer"}}
		}
		return 403, indexDenied(u, "indices:data/write/bulk[s]", o.index), true
	case f.RejectDeadLetter && strings.Contains(o.index, "deadletter"):
		s.stats.Rejected++
		return 400, esError{Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:1] failed to parse: dead-letter stream refuses document with id '%s'", o.id)}, true
	case f.RejectIDSuffix != "" && strings.HasSuffix(o.id, f.RejectIDSuffix) && !strings.Contains(o.index, "deadletter"),
		f.RejectField != "" && bytes.Contains(o.doc, []byte(f.RejectField)) && !strings.Contains(o.index, "deadletter"):
		s.stats.Rejected++
		return 400, esError{Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:42] failed to parse field [client.ip] of type [ip] in document with id '%s'. Preview of field's value: 'not-an-ip'", o.id)}, true
	}
	return 0, esError{}, false
}
