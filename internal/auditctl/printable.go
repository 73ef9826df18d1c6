package auditctl

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Event fields come from senders. Output meant for people (the table,
// errors, warnings) shows every character a terminal would act on as an
// escape, so a field cannot clear the screen, retitle the window, move the
// cursor to overwrite a row, fake a row or reverse the text around it.

// needsEscape: C0 controls, DEL, C1 controls, the bidi embeddings,
// overrides, isolates and marks (Unicode TR9), and the line and paragraph
// separators. Other format characters (the zero-width joiner of emoji
// sequences) are left alone.
func needsEscape(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	switch r {
	case 0x061c, 0x200e, 0x200f, 0x2028, 0x2029:
		return true
	}
	return false
}

// Printable returns s with every such character written as a Go-style
// escape (\n, \r, \t, \x1b, \u202e) and invalid UTF-8 as \xNN. Printable
// text, backslashes included, is unchanged.
func Printable(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || needsEscape(r) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			if needsEscape(r) {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteByte(byte(r))
			}
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeJSONControls rewrites, in valid JSON, the characters JSON allows
// raw but a terminal acts on (DEL, C1, bidi controls, U+2028/9) as \u
// escapes: the same value to every JSON reader. Such characters can only
// be inside strings, so no token changes. Invalid UTF-8 becomes \ufffd.
func escapeJSONControls(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r >= 0x20 && needsEscape(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// EscapeJSONControls is escapeJSONControls for other packages' JSON
// output (verify's report): the same value, no terminal control.
func EscapeJSONControls(b []byte) []byte { return escapeJSONControls(b) }
