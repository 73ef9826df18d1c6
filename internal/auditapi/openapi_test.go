package auditapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Ref  string `yaml:"$ref"`
			Name string `yaml:"name"`
			In   string `yaml:"in"`
		} `yaml:"parameters"`
		Responses map[string]any `yaml:"responses"`
	} `yaml:"paths"`
	Components struct {
		Parameters map[string]struct {
			Name string `yaml:"name"`
		} `yaml:"parameters"`
	} `yaml:"components"`
}

// The OpenAPI file and the handlers agree: the same operations, the same
// query parameters per operation, and each error the handlers answer is
// described.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	var doc openAPIDoc
	require.NoError(t, yaml.Unmarshal(OpenAPI, &doc))
	var described []string
	for path, ops := range doc.Paths {
		for method := range ops {
			described = append(described, strings.ToUpper(method)+" "+path)
		}
	}
	assert.ElementsMatch(t, Routes, described)

	// What each handler accepts (parseRequest's allowed lists).
	wantParams := map[string][]string{
		"GET /api/v1/events":                       append(slices.Clone(FilterParams), PageParams...),
		"GET /api/v1/events/export":                append(slices.Clone(FilterParams), "format"),
		"GET /api/v1/resources/{type}/{id}/events": append(slices.DeleteFunc(slices.Clone(FilterParams), func(p string) bool { return p == "resource" }), PageParams...),
	}
	for route, want := range wantParams {
		method, path, _ := strings.Cut(route, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		var got []string
		for _, p := range op.Parameters {
			name, in := p.Name, p.In
			if p.Ref != "" {
				name, in = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")].Name, "query"
			}
			if in == "query" {
				got = append(got, name)
			}
		}
		assert.ElementsMatch(t, want, got, route)
		for _, code := range []string{"200", "400", "401", "403", "429", "503"} {
			assert.Contains(t, op.Responses, code, "%s does not describe %s", route, code)
		}
	}
	assert.Contains(t, doc.Paths["/api/v1/viewer-tokens"]["post"].Responses, "201")
}
