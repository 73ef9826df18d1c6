package estest

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// validateIndexName applies Elasticsearch's rules for a new index, in its
// order (the first failing rule answers). Source:
// MetadataCreateIndexService.validateIndexOrAliasName and validateIndexName
// (server/src/main/java/org/elasticsearch/cluster/metadata).
func validateIndexName(name string) error {
	if err := indexOrAliasName(name); err != "" {
		return invalidName(name, err)
	}
	if strings.ToLower(name) != name {
		return invalidName(name, "must be lowercase")
	}
	return nil
}

// validateDataStreamName: the same rules, phrased for data streams, and no
// backing-index prefix. Source: MetadataCreateDataStreamService.createDataStream.
func validateDataStreamName(name string) error {
	if err := indexOrAliasName(name); err != "" {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("data_stream [%s] %s", name, err)}
	}
	if strings.ToLower(name) != name {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("data_stream [%s] must be lowercase", name)}
	}
	if strings.HasPrefix(name, ".ds-") {
		return esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("data_stream [%s] must not start with '.ds-'", name)}
	}
	return nil
}

func (e esError) Error() string { return e.Type + ": " + e.Reason }

func invalidName(name, why string) esError {
	return esError{Type: "invalid_index_name_exception", Reason: fmt.Sprintf("Invalid index name [%s], %s", name, why),
		Extra: map[string]any{"index_uuid": "_na_", "index": name}}
}

// invalidFileNameChars is Strings.INVALID_FILENAME_CHARS.
const invalidFileNameChars = "\\/*?\"<>| ,"

func indexOrAliasName(name string) string {
	if name == "" {
		return "must not be empty"
	}
	if strings.ContainsAny(name, invalidFileNameChars) {
		return `must not contain the following characters ['\\','/','*','?','"','<','>','|',' ',',']`
	}
	if strings.Contains(name, "#") {
		return "must not contain '#'"
	}
	if strings.Contains(name, ":") {
		return "must not contain ':'"
	}
	if c := name[0]; c == '_' || c == '-' || c == '+' {
		return "must not start with '_', '-', or '+'"
	}
	if len(name) > 255 {
		return fmt.Sprintf("index name is too long, (%d > 255)", len(name))
	}
	if name == "." || name == ".." {
		return "must not be '.' or '..'"
	}
	return ""
}

// originationPattern is the name an index must have when
// index.lifecycle.parse_origination_date is true. Source:
// x-pack/plugin/core/.../ilm/IndexLifecycleOriginationDateParser.java.
var originationPattern = regexp.MustCompile(`^.*-(\d{4}.\d{2}.\d{2})(-[\d]+)?$`)

// parseOriginationDate returns the date in an index name, or the error
// Elasticsearch refuses the index creation with.
func parseOriginationDate(name string) (time.Time, error) {
	m := originationPattern.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("index name [%s] does not match pattern '%s'", name, originationPattern.String())}
	}
	t, err := time.Parse("2006.01.02", m[1])
	if err != nil {
		return time.Time{}, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("index name [%s] contains date [%s] which couldn't be parsed using the 'yyyy.MM.dd' format", name, m[1])}
	}
	return t, nil
}

// globMatch is Regex.simpleMatch: '*' matches any run of characters. It
// backtracks only to the last star, so it is linear in practice.
func globMatch(pattern, s string) bool {
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// globsIntersect reports whether some name matches both patterns, as
// MetadataIndexTemplateService.findConflictingV2Templates decides with an
// automaton intersection. The product of the two patterns' automata is
// searched for a path to both accepting states.
func globsIntersect(a, b string) bool {
	type state struct{ i, j int }
	seen := map[state]bool{}
	var visit func(i, j int) bool
	visit = func(i, j int) bool {
		st := state{i, j}
		if seen[st] {
			return false
		}
		seen[st] = true
		if i == len(a) && j == len(b) {
			return true
		}
		// A '*' may match nothing.
		if i < len(a) && a[i] == '*' && visit(i+1, j) {
			return true
		}
		if j < len(b) && b[j] == '*' && visit(i, j+1) {
			return true
		}
		if i == len(a) || j == len(b) {
			return false
		}
		switch {
		case a[i] == '*' && b[j] == '*':
			return visit(i, j+1) || visit(i+1, j)
		case a[i] == '*':
			return visit(i, j+1) // a's star eats b's character
		case b[j] == '*':
			return visit(i+1, j)
		case a[i] == b[j]:
			return visit(i+1, j+1)
		}
		return false
	}
	return visit(0, 0)
}
