package estest

import "time"

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

// Stats are the double's counters.
type Stats struct {
	Requests          int64  `json:"requests"`
	BulkRequests      int64  `json:"bulk_requests"`
	Items             int64  `json:"items"`
	Created           int64  `json:"created"`
	Conflicts         int64  `json:"conflicts"`
	Rejected          int64  `json:"rejected"`
	Forbidden         int64  `json:"forbidden"`
	Throttled         int64  `json:"throttled"`
	ItemErrors        int64  `json:"item_errors"`
	OutageAnswers     int64  `json:"outage_answers"`
	DroppedAnswers    int64  `json:"dropped_answers"`
	Rollovers         int64  `json:"rollovers"`
	UntemplatedWrites int64  `json:"untemplated_writes"`
	GzipRequests      int64  `json:"gzip_requests"`
	LastAuthorization string `json:"-"`
	// LatencyP50/P99 are from an event's @timestamp to its storage, in
	// seconds (WithLatency only; the load generator stamps send time).
	LatencyP50 float64 `json:"latency_p50_s,omitempty"`
	LatencyP99 float64 `json:"latency_p99_s,omitempty"`
	// Duplicates counts ids stored in more than one index (backing indices
	// of one data stream included): what "stored twice" means to a reader.
	Duplicates int64 `json:"duplicates"`
	// Streams counts documents per data stream, or per index for indices
	// that are not backing indices.
	Streams map[string]int64 `json:"streams"`
}

// histogram counts latencies in 1 ms buckets up to 10 minutes.
type histogram struct {
	buckets [600_001]int64
	n       int64
}

func (h *histogram) add(d time.Duration) {
	ms := d.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	if ms >= int64(len(h.buckets)) {
		ms = int64(len(h.buckets)) - 1
	}
	h.buckets[ms]++
	h.n++
}

func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	target := int64(q * float64(h.n))
	var seen int64
	for ms, c := range h.buckets {
		seen += c
		if seen > target {
			return float64(ms+1) / 1000
		}
	}
	return float64(len(h.buckets)) / 1000
}
