package digest

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Intents are written before every write, so their encoding is compact
// and reflection-free: a version byte, then per entry its namespace and
// index (0: the same as the entry before, else length+1 and the bytes),
// id (length and bytes), the raw 32-byte hash and a flags byte.
const intentVersion = 1

const (
	flagDead = 1 << iota
	flagConflict
)

func appendField(b []byte, s, prev string, first bool) []byte {
	if !first && s == prev {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s))+1)
	return append(b, s...)
}

// encodeIntent encodes ps; an entry whose SHA256 is not 64 hex digits is
// refused (the writer's bug, not the input's).
func encodeIntent(ps []Pending) ([]byte, error) {
	b := make([]byte, 0, 1+len(ps)*64)
	b = append(b, intentVersion)
	for i, p := range ps {
		first := i == 0
		prev := Pending{}
		if !first {
			prev = ps[i-1]
		}
		b = appendField(b, p.Namespace, prev.Namespace, first)
		b = appendField(b, p.Entry.Index, prev.Entry.Index, first)
		b = binary.AppendUvarint(b, uint64(len(p.Entry.ID)))
		b = append(b, p.Entry.ID...)
		if len(p.Entry.SHA256) != 64 {
			return nil, fmt.Errorf("digest: event %q: the hash is not a hex SHA-256", p.Entry.ID)
		}
		var sum [32]byte
		if _, err := hex.Decode(sum[:], []byte(p.Entry.SHA256)); err != nil {
			return nil, fmt.Errorf("digest: event %q: the hash is not a hex SHA-256", p.Entry.ID)
		}
		b = append(b, sum[:]...)
		var f byte
		if p.Entry.Dead {
			f |= flagDead
		}
		if p.Entry.Conflict {
			f |= flagConflict
		}
		b = append(b, f)
	}
	return b, nil
}

var errIntent = errors.New("a stored intent does not decode")

// decodeIntent reads what encodeIntent wrote; anything else is an error,
// never a panic (the storage directory is input too).
func decodeIntent(b []byte) ([]Pending, error) {
	if len(b) == 0 || b[0] != intentVersion {
		return nil, errIntent
	}
	b = b[1:]
	var out []Pending
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	field := func(prev string, first bool) (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return "", false
		}
		if n == 0 {
			b = b[k:]
			return prev, !first
		}
		if n-1 > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n-1)])
		b = b[k+int(n-1):]
		return s, true
	}
	for len(b) > 0 {
		var p, prev Pending
		first := len(out) == 0
		if !first {
			prev = out[len(out)-1]
		}
		var ok bool
		if p.Namespace, ok = field(prev.Namespace, first); !ok {
			return nil, errIntent
		}
		if p.Entry.Index, ok = field(prev.Entry.Index, first); !ok {
			return nil, errIntent
		}
		if p.Entry.ID, ok = str(); !ok || len(b) < 33 {
			return nil, errIntent
		}
		p.Entry.SHA256 = hex.EncodeToString(b[:32])
		f := b[32]
		b = b[33:]
		p.Entry.Dead, p.Entry.Conflict = f&flagDead != 0, f&flagConflict != 0
		out = append(out, p)
	}
	return out, nil
}
