package auditevent

import "unicode/utf8"

// Problem is one reason an event was refused: where (the event's index in a
// JSON array, or the line of NDJSON or CSV), which field, and why.
type Problem struct {
	Index  *int   `json:"index,omitempty"`
	Line   int    `json:"line,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Problems collects problems up to a bound, counting the rest.
type Problems struct {
	List    []Problem
	Omitted int
	Max     int
}

// Add records a problem for the event at index (JSON) or line (NDJSON, CSV).
func (p *Problems) Add(index, line int, field, reason string) {
	if p.Max > 0 && len(p.List) >= p.Max {
		p.Omitted++
		return
	}
	pr := Problem{Line: line, Field: truncate(field), Reason: truncate(reason)}
	if index >= 0 {
		i := index
		pr.Index = &i
	}
	p.List = append(p.List, pr)
}

// Len is the number of problems, listed or omitted.
func (p *Problems) Len() int { return len(p.List) + p.Omitted }

// maxProblemText bounds a problem's field and reason: both can echo what
// was sent, and a 1 MiB key must not make a 100 MiB answer.
const maxProblemText = 512

// truncate cuts s to maxProblemText bytes on a rune boundary.
func truncate(s string) string {
	if len(s) <= maxProblemText {
		return s
	}
	cut := maxProblemText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
