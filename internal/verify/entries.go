package verify

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// Entry flags.
const (
	fDead uint8 = 1 << iota
	fConflict
	fUnconfirmed
)

// entry is one digest entry, compact: the hash as bytes, the id in the
// table's arena, the index interned.
type entry struct {
	hash  [32]byte
	idOff uint32
	idLen uint32
	index uint32 // into entryTable.indices; 0 is ""
	head  uint32 // the digest
	pos   uint32 // place in the digest
	flags uint8
	seen  bool
}

// entryTable holds every entry sorted by (id, index, dead) for lookups.
type entryTable struct {
	arena   []byte
	e       []entry
	indices []string
	byName  map[string]uint32
}

func (t *entryTable) init() {
	t.indices = []string{""}
	t.byName = map[string]uint32{"": 0}
}

func (t *entryTable) len() int { return len(t.e) }

// arenaLimit bounds the id arena: entry offsets are uint32 (a variable
// for the tests).
var arenaLimit = uint64(math.MaxUint32)

// errArenaFull: the digests' ids do not fit the table's offsets.
var errArenaFull = fmt.Errorf("the digests list more than %d GiB of event ids: more than one check can hold; check a window at a time (--from/--since and --to) or one organization (--organization)", (arenaLimit+1)>>30)

// add keeps an entry; false (nothing kept) when its id would take the
// arena past arenaLimit.
func (t *entryTable) add(e digest.Entry, head, pos uint32) bool {
	if uint64(len(t.arena))+uint64(len(e.ID)) > arenaLimit {
		return false
	}
	x := entry{head: head, pos: pos, idOff: uint32(len(t.arena)), idLen: uint32(len(e.ID))}
	if !decodeHex32(&x.hash, e.SHA256) {
		// Not a hash (a signed digest, so the writer's bug): all zeros,
		// which no stored event hashes to; shows as modified or deleted.
		x.hash = [32]byte{}
	}
	t.arena = append(t.arena, e.ID...)
	ix, ok := t.byName[e.Index]
	if !ok {
		ix = uint32(len(t.indices))
		t.indices = append(t.indices, e.Index)
		t.byName[e.Index] = ix
	}
	x.index = ix
	if e.Dead {
		x.flags |= fDead
	}
	if e.Conflict {
		x.flags |= fConflict
	}
	if e.Unconfirmed {
		x.flags |= fUnconfirmed
	}
	t.e = append(t.e, x)
	return true
}

func (t *entryTable) idBytes(x *entry) []byte { return t.arena[x.idOff : x.idOff+x.idLen] }
func (t *entryTable) id(x *entry) string      { return string(t.idBytes(x)) }
func (t *entryTable) indexName(x *entry) string {
	return t.indices[x.index]
}

// cmp orders by id, index name, dead, then chain order.
func (t *entryTable) cmp(a, b *entry, heads []head) int {
	if c := bytes.Compare(t.idBytes(a), t.idBytes(b)); c != 0 {
		return c
	}
	if c := compareStr(t.indices[a.index], t.indices[b.index]); c != 0 {
		return c
	}
	if c := int(a.flags&fDead) - int(b.flags&fDead); c != 0 {
		return c
	}
	ha, hb := heads[a.head], heads[b.head]
	if ha.seq != hb.seq {
		if ha.seq < hb.seq {
			return -1
		}
		return 1
	}
	return int(a.pos) - int(b.pos)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seal drops the entries of identical duplicate digests and sorts.
func (t *entryTable) seal(heads []head) {
	kept := t.e[:0]
	for _, x := range t.e {
		if !heads[x.head].dup {
			kept = append(kept, x)
		}
	}
	t.e = kept
	sort.Slice(t.e, func(i, j int) bool { return t.cmp(&t.e[i], &t.e[j], heads) < 0 })
	t.byName = nil
}

// lookup returns the range of entries for (id, index, dead).
func (t *entryTable) lookup(id, index string, dead bool) (int, int) {
	key := func(x *entry) int {
		if c := compareStr(string(t.idBytes(x)), id); c != 0 {
			return c
		}
		if c := compareStr(t.indices[x.index], index); c != 0 {
			return c
		}
		xd := x.flags&fDead != 0
		switch {
		case xd == dead:
			return 0
		case dead:
			return -1
		}
		return 1
	}
	lo := sort.Search(len(t.e), func(i int) bool { return key(&t.e[i]) >= 0 })
	hi := lo
	for hi < len(t.e) && key(&t.e[hi]) == 0 {
		hi++
	}
	return lo, hi
}

// decodeHex32 decodes 64 lower- or upper-case hex digits.
func decodeHex32(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < 32; i++ {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
