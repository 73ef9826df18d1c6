// Package conformance holds the test double (internal/estest) and a real
// Elasticsearch to the same expectations: one table of REST calls, the
// answers Elasticsearch gives them, and where each expectation comes from
// (the REST specification, the docs, the YAML REST tests or the source).
// It runs against the double in `make test`, and also against the cluster
// at ELASTICSEARCH_URL when that is set (with ELASTICSEARCH_API_KEY or
// ELASTICSEARCH_USER/ELASTICSEARCH_PASSWORD of a superuser: cases create
// and delete templates, roles, users and cluster settings of their own).
package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/estest"
)

// step is one call and what Elasticsearch answers.
type step struct {
	method, path, body string
	status             int
	// want is matched as a subset of the answer: every key given must be
	// there with a matching value; arrays must have the same length;
	// "<any>" matches anything, "~re" a string matching re, "<absent>" a
	// key that must not be there.
	want string
	// save stores answer values (a dotted path) under a name, for later
	// steps' {{name}}.
	save map[string]string
}

// spec is one expectation with its source.
type spec struct {
	name, source string
	security     bool // needs security on
	steps        []step
	cleanup      []string // "METHOD path", errors ignored
}

// target is where the table runs.
type target struct {
	name string
	url  string
	auth func(*http.Request)
	sec  bool
}

func targets(t *testing.T) []target {
	double := estest.New(estest.WithSource(), estest.WithSecurity("conformance"))
	out := []target{{name: "test-double", url: double.Start(t).URL, sec: true,
		auth: func(r *http.Request) { r.SetBasicAuth("elastic", "conformance") }}}
	if u := os.Getenv("ELASTICSEARCH_URL"); u != "" {
		tg := target{name: "elasticsearch", url: strings.TrimRight(u, "/")}
		switch {
		case os.Getenv("ELASTICSEARCH_API_KEY") != "":
			key := os.Getenv("ELASTICSEARCH_API_KEY")
			tg.auth = func(r *http.Request) { r.Header.Set("Authorization", "ApiKey "+key) }
		case os.Getenv("ELASTICSEARCH_USER") != "":
			user, pass := os.Getenv("ELASTICSEARCH_USER"), os.Getenv("ELASTICSEARCH_PASSWORD")
			tg.auth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
		default:
			tg.auth = func(*http.Request) {}
		}
		code, _ := call(t, tg, "GET", "/_security/_authenticate", "", nil)
		tg.sec = code == 200
		out = append(out, tg)
	} else {
		t.Log("ELASTICSEARCH_URL is not set: the conformance table runs against the test double only")
	}
	return out
}

func call(t *testing.T, tg target, method, path, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tg.url+path, rd)
	require.NoError(t, err)
	ct := "application/json"
	if strings.Contains(path, "_bulk") {
		ct = "application/x-ndjson"
	}
	req.Header.Set("Content-Type", ct)
	tg.auth(req)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

var asUser = regexp.MustCompile(`^AS-([A-Z]+) `)

var placeholder = regexp.MustCompile(`\{\{([a-z_]+)\}\}`)

func expand(s string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string { return vars[m[2:len(m)-2]] })
}

// lookup finds a dotted path (numbers index arrays) in decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return nil, false
			}
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// subset reports where got differs from want.
func subset(want, got any, at string) []string {
	switch w := want.(type) {
	case string:
		switch {
		case w == "<any>":
			return nil
		case strings.HasPrefix(w, "~"):
			if s, ok := got.(string); ok && regexp.MustCompile(w[1:]).MatchString(s) {
				return nil
			}
			return []string{fmt.Sprintf("%s: %v does not match %s", at, got, w[1:])}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", at, got)}
		}
		var diffs []string
		for k, wv := range w {
			gv, present := g[k]
			if wv == "<absent>" {
				if present {
					diffs = append(diffs, fmt.Sprintf("%s.%s: should be absent, got %v", at, k, gv))
				}
				continue
			}
			if !present {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", at, k))
				continue
			}
			diffs = append(diffs, subset(wv, gv, at+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d elements, got %v", at, len(w), got)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subset(w[i], g[i], fmt.Sprintf("%s.%d", at, i))...)
		}
		return diffs
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		return []string{fmt.Sprintf("%s: want %s, got %s", at, wj, gj)}
	}
	return nil
}

func TestConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			for _, sp := range table {
				t.Run(sp.name, func(t *testing.T) {
					if sp.security && !tg.sec {
						t.Skip("security is off on this cluster")
					}
					vars := map[string]string{"p": fmt.Sprintf("conf%d", rand.Uint32())}
					vars["writer_auth"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(vars["p"]+"-writer:"+vars["p"]+"-secret"))
					vars["nobody_auth"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(vars["p"]+"-nobody:wrong-password"))
					t.Cleanup(func() {
						for _, c := range sp.cleanup {
							method, path, _ := strings.Cut(expand(c, vars), " ")
							path, body, _ := strings.Cut(path, " ")
							call(t, tg, method, path, body, nil)
						}
					})
					for i, st := range sp.steps {
						hdr := map[string]string{}
						body := expand(st.body, vars)
						// "AS-WRITER " or "AS-NOBODY " before a body sends the
						// step as that user.
						if m := asUser.FindStringSubmatch(body); m != nil {
							body = body[len(m[0]):]
							hdr["Authorization"] = vars[strings.ToLower(m[1])+"_auth"]
						}
						code, raw := call(t, tg, st.method, expand(st.path, vars), body, hdr)
						where := fmt.Sprintf("step %d %s %s (source: %s)", i+1, st.method, expand(st.path, vars), sp.source)
						require.Equal(t, st.status, code, "%s answered %s", where, raw)
						var got any
						if len(bytes.TrimSpace(raw)) > 0 {
							// Numbers as written: a date_nanos sort value does
							// not fit a float64, and a saved one is sent back.
							dec := json.NewDecoder(bytes.NewReader(raw))
							dec.UseNumber()
							require.NoError(t, dec.Decode(&got), "%s: %s", where, raw)
						}
						if st.want != "" {
							var want any
							require.NoError(t, json.Unmarshal([]byte(expand(st.want, vars)), &want), "%s: the expectation is not JSON", where)
							if diffs := subset(want, got, "$"); len(diffs) > 0 {
								t.Fatalf("%s:\n  %s\nanswer: %s", where, strings.Join(diffs, "\n  "), raw)
							}
						}
						for name, path := range st.save {
							v, ok := lookup(got, path)
							require.True(t, ok, "%s: no %s in %s", where, path, raw)
							if s, isStr := v.(string); isStr {
								vars[name] = s
							} else {
								b, _ := json.Marshal(v)
								vars[name] = string(b)
							}
						}
					}
				})
			}
		})
	}
}
