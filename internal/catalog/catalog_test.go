package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const header = `catalog: test
categories:
  - {name: access_control, description: a}
  - {name: view_data, description: b}
events:
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"duplicate name", header + "  - {name: a.create, group: G, categories: [view_data], description: d}\n  - {name: a.create, group: G, categories: [view_data], description: d}\n",
			"t.yaml:7: duplicate event \"a.create\", first declared at t.yaml:6"},
		{"case variant", header + "  - {name: CreateThing, group: G, categories: [view_data], description: d}\n  - {name: create_thing, group: G, categories: [view_data], description: d}\n",
			"t.yaml:7: event \"create_thing\" differs from \"CreateThing\" (t.yaml:6) only in case or separators"},
		{"unknown category", header + "  - {name: a, group: G, categories: [viewdata], description: d}\n",
			"t.yaml:6: event \"a\": unknown category \"viewdata\" (declared: access_control, view_data)"},
		{"no categories", header + "  - {name: a, group: G, description: d}\n", "t.yaml:6: event \"a\" has no categories"},
		{"no group", header + "  - {name: a, categories: [view_data], description: d}\n", "t.yaml:6: event \"a\" has no group"},
		{"no description", header + "  - {name: a, group: G, categories: [view_data]}\n", "t.yaml:6: event \"a\" has no description"},
		{"no name", header + "  - {group: G, categories: [view_data], description: d}\n", "t.yaml:6: event has no name"},
		{"bad name", header + "  - {name: \"a b\", group: G, categories: [view_data], description: d}\n", "t.yaml:6: event name \"a b\""},
		{"unknown field", header + "  - {name: a, group: G, categories: [view_data], description: d, catgories: [x]}\n", "t.yaml:6: event: field catgories not found"},
		{"unknown top-level field", "catalg: x\n", "t.yaml:1: field catalg not found"},
		{"ecs category", header + "  - {name: a, group: G, categories: [view_data], description: d, ecs: {category: [auth]}}\n", "\"auth\" is not an ECS event.category"},
		{"ecs type", header + "  - {name: a, group: G, categories: [view_data], description: d, ecs: {type: [made]}}\n", "\"made\" is not an ECS event.type"},
		{"category twice on event", header + "  - {name: a, group: G, categories: [view_data, view_data], description: d}\n", "lists category \"view_data\" twice"},
		{"category declared twice", "catalog: x\ncategories:\n  - {name: a}\n  - {name: a}\nevents:\n  - {name: e, group: G, categories: [a], description: d}\n", "t.yaml:4: category \"a\" declared twice"},
		{"malformed yaml", header + "  - {name: a, group: [G\n", "t.yaml:"},
		{"events not a list", "catalog: x\ncategories:\n  - {name: a}\nevents: 3\n", "t.yaml:4:"},
		{"no catalog name", "categories:\n  - {name: a}\nevents:\n  - {name: e, group: G, categories: [a], description: d}\n", "missing top-level \"catalog\""},
		{"no events", "catalog: x\ncategories:\n  - {name: a}\n", "no events declared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "catalog t.yaml"), err.Error())
		})
	}
}

func TestLookupIsExact(t *testing.T) {
	c, err := Parse("t.yaml", []byte(header+"  - {name: CreateApiKey, group: Credential, categories: [access_control, view_data], ecs: {category: [iam], type: [creation]}, description: d}\n"))
	require.NoError(t, err)
	a, ok := c.Lookup("CreateApiKey")
	require.True(t, ok)
	assert.Equal(t, "Credential", a.Group)
	assert.Equal(t, []string{"access_control", "view_data"}, a.Categories)
	assert.Equal(t, []string{"iam"}, a.ECSCategory)
	assert.Equal(t, 6, a.Line)
	for _, variant := range []string{"createapikey", "create_api_key", "CreateApiKey ", "Create-Api-Key", ""} {
		_, ok := c.Lookup(variant)
		assert.False(t, ok, variant)
	}
	s, ok := c.Suggest("create_api_key")
	assert.True(t, ok)
	assert.Equal(t, "CreateApiKey", s)
	_, ok = c.Suggest("delete_api_key")
	assert.False(t, ok)
}

// The shipped catalogs must load together: names are unique across them.
func TestShippedCatalogs(t *testing.T) {
	files, err := filepath.Glob("../../config/catalogs/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 3)
	c, err := Load(files...)
	require.NoError(t, err)
	assert.Equal(t, 48+50+89, c.Len())

	cod, err := Load("../../config/catalogs/codatum.yaml")
	require.NoError(t, err)
	var names []string
	for _, cat := range cod.Categories() {
		names = append(names, cat.Name)
	}
	assert.Equal(t, []string{"workspace_management", "access_control", "data_permission", "view_data", "edit_content", "view_content"}, names)
	a, ok := cod.Lookup("api_key.use")
	require.True(t, ok)
	assert.Equal(t, []string{"view_data", "view_content"}, a.Categories)
	a, ok = cod.Lookup("integration.notebook.open")
	require.True(t, ok)
	assert.Equal(t, []string{"view_data", "view_content"}, a.Categories)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load()
	require.Error(t, err)
	_, err = Load("does-not-exist.yaml")
	require.ErrorContains(t, err, "catalog does-not-exist.yaml")
	// The same file twice is a duplicate, reported with both places.
	_, err = Load("../../config/catalogs/analytics.yaml", "../../config/catalogs/analytics.yaml")
	require.ErrorContains(t, err, "duplicate event \"org_user_role_changed\", first declared at ../../config/catalogs/analytics.yaml:")
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"CreateNotebook": "createnotebook", "create_notebook": "createnotebook", "notebook.create": "notebookcreate", "A-b:C d": "abcd"} {
		assert.Equal(t, want, Normalize(in), in)
	}
}

// Did-you-mean answers case and separator variants, and typos by edit
// distance (a transposition counts once), but not a different action.
func TestSuggest(t *testing.T) {
	c, err := Load("../../config/catalogs/codatum.yaml")
	require.NoError(t, err)
	tests := []struct {
		in, want string // want "" for no suggestion
	}{
		{"ReportView", "report.view"},
		{"report_view", "report.view"},
		{"report.veiw", "report.view"},    // transposition
		{"report.vew", "report.view"},     // deletion
		{"reportt.view", "report.view"},   // insertion
		{"report.viex", "report.view"},    // substitution
		{"Report.Veiw", "report.view"},    // case and a typo
		{"notebok.opne", "notebook.open"}, // two typos in a long name
		{"report.vw", "report.view"},      // two deletions
		{"rep.view", ""},                  // three: too far
		{"report.hide", ""},
		{"delete_everything", ""},
		{"", ""},
		{strings.Repeat("report.view", 100), ""}, // long input: no work, no answer
	}
	for _, tt := range tests {
		got, ok := c.Suggest(tt.in)
		assert.Equal(t, tt.want != "", ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"view", "view", 0}, {"veiw", "view", 1},
		{"vew", "view", 1}, {"viex", "view", 1}, {"abc", "ca", 3}, {"kitten", "sitting", 3},
	} {
		assert.Equal(t, tt.want, editDistance(tt.a, tt.b, nil), "%q %q", tt.a, tt.b)
		assert.Equal(t, tt.want, editDistance(tt.b, tt.a, nil), "%q %q", tt.b, tt.a)
	}
}

// Every problem is reported, not only the first: a lint run fixes a
// catalog in one pass.
func TestEveryProblemIsReported(t *testing.T) {
	doc := header +
		"  - {name: a, group: G, categories: [viewdata], description: d}\n" +
		"  - {name: b, categories: [view_data]}\n" +
		"  - {name: \"c d\", group: G, categories: [view_data], description: d}\n" +
		"  - {name: e, group: G, categories: [view_data], description: d, ecs: {type: [made]}}\n" +
		"  - {name: f, group: G, categories: [view_data], description: d}\n" +
		"  - {name: f, group: G, categories: [view_data], description: d}\n"
	_, err := Parse("t.yaml", []byte(doc))
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		`catalog t.yaml:6: event "a": unknown category "viewdata" (declared: access_control, view_data)`,
		`catalog t.yaml:7: event "b" has no group`,
		`catalog t.yaml:7: event "b" has no description`,
		`catalog t.yaml:8: event name "c d": use letters and digits, optionally separated by single '.', '_', ':' or '-'`,
		`catalog t.yaml:9: event "e": "made" is not an ECS event.type (allowed: access, admin, allowed, change, connection, creation, deletion, denied, device, end, error, group, indicator, info, installation, protocol, start, user)`,
		`catalog t.yaml:11: duplicate event "f", first declared at t.yaml:10`,
	}, "\n"), err.Error())

	dir := t.TempDir()
	one := filepath.Join(dir, "one.yaml")
	two := filepath.Join(dir, "two.yaml")
	require.NoError(t, os.WriteFile(one, []byte("catalog: one\nevents:\n  - {name: a, group: G, categories: [x], description: d}\n"), 0o600))
	require.NoError(t, os.WriteFile(two, []byte(header+"  - {name: a, group: G, categories: [view_data]}\n"), 0o600))
	_, err = Load(one, filepath.Join(dir, "missing.yaml"), two)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"catalog " + one + ":1: no categories declared",
		"catalog " + filepath.Join(dir, "missing.yaml") + ": open",
		"catalog " + two + `:6: event "a" has no description`,
	} {
		assert.Contains(t, msg, want)
	}
}

// Suggest reuses one buffer for every comparison: what an earlier
// comparison left in it must not change a later distance.
func TestEditDistanceReusedRows(t *testing.T) {
	words := []string{"", "a", "ab", "ba", "reportview", "reportveiw", "notebookopen", "notbookopen", "x", "abcdefghij", "jihgfedcba"}
	rows := make([]int, 3*(len("notebookopen")+1))
	for i := range rows {
		rows[i] = -7 // garbage, as a previous comparison may leave
	}
	for _, a := range words {
		for _, b := range words {
			if 3*(len(b)+1) > len(rows) {
				continue
			}
			assert.Equal(t, editDistance(a, b, nil), editDistance(a, b, rows), "%q %q", a, b)
		}
	}
}
