package digest

import (
	"crypto/ed25519"
	"fmt"
	"sort"
)

// Finding is one thing wrong with a chain, naming the digest concerned.
type Finding struct {
	Kind  string // one of the Finding kinds below
	Chain string
	Seq   uint64
	What  string
}

// Finding kinds.
const (
	BadSignature = "bad_signature"    // the digest was edited, or signed by another key
	BrokenChain  = "broken_chain"     // Previous does not name the digest before it
	Missing      = "missing_digest"   // a sequence number is absent
	Duplicate    = "duplicate_digest" // two digests claim one sequence number
)

func (f Finding) String() string {
	return fmt.Sprintf("%s: chain %s, digest %d: %s", f.Kind, f.Chain, f.Seq, f.What)
}

// CheckChains verifies every digest's signature and that each chain runs
// from its first digest to its last without a gap, a repeat or a link
// that does not match. A chain is expected to start at seq 1.
func CheckChains(digests []Signed, keys []ed25519.PublicKey) []Finding {
	var out []Finding
	byChain := map[string][]Signed{}
	for _, s := range digests {
		if err := Verify(s, keys); err != nil {
			out = append(out, Finding{BadSignature, s.Digest.Chain, s.Digest.Seq, err.Error()})
			continue
		}
		byChain[s.Digest.Chain] = append(byChain[s.Digest.Chain], s)
	}
	chains := make([]string, 0, len(byChain))
	for c := range byChain {
		chains = append(chains, c)
	}
	sort.Strings(chains)
	for _, c := range chains {
		ds := byChain[c]
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Digest.Seq < ds[j].Digest.Seq })
		want := uint64(1)
		prevHash := ""
		for i, s := range ds {
			d := s.Digest
			if i > 0 && d.Seq == ds[i-1].Digest.Seq {
				// The same digest written twice is a resend, not a fork.
				if s.Signature != ds[i-1].Signature {
					out = append(out, Finding{Duplicate, c, d.Seq, "two signed digests claim this sequence number"})
				}
				continue
			}
			if d.Seq > want {
				out = append(out, Finding{Missing, c, want, fmt.Sprintf("digests %d to %d are missing", want, d.Seq-1)})
				prevHash = "" // the link across the gap cannot be checked
			} else if d.Previous != prevHash && (prevHash != "" || d.Seq == 1) {
				out = append(out, Finding{BrokenChain, c, d.Seq, fmt.Sprintf("previous is %q, the digest before hashes to %q", d.Previous, prevHash)})
			}
			h, err := Hash(s)
			if err != nil {
				out = append(out, Finding{BadSignature, c, d.Seq, err.Error()})
				continue
			}
			prevHash, want = h, d.Seq+1
		}
	}
	return out
}
