package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A segment file is a header followed by records:
//
//	header: "AUDJRNL" 0x01                      (8 bytes)
//	record: u32 body length | u32 CRC-32C(body) | body
//	body:   uvarint op count, then each op:
//	        u8 kind (1 set, 2 delete) | uvarint key length | key
//	        and for a set: uvarint value length | value
//
// Integers are little-endian. A record is one storage Batch, so a batch is
// applied whole or not at all after a crash.

const (
	headerLen       = 8
	recordHeaderLen = 8
	opSet           = 1
	opDelete        = 2
	// MaxRecord bounds one batch's encoded size; a larger batch is refused
	// before anything is written, and replay reads no length above it.
	MaxRecord = 1 << 30
)

var (
	magic      = [headerLen]byte{'A', 'U', 'D', 'J', 'R', 'N', 'L', 1}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)

	errMalformed = errors.New("malformed record")
)

// op is one decoded write of a record.
type op struct {
	kind   byte
	key    string
	valOff int // offset of the value in the body (sets only)
	valLen int
}

// recordSize is the encoded size of a record for writes.
func recordSize(writes []write) int {
	n := recordHeaderLen + binary.MaxVarintLen64
	for _, w := range writes {
		n += 1 + 2*binary.MaxVarintLen64 + len(w.key) + len(w.value)
	}
	return n
}

// decodeBody decodes a record body whose checksum matched into ops.
func decodeBody(body []byte, ops []op) ([]op, error) {
	ops = ops[:0]
	n, k := binary.Uvarint(body)
	if k <= 0 {
		return ops, fmt.Errorf("%w: op count", errMalformed)
	}
	// Each op takes at least 2 bytes (kind and key length), so a count
	// above that is a lie.
	if n > uint64(len(body)-k)/2 {
		return ops, fmt.Errorf("%w: %d ops in %d bytes", errMalformed, n, len(body))
	}
	p := k
	for i := uint64(0); i < n; i++ {
		if p >= len(body) {
			return ops, fmt.Errorf("%w: op %d past the end", errMalformed, i)
		}
		kind := body[p]
		p++
		if kind != opSet && kind != opDelete {
			return ops, fmt.Errorf("%w: op %d has kind %d", errMalformed, i, kind)
		}
		kl, k := binary.Uvarint(body[p:])
		if k <= 0 || kl > uint64(len(body)-p-k) {
			return ops, fmt.Errorf("%w: op %d key length", errMalformed, i)
		}
		p += k
		o := op{kind: kind, key: string(body[p : p+int(kl)])}
		p += int(kl)
		if kind == opSet {
			vl, k := binary.Uvarint(body[p:])
			if k <= 0 || vl > uint64(len(body)-p-k) {
				return ops, fmt.Errorf("%w: op %d value length", errMalformed, i)
			}
			p += k
			o.valOff, o.valLen = p, int(vl)
			p += int(vl)
		}
		ops = append(ops, o)
	}
	if p != len(body) {
		return ops, fmt.Errorf("%w: %d bytes after the last op", errMalformed, len(body)-p)
	}
	return ops, nil
}

// vectorRecord lays out a record as pieces for one pwritev: the record's
// own bytes go to meta, and each value is a piece of its own, so a large
// value is written from where it is, never copied.
// cuts is scratch. It returns meta, the pieces, cuts, the record's length,
// and each set's value offset from the record's start.
func vectorRecord(meta []byte, iov [][]byte, cuts []int, writes []write, valueOffsets []int) ([]byte, [][]byte, []int, int, []int) {
	meta = append(meta[:0], make([]byte, recordHeaderLen)...)
	meta = binary.AppendUvarint(meta, uint64(len(writes)))
	cuts = cuts[:0] // where in meta each value goes: meta may move as it grows
	for _, w := range writes {
		meta = append(meta, w.kind)
		meta = binary.AppendUvarint(meta, uint64(len(w.key)))
		meta = append(meta, w.key...)
		if w.kind == opSet {
			meta = binary.AppendUvarint(meta, uint64(len(w.value)))
			cuts = append(cuts, len(meta))
		}
	}
	iov, valueOffsets = iov[:0], valueOffsets[:0]
	prev, total, vi := 0, 0, 0
	for _, w := range writes {
		if w.kind != opSet {
			continue
		}
		iov = append(iov, meta[prev:cuts[vi]])
		total += cuts[vi] - prev
		valueOffsets = append(valueOffsets, total)
		iov = append(iov, w.value)
		total += len(w.value)
		prev = cuts[vi]
		vi++
	}
	iov = append(iov, meta[prev:])
	total += len(meta) - prev
	crc := crc32.Update(0, castagnoli, iov[0][recordHeaderLen:])
	for _, piece := range iov[1:] {
		crc = crc32.Update(crc, castagnoli, piece)
	}
	binary.LittleEndian.PutUint32(meta[0:], uint32(total-recordHeaderLen))
	binary.LittleEndian.PutUint32(meta[4:], crc)
	return meta, iov, cuts, total, valueOffsets
}
