package verify

import (
	"fmt"
	"sort"
	"time"
)

// head is what is kept of a digest once its entries are in the table.
type head struct {
	chain    uint32
	seq      uint64
	hash     hashRef // digest.Hash
	prev     hashRef // Previous
	from, to time.Time
	final    bool
	bad      bool // failed its signature: its entries are not trusted
	dup      bool // an identical copy of another digest: ignored
	where    string
}

// checkChains applies digest.CheckChains' rules to the kept headers (the
// digests themselves are not held: their entries would double the
// memory), then the staleness of each chain's newest digest (older than
// max(MaxAge, 3 × its To − From)). With
// Options.From a chain may start past seq 1: the link into its first
// digest is not checked; so with DigestRetention saying the digests
// before it are gone with their retention.
func (c *Checker) checkChains() {
	order := make([]int, 0, len(c.heads))
	for i, h := range c.heads {
		if !h.bad {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := c.heads[order[i]], c.heads[order[j]]
		if a.chain != b.chain {
			return c.chains[a.chain] < c.chains[b.chain]
		}
		return a.seq < b.seq
	})
	for start := 0; start < len(order); {
		end := start
		for end < len(order) && c.heads[order[end]].chain == c.heads[order[start]].chain {
			end++
		}
		c.checkChain(order[start:end])
		start = end
	}
}

func (c *Checker) checkChain(ds []int) {
	name := c.chains[c.heads[ds[0]].chain]
	want := uint64(1)
	if !c.o.From.IsZero() {
		want = c.heads[ds[0]].seq
	}
	var prev hashRef
	newest := -1
	for i, k := range ds {
		h := &c.heads[k]
		if i > 0 && h.seq == c.heads[ds[i-1]].seq {
			// The same digest written twice is a resend, not a fork.
			if h.hash.equal(c.heads[ds[i-1]].hash) {
				h.dup = true
			} else {
				c.find(Finding{Kind: DuplicateDigest, Chain: name, Seq: h.seq, Where: h.where, What: "two signed digests claim this sequence number"})
			}
			continue
		}
		if i == 0 && h.seq > want && c.DigestRetention != nil && c.DigestRetention(h.from) {
			// Before the chain's first digest kept, and the digest
			// store's retention has run out for it: gone with it.
			c.rep.Summary.DigestsPastRetention += int(h.seq - want)
		} else if h.seq > want {
			what := fmt.Sprintf("digests %d to %d are missing", want, h.seq-1)
			if want == h.seq-1 {
				what = fmt.Sprintf("digest %d is missing", want)
			}
			c.find(Finding{Kind: MissingDigest, Chain: name, Seq: want, What: what + "; the events they listed show as inserted"})
			prev = hashRef{} // the link across the gap cannot be checked
		} else if !h.prev.equal(prev) && (prev.kind != 0 || h.seq == 1) {
			c.find(Finding{Kind: BrokenChain, Chain: name, Seq: h.seq, Where: h.where, What: "its previous does not name the digest before it"})
		}
		prev, want = h.hash, h.seq+1
		newest = k
	}
	if newest < 0 {
		return
	}
	h := c.heads[newest]
	if !h.final && c.o.To.IsZero() && c.o.MaxAge > 0 {
		// The chain's own cadence: a chain sealed hourly is not stale
		// after five minutes. Three of its newest digest's windows, or
		// MaxAge when longer.
		limit, why := c.o.MaxAge, fmt.Sprintf("--max-age %s", c.o.MaxAge)
		if w := 3 * h.to.Sub(h.from); w > limit {
			limit, why = w, fmt.Sprintf("3 × its window of %s", h.to.Sub(h.from).Round(time.Second))
		}
		if age := c.o.Now.Sub(h.to); age > limit {
			c.find(Finding{Kind: StaleChain, Chain: name, Seq: h.seq, Where: h.where,
				What: fmt.Sprintf("the newest digest is %s old (over %s) and not final: the newest events and digests may have been cut off, or the collector stopped writing digests", age.Round(time.Second), why)})
		}
	}
}
