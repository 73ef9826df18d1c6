package estest

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// scanner reads one JSON document in place, validating it as
// Elasticsearch's parser does (strict JSON, no duplicate names:
// JsonXContent enables STRICT_DUPLICATE_DETECTION), without building
// strings: the mapping check walks it at a few hundred megabytes a second,
// so the load harness measures the collector rather than the double.
type scanner struct {
	b       []byte
	i       int
	scratch []byte
}

// maxDepth bounds nesting, as Elasticsearch's parser does (a document
// nested deeper is refused).
const maxDepth = 1000

var errDepth = errors.New("the document is nested too deeply")

func (s *scanner) fail(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("unexpected end of the document: %s", what)
	}
	return fmt.Errorf("unexpected character (%q) at position %d: %s", s.b[s.i], s.i, what)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// atEnd reports whether only spaces are left.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.i >= len(s.b)
}

// peek is the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte, what string) error {
	if s.peek() != c {
		return s.fail(what)
	}
	s.i++
	return nil
}

// str reads a string at s.i and returns its raw content (between the
// quotes) and whether it has escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.fail("expected a string")
	}
	s.i++
	start, high := s.i, false
	for s.i < len(s.b) {
		// Most bytes are plain: skip them in a tight loop.
		for s.i < len(s.b) && plainByte[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			if high && !utf8.Valid(raw) {
				return nil, false, errors.New("invalid UTF-8 in a string")
			}
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, s.fail("unterminated escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return nil, false, s.fail("bad \\u escape")
				}
				s.i += 6
			default:
				return nil, false, s.fail("bad escape")
			}
		case c < 0x20:
			return nil, false, s.fail("control character in a string")
		default:
			high = high || c >= 0x80
			s.i++
		}
	}
	return nil, false, s.fail("unterminated string")
}

// plainByte marks the bytes a string holds as they are: not a quote, a
// backslash, a control character or the start of a multi-byte sequence.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// text is a string's value: raw, or unescaped into scratch.
func (s *scanner) text(raw []byte, escaped bool) []byte {
	if !escaped {
		return raw
	}
	s.scratch = unescape(s.scratch[:0], raw)
	return s.scratch
}

// unescape decodes JSON escapes in raw (already validated).
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hexVal(raw[i+1 : i+5]))
			i += 4
			if 0xD800 <= r && r < 0xDC00 && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo := rune(hexVal(raw[i+3 : i+7])); 0xDC00 <= lo && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hexVal(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c <= '9':
			n |= int(c - '0')
		case c <= 'F':
			n |= int(c-'A') + 10
		default:
			n |= int(c-'a') + 10
		}
	}
	return n
}

// number reads a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, s.fail("expected a value")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.fail("expected digits after the decimal point")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.fail("expected an exponent")
		}
	}
	return s.b[start:s.i], nil
}

func (s *scanner) literal(lit string) ([]byte, error) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return nil, s.fail("expected a value")
	}
	s.i += len(lit)
	return s.b[s.i-len(lit) : s.i], nil
}

// scalar reads a string, number, true, false or null and returns its text
// (a string unescaped) and whether it was a string.
func (s *scanner) scalar() (text []byte, quoted bool, err error) {
	switch c := s.peek(); {
	case c == '"':
		raw, esc, err := s.str()
		if err != nil {
			return nil, false, err
		}
		return s.text(raw, esc), true, nil
	case c == 't':
		text, err = s.literal("true")
	case c == 'f':
		text, err = s.literal("false")
	case c == 'n':
		text, err = s.literal("null")
	default:
		text, err = s.number()
	}
	return text, false, err
}

// names tracks an object's member names to refuse duplicates; small
// objects compare in place, large ones hash (linear either way).
type names struct {
	small [16][]byte
	n     int
	set   map[string]bool
}

func (n *names) add(name []byte) bool {
	if n.set != nil {
		if n.set[string(name)] {
			return false
		}
		n.set[string(name)] = true
		return true
	}
	for _, x := range n.small[:n.n] {
		if string(x) == string(name) {
			return false
		}
	}
	if n.n < len(n.small) {
		n.small[n.n] = name
		n.n++
		return true
	}
	n.set = make(map[string]bool, 64)
	for _, x := range n.small {
		n.set[string(x)] = true
	}
	n.set[string(name)] = true
	return true
}

// skip reads any value, validating it, and reports the depth of objects
// in it (for flattened's depth_limit).
func (s *scanner) skip(depth int) (objDepth int, err error) {
	if depth > maxDepth {
		return 0, errDepth
	}
	switch s.peek() {
	case '{':
		s.i++
		var seen names
		deepest := 0
		if s.peek() == '}' {
			s.i++
			return 1, nil
		}
		for {
			raw, esc, err := s.str()
			if err != nil {
				return 0, err
			}
			name := raw
			if esc {
				name = []byte(string(s.text(raw, esc))) // scratch is reused
			}
			if !seen.add(name) {
				return 0, fmt.Errorf("duplicate field '%s'", name)
			}
			if err := s.expect(':', "expected ':'"); err != nil {
				return 0, err
			}
			d, err := s.skip(depth + 1)
			if err != nil {
				return 0, err
			}
			deepest = max(deepest, d)
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return deepest + 1, nil
			default:
				return 0, s.fail("expected ',' or '}'")
			}
		}
	case '[':
		s.i++
		deepest := 0
		if s.peek() == ']' {
			s.i++
			return 0, nil
		}
		for {
			d, err := s.skip(depth + 1)
			if err != nil {
				return 0, err
			}
			deepest = max(deepest, d)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return deepest, nil
			default:
				return 0, s.fail("expected ',' or ']'")
			}
		}
	}
	_, _, err = s.scalar()
	return 0, err
}
