package masking

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
		n        int
	}{
		{"jane@example.com", "***@example.com", 1},
		{"Jane.Doe@Example.COM", "***@Example.COM", 1},
		{"jane.doe+audit@mail.corp.example.co.uk", "***@mail.corp.example.co.uk", 1},
		{"first_last-99%x@example.org", "***@example.org", 1},
		{"mailto:jane@example.com", "mailto:***@example.com", 1},
		{"MAILTO:Jane@Example.com?subject=hi", "MAILTO:***@Example.com?subject=hi", 1},
		{"https://app.example.com/users?email=jane@example.com&x=1", "https://app.example.com/users?email=***@example.com&x=1", 1},
		{"https://app.example.com/u?email=jane.doe%2Bx%40example.com", "https://app.example.com/u?email=***%40example.com", 1},
		{"https://jane:secret@example.com/path", "https://jane:***@example.com/path", 1},
		{`{"user":"jane@example.com","cc":["bob@example.net"]}`, `{"user":"***@example.com","cc":["***@example.net"]}`, 2},
		{`{\"email\":\"jane@example.com\"}`, `{\"email\":\"***@example.com\"}`, 1},
		{"<jane@example.com>", "<***@example.com>", 1},
		{"(jane@example.com)", "(***@example.com)", 1},
		{"[jane@example.com]", "[***@example.com]", 1},
		{"'jane@example.com'", "'***@example.com'", 1},
		{"o'brien@example.ie", "***@example.ie", 1},
		{"{'to':'o'brien@example.ie'}", "{'to':'***@example.ie'}", 1},
		{"Contact jane@example.com.", "Contact ***@example.com.", 1},
		{"jane@example.com, bob@example.org; eve@example.io", "***@example.com, ***@example.org; ***@example.io", 3},
		{"Jane Doe <Jane.Doe@EXAMPLE.com> wrote", "Jane Doe <***@EXAMPLE.com> wrote", 1},
		{"user:jane@example.com", "user:***@example.com", 1},
		{"jane@[192.0.2.1]", "***@[192.0.2.1]", 1},
		{"jane@[IPv6:2001:db8::1]", "***@[IPv6:2001:db8::1]", 1},
		{"jörg.müller@example.de", "***@example.de", 1},
		{"jane@bücher.example", "***@bücher.example", 1},
		{"jane@example.xn--p1ai", "***@example.xn--p1ai", 1},
		{"a@b.co", "***@b.co", 1},
		{"x@y.com@z.com", "***@y.com@z.com", 1},
		// Already masked: unchanged.
		{"***@example.com", "***@example.com", 0},
		// Not addresses: untouched.
		{"@scope/pkg", "@scope/pkg", 0},
		{"npm i @types/node", "npm i @types/node", 0},
		{"v1.2@3", "v1.2@3", 0},
		{"pkg@1.2.3", "pkg@1.2.3", 0},
		{"user@localhost", "user@localhost", 0},
		{"@example.com", "@example.com", 0},
		{"jane@", "jane@", 0},
		{"jane@.com", "jane@.com", 0},
		{"jane@example.", "jane@example.", 0},
		{"jane@-example.com", "jane@-example.com", 0},
		{"jane@example.c", "jane@example.c", 0},
		{"jane@example.c0m", "jane@example.c0m", 0},
		{"100%40 discount", "100%40 discount", 0},
		{"no at sign here", "no at sign here", 0},
		{"", "", 0},
		{"@@@", "@@@", 0},
		{"a@[", "a@[", 0},
		{"a@[]", "a@[]", 0},
	}
	var m Masker
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, n := m.String(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.n, n)
			again, n2 := m.String(got)
			assert.Equal(t, got, again, "masking must be idempotent")
			assert.Zero(t, n2)
			assert.Equal(t, tt.n > 0, Contains(tt.in))
		})
	}
}

func TestNoAllocation(t *testing.T) {
	var m Masker
	m.String("jane@example.com") // warm the domain cache
	for _, s := range []string{"a plain value without any address in it", "@scope/pkg v1.2@3", "jane@example.com", "***@example.com"} {
		allocs := testing.AllocsPerRun(100, func() { m.String(s) })
		assert.Zero(t, allocs, s)
	}
}

func TestDomainCacheIsBounded(t *testing.T) {
	var m Masker
	for i := 0; i < maxCachedDomains+100; i++ {
		m.String("a@d" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".example" + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26)))
	}
	assert.LessOrEqual(t, int(m.wholeN.Load()), maxCachedDomains)
}

// Every line of the seed corpus must come out with no local part left.
func TestCorpusLeavesNoLocalPart(t *testing.T) {
	f, err := os.Open("testdata/addresses.txt")
	require.NoError(t, err)
	defer f.Close()
	var m Masker
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		out, n := m.String(line)
		assert.Positive(t, n, line)
		assert.False(t, Contains(out), "%q -> %q", line, out)
		assert.Equal(t, strings.Count(line, "@"), strings.Count(out, "@"), "domains stay: %q", out)
	}
	require.NoError(t, sc.Err())
	assert.Greater(t, lines, 20)
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"jane@example.com", "mailto:a.b+c@sub.example.co.uk?x", "u?e=a%40b.com", "@scope/pkg", "v1.2@3", "x@y.com@z.com", "jörg@bücher.example", "a@[::1]", "***@x.io"} {
		f.Add(s)
	}
	if b, err := os.ReadFile("testdata/addresses.txt"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m Masker
		out, n := m.String(s)
		if n == 0 && out != s {
			t.Fatalf("nothing masked but output changed: %q -> %q", s, out)
		}
		if Contains(out) {
			t.Fatalf("a local part survived: %q -> %q", s, out)
		}
		if again, _ := m.String(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		if strings.Count(out, "@") != strings.Count(s, "@") {
			t.Fatalf("an '@' went missing: %q -> %q", s, out)
		}
		if MayContain(s) != strings.ContainsAny(s, "@%") {
			t.Fatalf("MayContain(%q) = %v", s, MayContain(s))
		}
	})
}

func TestMayContain(t *testing.T) {
	// Every position within and around an 8-byte word, for both bytes, and
	// bytes next to them in value (? A $ &) that must not match.
	for n := 0; n <= 24; n++ {
		base := strings.Repeat("x", n)
		if MayContain(base) {
			t.Fatalf("%q: false positive", base)
		}
		for i := 0; i < n; i++ {
			for _, c := range "@%?A$&\x80\xc0" {
				s := base[:i] + string(c) + base[i+1:]
				if got, want := MayContain(s), c == '@' || c == '%'; got != want {
					t.Fatalf("MayContain(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}

func BenchmarkString(b *testing.B) {
	inputs := []string{
		"GET /api/v1/notebooks/4f2a9c HTTP/1.1",
		"jane.doe@example.com",
		"User jane.doe+ops@corp.example.com changed role of bob@example.org to admin",
	}
	var m Masker
	for _, in := range inputs {
		b.Run(in[:8], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.String(in)
			}
		})
	}
}
