package catalog

// maxSuggestLen bounds the names Suggest compares by edit distance: an
// unknown action comes from a sender, and each comparison costs the
// product of the lengths.
const maxSuggestLen = 128

// Suggest returns the catalog name that name most likely meant, for error
// messages: one that differs only in case or separators, else the closest
// by edit distance over the normalized names (see maxEdits), the first
// declared on a tie.
func (c *Catalog) Suggest(name string) (string, bool) {
	norm := Normalize(name)
	if a, ok := c.normalized[norm]; ok {
		return a.Name, true
	}
	if norm == "" || len(norm) > maxSuggestLen {
		return "", false
	}
	limit := maxEdits(len(norm))
	var best *Action
	bestD := limit + 1
	rows := make([]int, 3*(len(norm)+1)) // one allocation for every comparison
	for i, other := range c.normNames {
		if abs(len(other)-len(norm)) >= bestD {
			continue // cannot be closer: each length difference is one edit
		}
		if d := editDistance(other, norm, rows); d < bestD {
			best, bestD = c.ordered[i], d
		}
	}
	if best == nil {
		return "", false
	}
	return best.Name, true
}

// maxEdits is how far a typo may be: one edit up to 7 characters, two
// from 8 on, so that a short name does not suggest an unrelated one.
func maxEdits(n int) int {
	if n < 8 {
		return 1
	}
	return 2
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions, and transpositions of two adjacent
// bytes, each one edit. rows holds at least 3*(len(b)+1) ints, or is nil.
func editDistance(a, b string, rows []int) int {
	if len(rows) < 3*(len(b)+1) {
		rows = make([]int, 3*(len(b)+1))
	}
	// Three rows: the one two back is needed for transpositions.
	n := len(b) + 1
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:3*n]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
