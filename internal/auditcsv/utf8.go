package auditcsv

import "unicode/utf8"

// invalidUTF8 finds the first field of rec that is not UTF-8: its index and
// the offset of the first bad byte, or -1. The JSON path refuses invalid
// UTF-8 too, so both paths store only text.
func invalidUTF8(rec []string) (col, at int) {
	for i, f := range rec {
		if utf8.ValidString(f) {
			continue
		}
		for at, r := range f {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(f[at:]); size == 1 {
					return i, at
				}
			}
		}
	}
	return -1, 0
}
