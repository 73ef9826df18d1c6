package auditcsv

import "strings"

// formulaStart holds the characters that make a spreadsheet read a cell as
// a formula (OWASP, "CSV Injection").
const formulaStart = "=+-@\t\r"

// neutralize makes a cell inert in a spreadsheet: a value that, after any
// leading single quotes, begins with a formula character gets one more
// quote in front. Counting the sender's own quotes keeps the pair
// lossless: unneutralize removes exactly the quote added here.
func neutralize(s string) string {
	if startsFormula(strings.TrimLeft(s, "'")) {
		return "'" + s
	}
	return s
}

// unneutralize undoes neutralize when a cell is read.
func unneutralize(s string) string {
	if len(s) > 1 && s[0] == '\'' && startsFormula(strings.TrimLeft(s, "'")) {
		return s[1:]
	}
	return s
}

func startsFormula(s string) bool {
	return s != "" && strings.IndexByte(formulaStart, s[0]) >= 0
}
