package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
)

// Output formats.
const (
	Text = "text"
	JSON = "json"
)

// Write renders the report. Every value that came from the store goes
// through auditctl.Printable (text) or has its terminal controls escaped
// (JSON), so a hostile id cannot act on the terminal.
func Write(w io.Writer, r *Report, format string, o Options) error {
	switch format {
	case JSON:
		if r.Findings == nil {
			r.Findings = []Finding{}
		}
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(auditctl.EscapeJSONControls(b), '\n'))
		return err
	case Text, "":
		return writeText(w, r, o)
	}
	return fmt.Errorf("--output %q: use text or json", format)
}

func writeText(w io.Writer, r *Report, o Options) error {
	p := auditctl.Printable
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s:", f.Kind)
		if f.EventID != "" {
			fmt.Fprintf(&b, " event %s", p(f.EventID))
		}
		if f.Index != "" {
			fmt.Fprintf(&b, " index %s", p(f.Index))
		}
		if f.Chain != "" {
			fmt.Fprintf(&b, " chain %s digest %d", p(f.Chain), f.Seq)
		}
		if f.Where != "" {
			fmt.Fprintf(&b, " at %s", p(f.Where))
		}
		fmt.Fprintf(&b, ": %s\n", p(f.What))
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "… and %d more findings not listed (--max-findings, per kind); the counts below include them\n", r.Omitted)
	}
	s := r.Summary
	fmt.Fprintf(&b, "digests: %d in %d chains, listing %d events\n", s.Digests, s.Chains, s.Entries)
	fmt.Fprintf(&b, "events checked: %d; covered by a digest: %d; not yet covered (newer than --grace %s): %d; observed before the first digest checked: %d\n",
		s.EventsChecked, s.Covered, o.Grace, s.NotYetCovered, s.BeforeDigests)
	fmt.Fprintf(&b, "listed and gone with their retention: %d; unconfirmed writes never stored: %d; conflicts (the store kept another copy): %d\n",
		s.PastRetention, s.UnconfirmedAbsent, s.Conflicts)
	if s.DigestsPastRetention > 0 {
		fmt.Fprintf(&b, "digests gone with the digest stream's retention (before a chain's first digest kept): %d\n", s.DigestsPastRetention)
	}
	if s.DeadLetters > 0 {
		fmt.Fprintf(&b, "dead letters: %d, of which listed in a digest: %d\n", s.DeadLetters, s.DeadLettersCovered)
	}
	if s.Unverified > 0 {
		fmt.Fprintf(&b, "events listed only by a digest that failed its signature: %d\n", s.Unverified)
	}
	if !s.NewestDigest.IsZero() {
		fmt.Fprintf(&b, "newest digest: %s (%s ago)\n", s.NewestDigest.UTC().Format(time.RFC3339), s.NewestDigestAge)
	}
	if r.Intact() {
		b.WriteString("result: intact\n")
	} else {
		kinds := make([]string, 0, len(s.Counts))
		for k, n := range s.Counts {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(&b, "result: NOT INTACT: %d findings (%s)\n", len(r.Findings)+r.Omitted, strings.Join(kinds, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
