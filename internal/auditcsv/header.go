package auditcsv

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
)

// maxKeyLen bounds a property name made from a column header, in bytes.
const maxKeyLen = 128

// extraColumn is a column we do not know: its cells become a property.
type extraColumn struct {
	index  int
	header string // as written
	key    string // propertyKey(header)
}

// propertyKey is the property name a column we do not know gets: its
// header lowercased, each run of characters other than letters and digits
// made one '_', and leading and trailing '_' dropped ("Ticket No." is
// ticket_no). The name never holds a dot, so it cannot be a core field nor
// reach into an object; a header with no letter or digit, or whose name
// would be longer than 128 bytes, is an error.
func propertyKey(header string) (string, error) {
	var b strings.Builder
	sep := false
	for _, c := range header {
		if !isKeyRune(c) {
			sep = b.Len() > 0
			continue
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		b.WriteRune(unicode.ToLower(c))
		if b.Len() > maxKeyLen {
			return "", fmt.Errorf("the property name it gives is longer than %d bytes: shorten the column name", maxKeyLen)
		}
	}
	if b.Len() == 0 {
		return "", errors.New("no letter or digit to name a property: name the column")
	}
	return b.String(), nil
}

// isKeyRune is what a property name keeps of a header; the lowercase of a
// letter must be a letter, so a name maps to itself.
func isKeyRune(c rune) bool {
	return (unicode.IsLetter(c) && unicode.IsLetter(unicode.ToLower(c))) || unicode.IsDigit(c)
}

// canonical is the ExportColumns name a header matches, ignoring case.
func canonical(h string) (string, bool) {
	for _, c := range ExportColumns {
		if strings.EqualFold(c, h) {
			return c, true
		}
	}
	return "", false
}

// readHeader maps each column: a known one by its name, any other to a
// property, within the property limits.
func (rd *Reader) readHeader(header []string, lim auditevent.PropertyLimits) error {
	keys := map[string]string{} // property key -> header
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		}
		if name, ok := canonical(h); ok {
			if _, dup := rd.col[name]; dup {
				return fmt.Errorf("line 1: column %q appears twice", name)
			}
			rd.col[name] = i
			rd.header = append(rd.header, name)
			continue
		}
		key, err := propertyKey(h)
		if err != nil {
			return fmt.Errorf("line 1, column %d (%q): %w", i+1, truncate(h), err)
		}
		// "EventID" or "IP_Address" meant a known column: as a property it
		// would lose its meaning (an event id lost makes a re-import store
		// the events again), so it is refused, naming the column.
		if known, ok := nearKnown(key); ok {
			return fmt.Errorf("line 1, column %d (%q): did you mean the column %q? Spell it as the export does", i+1, truncate(h), known)
		}
		if prev, dup := keys[key]; dup {
			return fmt.Errorf("line 1: columns %q and %q both become the property %q; rename one", truncate(prev), truncate(h), key)
		}
		keys[key] = h
		rd.extra = append(rd.extra, extraColumn{index: i, header: h, key: key})
		rd.header = append(rd.header, h)
	}
	for _, l := range []struct {
		name string
		max  int
	}{{"max_property_keys", lim.MaxKeys}, {"max_property_values", lim.MaxValues}} {
		if len(rd.extra) > l.max {
			return fmt.Errorf("line 1: %d columns we do not know would become properties; %s is %d. Known columns are %s",
				len(rd.extra), l.name, l.max, strings.Join(ExportColumns, ", "))
		}
	}
	for _, c := range required {
		if _, ok := rd.col[c]; !ok {
			return fmt.Errorf("line 1: missing column %q; a CSV import needs at least %s", c, strings.Join(required, ", "))
		}
	}
	return nil
}

func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// nearKnown is the known column whose name, with everything but letters
// and digits removed and in lower case, is key's likewise.
func nearKnown(key string) (string, bool) {
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	k := squash(key)
	for _, c := range ExportColumns {
		if squash(c) == k {
			return c, true
		}
	}
	return "", false
}
