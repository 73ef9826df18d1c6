// Package masking hides the local part of email addresses, keeping the
// domain visible: "Jane.Doe+x@Example.com" becomes "***@Example.com".
// String detects addresses in free text; Address masks a value that is an
// address by meaning (user.email), whatever its local part holds.
//
// The detector is deliberately byte-oriented and allocation-free when a
// string holds no address, because every string of every audit record goes
// through it. See README.md ("Email masking") for the rules.
package masking

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// Mask is what replaces a local part.
const Mask = "***"

// Masker masks addresses. The zero value is ready to use and safe for
// concurrent use.
type Masker struct {
	// whole caches "***@domain" for values that are exactly one address
	// (the common user.email case), so masking them allocates nothing.
	whole   sync.Map
	wholeN  atomic.Int32
	noCache bool
}

// The cache holds at most maxCachedDomains domains of at most
// maxCachedDomainLen bytes (DNS allows 253): about 2 MB at worst.
const (
	maxCachedDomains   = 4096
	maxCachedDomainLen = 255
)

// String returns s with every address's local part replaced by Mask, and
// the number of addresses masked. When n is 0, out is s itself; otherwise
// out is in NFC: detection runs on the NFC form, so that a local part
// written with combining marks is found whole.
func (m *Masker) String(s string) (out string, n int) {
	at, w := nextAt(s, 0)
	if at < 0 {
		return s, 0
	}
	// ASCII is always NFC: only text with an '@' and a non-ASCII byte pays
	// for the check.
	if !isASCII(s) && !norm.NFC.IsNormalString(s) {
		ns := norm.NFC.String(s)
		if out, n = m.mask(ns, 0, 0); n == 0 {
			return s, 0
		}
		return out, n
	}
	return m.mask(s, at, w)
}

// Address masks a value whose meaning is an address (user.email):
// everything before the last '@' or "%40" becomes Mask, whatever it holds,
// and the rest is kept as written; a value with neither is masked whole.
// A value already masked is returned as is with n = 0.
func (m *Masker) Address(s string) (out string, n int) {
	if s == "" || IsMasked(s) {
		return s, 0
	}
	at, w := strings.LastIndexByte(s, '@'), 1
	if j := strings.LastIndex(s, "%40"); j > at {
		at, w = j, 3
	}
	switch {
	case at < 0:
		return Mask, 1
	case w == 1:
		return m.wholeAddress(s[at+1:]), 1
	}
	return Mask + s[at:], 1
}

// IsMasked reports whether s is an address field's value as Address
// leaves it: Mask alone, or Mask, '@' or "%40", and a rest holding
// neither.
func IsMasked(s string) bool {
	rest, ok := strings.CutPrefix(s, Mask)
	switch {
	case !ok:
		return false
	case strings.HasPrefix(rest, "@"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "%40"):
		rest = rest[3:]
	case rest != "":
		return false
	}
	return strings.IndexByte(rest, '@') < 0 && !strings.Contains(rest, "%40")
}

func isASCII(s string) bool {
	const highs = 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// mask is String on an NFC s; at and w are the first '@' when known (w > 0).
func (m *Masker) mask(s string, at, w int) (out string, n int) {
	if w == 0 {
		if at, w = nextAt(s, 0); at < 0 {
			return s, 0
		}
	}
	var b []byte
	last, floor := 0, 0
	for at >= 0 {
		ls := localStart(s, at, floor)
		de := domainEnd(s, at+w)
		if ls == at || de < 0 {
			at, w = nextAt(s, at+w)
			continue
		}
		floor = de
		if s[ls:at] != Mask {
			if b == nil {
				if ls == 0 && de == len(s) && w == 1 {
					return m.wholeAddress(s[at+1:]), 1
				}
				b = make([]byte, 0, len(s)+len(Mask))
			}
			b = append(b, s[last:ls]...)
			b = append(b, Mask...)
			last = at
			n++
		}
		at, w = nextAt(s, de)
	}
	if n == 0 {
		return s, 0
	}
	b = append(b, s[last:]...)
	// b is never written again: the string can share it (one allocation, not two).
	return unsafe.String(unsafe.SliceData(b), len(b)), n
}

// Contains reports whether s holds an unmasked address.
func Contains(s string) bool {
	var m Masker
	m.noCache = true
	_, n := m.String(s)
	return n > 0
}

func (m *Masker) wholeAddress(domain string) string {
	if m.noCache || len(domain) > maxCachedDomainLen {
		return Mask + "@" + domain
	}
	if v, ok := m.whole.Load(domain); ok {
		return v.(string)
	}
	v := Mask + "@" + domain
	if m.wholeN.Load() < maxCachedDomains {
		// Clone the key so the cache never pins the caller's (larger) string.
		if _, loaded := m.whole.LoadOrStore(strings.Clone(domain), v); !loaded {
			m.wholeN.Add(1)
		}
	}
	return v
}

// nextAt finds the next '@' or URL-encoded "%40" at or after from, and
// returns its index and width.
func nextAt(s string, from int) (int, int) {
	if from >= len(s) {
		return -1, 0
	}
	rest := s[from:]
	i := strings.IndexByte(rest, '@')
	if strings.IndexByte(rest, '%') >= 0 {
		limit := rest
		if i >= 0 {
			limit = rest[:i]
		}
		if j := strings.Index(limit, "%40"); j >= 0 {
			return from + j, 3
		}
	}
	if i < 0 {
		return -1, 0
	}
	return from + i, 1
}

// MayContain reports whether s holds an '@' or a '%', the bytes every
// address (plain or URL-encoded) needs: one pass, 8 bytes at a time, so the
// common string without either costs a few nanoseconds.
func MayContain(s string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		at    = '@' * ones
		pct   = '%' * ones
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		a, p := w^at, w^pct
		if ((a-ones)&^a|(p-ones)&^p)&highs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] == '@' || s[i] == '%' {
			return true
		}
	}
	return false
}

