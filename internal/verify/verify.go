// Package verify checks an audit store against its signed digests: the
// checks of `auditctl verify`. The Checker (this file) is store-agnostic;
// digests.go decodes stored digests (lines.go bounds the lines),
// archive.go and es.go read the two stores into it, entries.go keeps the
// digests' entries compactly, chains.go checks the chains, output.go
// writes the report.
//
// Memory is linear in the digest entries (about 60 bytes and the id
// each); store records are streamed.
package verify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// Finding kinds. The chain kinds are digest's.
const (
	BadSignature    = digest.BadSignature
	BrokenChain     = digest.BrokenChain
	MissingDigest   = digest.Missing
	DuplicateDigest = digest.Duplicate
	// BadDigest: a stored digest that does not decode (a modified digest).
	BadDigest = "bad_digest"
	// StaleChain: the newest digest of a chain is not final and older than
	// MaxAge: its newest events and digests may have been cut off.
	StaleChain = "stale_chain"
	Modified   = "modified"
	Deleted    = "deleted"
	Inserted   = "inserted"
	Reordered  = "reordered"
	// Unreadable: a stored record that does not decode (archive lines,
	// Elasticsearch documents without an id).
	Unreadable = "unreadable_record"
)

// Finding is one thing wrong, naming the event and the digest concerned.
type Finding struct {
	Kind    string `json:"kind"`
	EventID string `json:"event_id,omitempty"`
	Chain   string `json:"chain,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	Index   string `json:"index,omitempty"` // Elasticsearch
	Where   string `json:"where,omitempty"` // file:line, or the document
	What    string `json:"what"`
}

// Summary counts what was checked.
type Summary struct {
	Digests int `json:"digests"`
	Chains  int `json:"chains"`
	// Entries in the digests (events they list).
	Entries int `json:"entries"`
	// Events read from the store (archive records, documents, dead letters).
	EventsChecked int `json:"events_checked"`
	// Covered: stored events an entry lists with the same hash.
	Covered int `json:"covered"`
	// NotYetCovered: stored events no digest lists yet, newer than the grace.
	NotYetCovered int `json:"not_yet_covered"`
	// BeforeDigests: stored events observed before the window --from
	// (or --since) asked for and before the first digest checked. Without
	// --from such an event is inserted.
	BeforeDigests int `json:"before_digests"`
	// PastRetention: entries whose events are gone with their retention.
	PastRetention int `json:"past_retention"`
	// DigestsPastRetention: digests missing before a chain's first digest
	// kept, gone with the digest stream's retention (Elasticsearch).
	DigestsPastRetention int `json:"digests_past_retention,omitempty"`
	// UnconfirmedAbsent: entries of writes a crash interrupted whose event
	// was never stored.
	UnconfirmedAbsent int `json:"unconfirmed_absent"`
	// Conflicts: stored events that differ from a conflict entry (the
	// store kept an earlier copy).
	Conflicts int `json:"conflicts"`
	// DeadLetters: dead letters read; DeadLettersCovered those an entry
	// lists.
	DeadLetters        int `json:"dead_letters"`
	DeadLettersCovered int `json:"dead_letters_covered"`
	// Unverified: stored events only a digest that failed its checks lists.
	Unverified int `json:"unverified"`
	// NewestDigest is the To of the newest digest; NewestDigestAge its age
	// at the check.
	NewestDigest    time.Time `json:"newest_digest,omitzero"`
	NewestDigestAge string    `json:"newest_digest_age,omitempty"`
	// Findings by kind, including those past MaxFindings.
	Counts map[string]int `json:"counts"`
}

// Report is the outcome of a check.
type Report struct {
	Summary  Summary   `json:"summary"`
	Findings []Finding `json:"findings"`
	// Omitted counts findings past MaxFindings of their kind (in Counts,
	// not listed).
	Omitted int `json:"omitted,omitempty"`
}

// Intact reports whether nothing was found.
func (r *Report) Intact() bool { return len(r.Findings) == 0 && r.Omitted == 0 }

// Options drive a check.
type Options struct {
	Keys []ed25519.PublicKey
	// Now is the time of the check (default time.Now).
	Now time.Time
	// Grace: stored events observed within it may not be in a digest yet.
	Grace time.Duration
	// MaxAge: a chain whose newest digest is not final and older than
	// max(MaxAge, 3 × the digest's To − From) is stale.
	MaxAge time.Duration
	// From, To bound the check (zero: unbounded): digests sealed before
	// From are left out, events observed outside [From, To] are not
	// reported as inserted, digests begun after To are not checked.
	From, To time.Time
	// Namespace, when set, checks only that tenant's chains.
	Namespace string
	// MaxFindings bounds the findings listed of each kind (0:
	// DefaultMaxFindings); all are counted.
	MaxFindings int
}

// Defaults.
const (
	DefaultGrace       = 10 * time.Minute
	DefaultMaxAge      = 5 * time.Minute
	DefaultMaxFindings = 10_000
)

// Retention tells whether an entry's event, absent from the store, is gone
// with its retention.
type Retention func(e EntryInfo) bool

// EntryInfo describes an entry for Retention.
type EntryInfo struct {
	ID, Index string
	Dead      bool
	// From and To are the digest's window.
	From, To time.Time
	// BeforeFirstKept: the entry comes, in its chain's order, before the
	// first of the chain's events found in the store (or none was): what
	// removing the oldest records, as rotation does, takes.
	BeforeFirstKept bool
	// FirstKeptFile is Record.File of that first event ("" when none was
	// found).
	FirstKeptFile string
}

// Record is one stored event as a store reader gives it. ID is keyed as
// the digests list it: digest.ValidID.
type Record struct {
	ID string
	// Index is the Elasticsearch index (for a dead letter, the one it was
	// meant for); empty for the archive.
	Index string
	Hash  [32]byte
	// Created is when the collector observed the event (event.created),
	// else its time.
	Created time.Time
	Dead    bool
	// File is the archive file it is in (empty for Elasticsearch):
	// retention removes whole files.
	File string
	// Where locates it for a finding: file:line, or index/_id.
	Where string
}

// Checker runs the checks: AddDigest for every digest, then Seal, then
// Record for every stored event in store order, then Finish.
type Checker struct {
	o       Options
	Ordered bool // check that records come in digest order (the archive)
	// DigestRetention, when set, tells whether digests before a chain's
	// first digest kept, which began at from, may be gone with the digest
	// store's retention (Elasticsearch: the digest stream's ILM). Set
	// before Seal.
	DigestRetention func(from time.Time) bool

	heads   []head
	entries entryTable
	sealed  bool
	rep     Report
	// scopeStart: events observed before it are not reported as inserted.
	scopeStart time.Time
	lastPos    map[uint32]uint64 // chain -> position of the last record seen
	firstPos   map[uint32]uint64 // chain -> position of the first record seen
	firstFile  map[uint32]string // chain -> Record.File of that record
	chainIDs   map[string]uint32
	chains     []string
	err        error // what stops the check (Err)
}

// Err is what stops the check, if anything: AddDigest could not keep the
// digests' entries (no verdict).
func (c *Checker) Err() error { return c.err }

// New makes a checker.
func New(o Options) *Checker {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxFindings <= 0 {
		o.MaxFindings = DefaultMaxFindings
	}
	c := &Checker{o: o, lastPos: map[uint32]uint64{}, firstPos: map[uint32]uint64{}, firstFile: map[uint32]string{}, chainIDs: map[string]uint32{}}
	c.rep.Summary.Counts = map[string]int{}
	c.entries.init()
	return c
}

func (c *Checker) find(f Finding) {
	c.rep.Summary.Counts[f.Kind]++
	// Bounded per kind: a flood of one kind (the events of a deleted
	// digest) must not hide another (one edited event).
	if c.rep.Summary.Counts[f.Kind] > c.o.MaxFindings {
		c.rep.Omitted++
		return
	}
	c.rep.Findings = append(c.rep.Findings, f)
}

func (c *Checker) chainID(name string) uint32 {
	if id, ok := c.chainIDs[name]; ok {
		return id
	}
	id := uint32(len(c.chains))
	c.chains = append(c.chains, name)
	c.chainIDs[name] = id
	return id
}

// namespaceOf is the tenant part of a chain name (<instance>/<namespace>).
func namespaceOf(chain string) string {
	for i := 0; i < len(chain); i++ {
		if chain[i] == '/' {
			return chain[i+1:]
		}
	}
	return ""
}

// BadDigestAt reports a stored digest that does not decode.
func (c *Checker) BadDigestAt(where string, err error) {
	c.find(Finding{Kind: BadDigest, Where: where, What: fmt.Sprintf("the digest does not decode (%v): it was modified or damaged", err)})
}

// AddDigest takes one stored digest: checks its signature and keeps its
// header and its entries compactly (the events themselves are dropped).
func (c *Checker) AddDigest(s digest.Signed, where string) {
	d := &s.Digest
	if c.o.Namespace != "" && namespaceOf(d.Chain) != c.o.Namespace {
		return
	}
	if !c.o.From.IsZero() && d.To.Before(c.o.From) {
		return
	}
	h := head{chain: c.chainID(d.Chain), seq: d.Seq, from: d.From, to: d.To, final: d.Final, where: where}
	if err := digest.Verify(s, c.o.Keys); err != nil {
		h.bad = true
		c.find(Finding{Kind: BadSignature, Chain: d.Chain, Seq: d.Seq, Where: where, What: err.Error() + ": the digest was edited, or signed by a key not given with --public-key"})
	} else if hash, err := digest.Hash(s); err != nil {
		h.bad = true
		c.find(Finding{Kind: BadDigest, Chain: d.Chain, Seq: d.Seq, Where: where, What: err.Error()})
	} else {
		h.hash = hashOf(hash)
		h.prev = hashOf(d.Previous)
		if d.Count != len(d.Events) {
			c.find(Finding{Kind: BadDigest, Chain: d.Chain, Seq: d.Seq, Where: where, What: fmt.Sprintf("count %d but %d events listed", d.Count, len(d.Events))})
		}
	}
	hi := uint32(len(c.heads))
	for i, e := range d.Events {
		if c.err == nil && !c.entries.add(e, hi, uint32(i)) {
			c.err = errArenaFull
		}
	}
	c.heads = append(c.heads, h)
}

// hashRef is a hex SHA-256 as bytes: kind 0 empty, 1 valid, 2 not a hash.
type hashRef struct {
	b    [32]byte
	kind uint8
}

func hashOf(hexs string) hashRef {
	if hexs == "" {
		return hashRef{}
	}
	var r hashRef
	if decodeHex32(&r.b, hexs) {
		r.kind = 1
	} else {
		r.kind = 2
	}
	return r
}

func (a hashRef) equal(b hashRef) bool { return a.kind != 2 && a.kind == b.kind && a.b == b.b }

// Seal checks the chains and readies the entries for lookups.
func (c *Checker) Seal() {
	c.sealed = true
	s := &c.rep.Summary
	s.Digests = len(c.heads)
	s.Chains = len(c.chains)
	c.checkChains()
	c.entries.seal(c.heads)
	s.Entries = c.entries.len()
	first := time.Time{}
	for _, h := range c.heads {
		if h.bad || h.dup {
			continue
		}
		if first.IsZero() || h.from.Before(first) {
			first = h.from
		}
		if h.to.After(s.NewestDigest) {
			s.NewestDigest = h.to
		}
	}
	c.scopeStart = first
	if c.o.From.After(first) {
		c.scopeStart = c.o.From
	}
	if !s.NewestDigest.IsZero() {
		s.NewestDigestAge = c.o.Now.Sub(s.NewestDigest).Round(time.Second).String()
	}
}

// HasDigests reports whether any digest was taken (in scope).
func (c *Checker) HasDigests() bool { return len(c.heads) > 0 || c.rep.Summary.Counts[BadDigest] > 0 }

// UnreadableAt reports a stored record that does not decode.
func (c *Checker) UnreadableAt(where, why string) {
	c.rep.Summary.EventsChecked++
	c.find(Finding{Kind: Unreadable, Where: where, What: why + ": an event edited out of shape, or damaged; its entry, if any, shows as deleted"})
}

// Record checks one stored event against the entries.
func (c *Checker) Record(r Record) {
	if !c.sealed {
		panic("verify: Record before Seal")
	}
	s := &c.rep.Summary
	s.EventsChecked++
	if r.Dead {
		s.DeadLetters++
	}
	lo, hi := c.entries.lookup(r.ID, r.Index, r.Dead)
	if lo == hi {
		c.uncovered(r)
		return
	}
	// The first unseen confirmed entry with this hash, else an unconfirmed
	// one, else one seen already (a second copy of a covered event).
	// Ordered (the archive), first: the earliest unseen in chain order,
	// confirmed or not, that is not behind the chain's last record. A
	// batch written, not sealed (the collector killed) and resent after
	// other events is stored twice: first where its unconfirmed entries
	// are, then where the resend's are; if the first copy never reached
	// the store, the resend still matches its own entries.
	match, unverified := -1, false
	for pass := 0; pass < 4 && match < 0; pass++ {
		if pass == 0 && !c.Ordered {
			continue
		}
		for i := lo; i < hi; i++ {
			e := &c.entries.e[i]
			if e.hash != r.Hash {
				continue
			}
			if c.heads[e.head].bad {
				unverified = true
				continue
			}
			ok := false
			switch pass {
			case 0:
				ok = !e.seen && c.notBehind(e)
			case 1:
				ok = !e.seen && e.flags&fUnconfirmed == 0
			case 2:
				ok = !e.seen
			case 3:
				ok = true
			}
			if ok {
				match = i
				break
			}
		}
	}
	// Conflict entries say the store held the id already: it does.
	defer c.settleConflicts(lo, hi, r.Hash)
	if match >= 0 {
		e := &c.entries.e[match]
		e.seen = true
		s.Covered++
		if r.Dead {
			s.DeadLettersCovered++
		}
		if e.flags&fUnconfirmed == 0 {
			h := c.heads[e.head]
			pos := position(h, e)
			if first, ok := c.firstPos[h.chain]; !ok || pos < first {
				c.firstPos[h.chain] = pos
				c.firstFile[h.chain] = r.File
			}
		}
		if c.Ordered && e.flags&fUnconfirmed == 0 {
			h := c.heads[e.head]
			pos := position(h, e)
			if last, ok := c.lastPos[h.chain]; ok && pos < last {
				c.find(Finding{Kind: Reordered, EventID: r.ID, Chain: c.chains[h.chain], Seq: h.seq, Where: r.Where,
					What: "the event is stored after events its chain's digests list after it"})
			} else {
				c.lastPos[h.chain] = pos
			}
		}
		return
	}
	if unverified {
		s.Unverified++
		return
	}
	// An entry names the id with another hash: modified, unless every
	// trusted entry naming it is a conflict (the store kept an earlier copy).
	for pass := 0; pass < 2; pass++ {
		for i := lo; i < hi; i++ {
			e := &c.entries.e[i]
			h := c.heads[e.head]
			if h.bad || e.flags&fConflict != 0 || (pass == 0 && e.seen) {
				continue
			}
			e.seen = true
			c.find(Finding{Kind: Modified, EventID: r.ID, Chain: c.chains[h.chain], Seq: h.seq, Index: r.Index, Where: r.Where,
				What: fmt.Sprintf("the stored event hashes to %x, the digest lists %x", r.Hash[:8], e.hash[:8])})
			return
		}
	}
	for i := lo; i < hi; i++ {
		e := &c.entries.e[i]
		h := c.heads[e.head]
		if h.bad {
			continue
		}
		// Conflicts only, none with this hash: the copy the store kept is
		// in no digest read (an id taken before the collector wrote it,
		// or an edit a re-import's conflicts would hide), unless an entry
		// of the same id lists it the other way (dead or not).
		if c.coveredElsewhere(r) {
			return
		}
		c.find(Finding{Kind: Inserted, EventID: r.ID, Chain: c.chains[h.chain], Seq: h.seq, Index: r.Index, Where: r.Where,
			What: fmt.Sprintf("stored, hashing to %x, and in no digest: the only entries naming its id are conflicts (the collector's write was refused, the store already held the id) listing another copy", r.Hash[:8])})
		return
	}
	s.Unverified++
}

// coveredElsewhere: a trusted entry that is not a conflict lists the
// record's id and hash as the other kind (a dead letter, or not).
func (c *Checker) coveredElsewhere(r Record) bool {
	lo, hi := c.entries.lookup(r.ID, r.Index, !r.Dead)
	for i := lo; i < hi; i++ {
		e := &c.entries.e[i]
		if e.hash == r.Hash && e.flags&fConflict == 0 && !c.heads[e.head].bad {
			return true
		}
	}
	return false
}

// notBehind: the entry's place is not before its chain's last record's.
func (c *Checker) notBehind(e *entry) bool {
	h := c.heads[e.head]
	last, ok := c.lastPos[h.chain]
	return !ok || position(h, e) >= last
}

// settleConflicts marks the conflict entries of a stored event's key as
// answered, counting those whose copy the store did not keep.
func (c *Checker) settleConflicts(lo, hi int, stored [32]byte) {
	for i := lo; i < hi; i++ {
		e := &c.entries.e[i]
		if e.flags&fConflict == 0 || e.seen || c.heads[e.head].bad {
			continue
		}
		e.seen = true
		if e.hash != stored {
			c.rep.Summary.Conflicts++
		}
	}
}

// position orders a chain's entries: by digest, then place in it.
func position(h head, e *entry) uint64 { return h.seq<<24 | uint64(e.pos) }

// ClockSkew is how far in the future a stored event may be dated (the
// clocks of the collector and of the check disagree) and still be taken
// as not yet covered.
const ClockSkew = 10 * time.Minute

// uncovered handles a stored event (or dead letter: the same rules) no
// entry names.
func (c *Checker) uncovered(r Record) {
	s := &c.rep.Summary
	what := "stored, observed %s, and in no digest"
	if r.Dead {
		what = "a dead letter, dated %s, and in no digest"
	}
	switch {
	case r.Created.IsZero():
		c.find(Finding{Kind: Inserted, EventID: r.ID, Index: r.Index, Where: r.Where, What: "stored, with no readable event.created or @timestamp, and in no digest"})
		return
	case r.Created.After(c.o.Now.Add(ClockSkew)):
		// Dated in the future past any clock skew: the grace must not
		// excuse it (it would forever).
		what += fmt.Sprintf(": a date in the future, past %s of clock skew", ClockSkew)
	case r.Created.Before(c.scopeStart):
		if !c.o.From.IsZero() {
			s.BeforeDigests++ // the window asked for starts after it
			return
		}
		// Nothing limited the window: the digests checked are all there
		// are, and the event claims to be older than all of them.
		what += ": a date before the first digest, and no --from limited the window"
	case !c.o.To.IsZero() && r.Created.After(c.o.To):
		return
	case c.o.Now.Sub(r.Created) < c.o.Grace:
		s.NotYetCovered++
		return
	}
	c.find(Finding{Kind: Inserted, EventID: r.ID, Index: r.Index, Where: r.Where,
		What: fmt.Sprintf(what, r.Created.UTC().Format(time.RFC3339))})
}

// Finish reports what no stored event answered: deleted events, unless
// unconfirmed or past retention.
func (c *Checker) Finish(ret Retention) *Report {
	s := &c.rep.Summary
	for i := range c.entries.e {
		e := &c.entries.e[i]
		if e.seen {
			continue
		}
		h := c.heads[e.head]
		if h.bad || h.dup {
			continue
		}
		if !c.o.To.IsZero() && h.from.After(c.o.To) {
			continue
		}
		if e.flags&fUnconfirmed != 0 {
			s.UnconfirmedAbsent++
			continue
		}
		id, index := c.entries.id(e), c.entries.indexName(e)
		first, ok := c.firstPos[h.chain]
		info := EntryInfo{ID: id, Index: index, Dead: e.flags&fDead != 0, From: h.from, To: h.to, BeforeFirstKept: !ok || position(h, e) < first, FirstKeptFile: c.firstFile[h.chain]}
		if ret != nil && ret(info) {
			s.PastRetention++
			continue
		}
		what := "listed in the digest, absent from the store"
		if e.flags&fDead != 0 {
			what = "listed in the digest as dead-lettered, absent from the dead-letter stream"
		}
		c.find(Finding{Kind: Deleted, EventID: id, Chain: c.chains[h.chain], Seq: h.seq, Index: index, What: what})
	}
	sort.SliceStable(c.rep.Findings, func(i, j int) bool { return c.rep.Findings[i].Kind < c.rep.Findings[j].Kind })
	return &c.rep
}

// SHA256 is the hash a Record carries.
func SHA256(doc []byte) [32]byte { return sha256.Sum256(doc) }
