package auditprocessor

import "slices"

// OTLP carries attributes as a list, so a key can come twice; pdata keeps
// every copy, Map.Get and the exporter's router read the first, its
// document encoder the last. The processor keeps the first copy of each
// key and removes the others, so that every reader sees one value.

// smallKeys is how many distinct keys dupFinder compares directly; past
// it, a set keeps the cost linear in a hostile record's attribute count.
const smallKeys = 32

// maxKeptSet is the largest set a pooled scratch keeps for the next record.
const maxKeptSet = 1024

// dupFinder finds the later copies of a map's keys in one pass, without
// allocating for records of up to smallKeys keys.
type dupFinder struct {
	bloom uint64
	keys  []string // the first copies seen, while there are few
	set   map[string]struct{}
	big   bool
	idx   []int // positions of the later copies, ascending
}

func (d *dupFinder) begin() {
	d.bloom, d.big = 0, false
	d.keys, d.idx = d.keys[:0], d.idx[:0]
}

// end drops the references to the record's keys: a pooled scratch must
// not keep a request's strings alive.
func (d *dupFinder) end() {
	clear(d.keys)
	if len(d.set) > maxKeptSet {
		d.set = nil
	} else {
		clear(d.set)
	}
}

// repeated reports whether key, at position i of the map, is a later copy.
func (d *dupFinder) repeated(key string, i int) bool {
	if !d.big {
		if len(d.keys) < smallKeys {
			bit := keyBit(key)
			if d.bloom&bit != 0 && slices.Contains(d.keys, key) {
				d.idx = append(d.idx, i)
				return true
			}
			d.bloom |= bit
			d.keys = append(d.keys, key)
			return false
		}
		if d.set == nil {
			d.set = make(map[string]struct{}, 4*smallKeys)
		}
		for _, k := range d.keys {
			d.set[k] = struct{}{}
		}
		d.big = true
	}
	if _, ok := d.set[key]; ok {
		d.idx = append(d.idx, i)
		return true
	}
	d.set[key] = struct{}{}
	return false
}

// keyBit hashes a key to one of 64 bits from its length and three bytes:
// no pass over the key, and audit keys of one length differ in those bytes.
func keyBit(k string) uint64 {
	h := uint(len(k))
	if len(k) > 0 {
		h = h*131 + uint(k[len(k)-1])*31 + uint(k[len(k)/2])*7 + uint(k[0])
	}
	return 1 << (h & 63)
}