// localStart scans back from the '@' at index at over local-part characters,
// never past floor (the end of the previous address).
func localStart(s string, at, floor int) int {
	i := at
	for i > floor {
		c := s[i-1]
		if c < utf8.RuneSelf {
			// An apostrophe inside a word (o'brien) belongs to the local
			// part; one that opens a quote ('jane@...') does not.
			if c == '\'' && i-1 > floor && i < at && isWordByte(s[i-2]) {
				i--
				continue
			}
			if !isLocalASCII(c) {
				break
			}
			i--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s[floor:i])
		if r == utf8.RuneError || !isWordRune(r) {
			break
		}
		i -= size
	}
	return i
}

// Local parts: letters, digits and ._%+-, the RFC 5322 characters !#$^~
// that nothing uses as a delimiter, plus '*' so masking is idempotent.
// Quotes, brackets, '=', '/', '&', '?', ':' and the like end a local part,
// which is what finds addresses inside URLs, mailto: links, JSON and prose.
func isLocalASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '*' ||
		c == '!' || c == '#' || c == '$' || c == '^' || c == '~'
}

// isWordRune: a letter or digit of any script, or a combining mark (one
// that NFC could not compose onto its letter).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isDomainASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// domainEnd returns the end of a valid domain starting at i, or -1.
// Valid: two or more non-empty labels, none starting or ending with '-',
// and a top-level label of two or more letters (or an IDN "xn--" label).
// An IP literal in brackets ("[192.0.2.1]") is also accepted.
func domainEnd(s string, i int) int {
	if i < len(s) && s[i] == '[' {
		return ipLiteralEnd(s, i)
	}
	j := i
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if !isDomainASCII(c) {
				break
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError || !isWordRune(r) {
			break
		}
		j += size
	}
	// A sentence may end right after the address.
	for j > i && (s[j-1] == '.' || s[j-1] == '-') {
		j--
	}
	if !validDomain(s[i:j]) {
		return -1
	}
	return j
}

func validDomain(d string) bool {
	if d == "" {
		return false
	}
	labels := 0
	var tld string
	for d != "" {
		k := strings.IndexByte(d, '.')
		label := d
		if k >= 0 {
			label, d = d[:k], d[k+1:]
			if d == "" {
				return false
			}
		} else {
			d = ""
		}
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		labels++
		tld = label
	}
	if labels < 2 {
		return false
	}
	if len(tld) >= 4 && (tld[:4] == "xn--" || tld[:4] == "XN--") {
		return true
	}
	letters := 0
	for _, r := range tld {
		switch {
		case unicode.IsLetter(r):
			letters++
		case !unicode.IsMark(r):
			return false
		}
	}
	return letters >= 2
}

func ipLiteralEnd(s string, i int) int {
	j := i + 1
	if len(s) >= j+5 && strings.EqualFold(s[j:j+5], "IPv6:") {
		j += 5
	}
	for j < len(s) && s[j] != ']' {
		c := s[j]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return -1
		}
		j++
	}
	if j >= len(s) || j == i+1 {
		return -1
	}
	return j + 1
}
