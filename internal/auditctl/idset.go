package auditctl

import "crypto/sha256"

// idSet remembers the event ids an archive read has seen, 16 bytes each
// whatever the id's length. A cryptographic digest, not a fast hash: a
// sender who could make two ids collide could hide an event from an
// export.
type idSet map[[16]byte]struct{}

func newIDSet() idSet { return idSet{} }

// add records id and reports whether it is new. An empty id (a record
// without one) is always new: Elasticsearch would give it an _id of its
// own.
func (s idSet) add(id string) bool {
	if id == "" {
		return true
	}
	sum := sha256.Sum256([]byte(id))
	var k [16]byte
	copy(k[:], sum[:16])
	if _, ok := s[k]; ok {
		return false
	}
	s[k] = struct{}{}
	return true
}
