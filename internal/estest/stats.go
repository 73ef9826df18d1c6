package estest

import (
	"time"
)

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
