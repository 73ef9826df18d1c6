package digest

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendPayload appends the JSON of d exactly as encoding/json writes it
// (FuzzPayload holds it to that), without reflection: a digest lists up
// to max_events entries and is encoded on the write path.
func appendPayload(b []byte, d Digest) ([]byte, error) {
	for _, t := range []time.Time{d.From, d.To} {
		if y := t.Year(); y < 0 || y > 9999 {
			// encoding/json refuses these; let it say so.
			return json.Marshal(d)
		}
	}
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(d.Version), 10)
	b = append(b, `,"chain":`...)
	b = appendJSONString(b, d.Chain)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, d.Seq, 10)
	b = append(b, `,"previous":`...)
	b = appendJSONString(b, d.Previous)
	b = append(b, `,"from":"`...)
	b = d.From.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","to":"`...)
	b = d.To.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","count":`...)
	b = strconv.AppendInt(b, int64(d.Count), 10)
	b = append(b, `,"events":[`...)
	for i, e := range d.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, e.ID)
		b = append(b, `,"sha256":`...)
		b = appendJSONString(b, e.SHA256)
		if e.Index != "" {
			b = append(b, `,"index":`...)
			b = appendJSONString(b, e.Index)
		}
		if e.Dead {
			b = append(b, `,"dead":true`...)
		}
		if e.Conflict {
			b = append(b, `,"conflict":true`...)
		}
		if e.Unconfirmed {
			b = append(b, `,"unconfirmed":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if d.Final {
		b = append(b, `,"final":true`...)
	}
	b = append(b, `,"key_id":`...)
	b = appendJSONString(b, d.KeyID)
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping:
// <, >, & and control bytes as \u00XX (\b \f \n \r \t short), invalid
// UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
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
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
