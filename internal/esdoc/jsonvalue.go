package esdoc

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	case pcommon.ValueTypeMap:
		b = append(b, '{')
		n := 0
		for k, vv := range v.Map().All() {
			b, n = sep(b, n)
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, vv)
		}
		return append(b, '}')
	case pcommon.ValueTypeSlice:
		b = append(b, '[')
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, s.At(i))
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// safe marks the ASCII bytes that need no escaping in a JSON string.
var safe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// plain reports whether 8 bytes need no escaping: none below 0x20, none
// '"' or '\\', none 0x80 or above. A subtraction sets a byte's top bit only
// for a byte that is bad itself or that a bad byte below borrowed from, and
// every byte from 0x80 up keeps its top bit in the first or the second term
// (TestPlainMatchesTable checks every byte at every position).
func plain(w uint64) bool {
	return ((w-0x20*lo)|(w^('"'*lo)-lo)|(w^('\\'*lo)-lo))&hi == 0
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
// Most strings are printable ASCII: they are checked and copied in one pass,
// 8 bytes at a time.
func appendString(b []byte, s string) []byte {
	l, n := len(b), len(s)
	if cap(b)-l < n+2 {
		b = slices.Grow(b, n+2)
	}
	out := b[l : l+n+2]
	out[0] = '"'
	if n >= 8 {
		src, dst := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(&out[1])
		for i := 0; i+8 < n; i += 8 {
			w := *(*uint64)(unsafe.Add(src, i))
			if !plain(w) {
				return appendEscaped(append(b, '"'), s, i)
			}
			*(*uint64)(unsafe.Add(dst, i)) = w
		}
		// The last word overlaps the one before rather than going byte
		// by byte.
		w := *(*uint64)(unsafe.Add(src, n-8))
		if !plain(w) {
			return appendEscaped(append(b, '"'), s, (n-8)&^7)
		}
		*(*uint64)(unsafe.Add(dst, n-8)) = w
	} else if n >= 4 {
		// Two 4-byte words that overlap cover 4 to 7 bytes.
		src, dst := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(&out[1])
		w1, w2 := *(*uint32)(src), *(*uint32)(unsafe.Add(src, n-4))
		if !plain(uint64(w1)<<32 | uint64(w2)) {
			return appendEscaped(append(b, '"'), s, 0)
		}
		*(*uint32)(dst) = w1
		*(*uint32)(unsafe.Add(dst, n-4)) = w2
	} else {
		for i := 0; i < n; i++ {
			c := s[i]
			if !safe[c] {
				return appendEscaped(append(b, '"'), s, i)
			}
			out[1+i] = c
		}
	}
	out[n+1] = '"'
	return b[:l+n+2]
}

// plainString reports whether s needs no escaping.
func plainString(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if !safe[s[i]] {
				return false
			}
		}
		return true
	}
	p := unsafe.Pointer(unsafe.StringData(s))
	for i := 0; i+8 < n; i += 8 {
		if !plain(*(*uint64)(unsafe.Add(p, i))) {
			return false
		}
	}
	return plain(*(*uint64)(unsafe.Add(p, n-8)))
}

// appendEscaped writes the rest of a JSON string whose first i bytes need
// no escaping, and closes it.
func appendEscaped(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		if i+8 <= len(s) {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if plain(w) {
				i += 8
				continue
			}
		}
		c := s[i]
		if safe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript consumers of the JSON.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
