package auditctl

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
)

// idSet remembers what an archive read has shown, so that it shows a
// record only where Elasticsearch would store it: Elasticsearch refuses a
// second copy of an _id in one index, and keeps copies in two indices.
//
// The key is the index route and the id: quarantined or not, then the
// record's categories (they pick the retention tier), its organization.id
// (the namespace, in the shipped configs' namespace_attribute), the UTC
// day of its event time (the finest index period) and its event id. The
// key is as fine as the index or finer: the archive never hides what
// Elasticsearch keeps, and shows twice only copies of an id that differ in
// what the collector's config may put in one index (two categories of one
// tier, two days of one month).
//
// Each key takes 16 bytes of a digest, whatever the id's length, plus the
// map's own overhead (see TestIDSetBytesPerID). A cryptographic digest,
// not a fast hash: a sender who could make two keys collide could hide an
// event from an export.
type idSet struct {
	m   map[[16]byte]struct{}
	buf []byte
	cat []string
}

func newIDSet() *idSet { return &idSet{m: map[[16]byte]struct{}{}} }

func (s *idSet) len() int { return len(s.m) }

// add records r's key and reports whether it is new. A record without an
// id is always new: Elasticsearch would give it an _id of its own.
func (s *idSet) add(r *auditcsv.Row) bool {
	if r.Event.ID == "" {
		return true
	}
	b := s.buf[:0]
	if r.Quarantined {
		// The quarantine index takes no tier: categories do not count.
		b = append(b, 'q')
	} else {
		b = append(b, 'e')
		s.cat = append(s.cat[:0], r.Categories...)
		slices.Sort(s.cat)
		s.cat = slices.Compact(s.cat)
		b = binary.AppendUvarint(b, uint64(len(s.cat)))
		for _, c := range s.cat {
			b = appendField(b, c)
		}
	}
	b = appendField(b, r.Event.Organization)
	b = binary.AppendVarint(b, day(r.Event.Time.Unix()))
	b = appendField(b, r.Event.ID)
	s.buf = b
	sum := sha256.Sum256(b)
	var k [16]byte
	copy(k[:], sum[:16])
	if _, ok := s.m[k]; ok {
		return false
	}
	s.m[k] = struct{}{}
	return true
}

// appendField writes v length first, so no two keys' fields run together.
func appendField(b []byte, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// day is the UTC day holding the Unix time sec.
func day(sec int64) int64 {
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d
}
