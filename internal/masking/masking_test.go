package masking

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode"

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
		// Detection runs on the NFC form: a combining accent is part of
		// the local part or the domain, composed or not.
		{"jose\u0301@example.com", "***@example.com", 1},
		{"mail jose\u0301.diaz@example.com now", "mail ***@example.com now", 1},
		{"jane@bu\u0308cher.example", "***@b\u00fccher.example", 1},
		{"q\u0323\u0307@example.com", "***@example.com", 1}, // no composed form: kept as marks
		{"jane@exa\u0332mple.com", "***@exa\u0332mple.com", 1},
		{"jane@example.co\u0332m", "***@example.co\u0332m", 1},
		// RFC 5322 atext that no URL, JSON or prose uses as a delimiter.
		{"x!y@example.com", "***@example.com", 1},
		{"a#b@example.com", "***@example.com", 1},
		{"$user^1~x@example.com", "***@example.com", 1},
		// Delimiters in free text, documented: the part before them stays.
		{"a/b@example.com", "a/***@example.com", 1},
		{"a&b=c@example.com", "a&b=***@example.com", 1},
		{"x{y}@example.com", "x{y}@example.com", 0},
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

// A field whose meaning is an address: everything before the last '@'
// (or URL-encoded "%40") is masked, whatever it holds; a value with
// neither is masked whole.
func TestAddress(t *testing.T) {
	tests := []struct {
		in, want string
		n        int
	}{
		{"jane@example.com", "***@example.com", 1},
		{"x!y@example.com", "***@example.com", 1},
		{"x'y@example.com", "***@example.com", 1},
		{"x{y}@example.com", "***@example.com", 1},
		{"a/b#c&d=e@example.com", "***@example.com", 1},
		{"jose\u0301@example.com", "***@example.com", 1},
		{`"john doe"@example.com`, "***@example.com", 1},
		{"x@y.com@z.com", "***@z.com", 1},
		{"a@b%40c.example", "***%40c.example", 1},
		{"jane%40example.com", "***%40example.com", 1},
		{"jane@localhost", "***@localhost", 1},
		{"jane@", "***@", 1},
		{"@example.com", "***@example.com", 1},
		{" Jane@Example.com ", "***@Example.com ", 1},
		{"jane", "***", 1},
		{"jane\uff20example.com", "***", 1},
		{"***@example.com", "***@example.com", 0},
		{"***%40example.com", "***%40example.com", 0},
		{"***", "***", 0},
		{"***@x@evil.example", "***@evil.example", 1},
		{"***@x%40evil.example", "***%40evil.example", 1},
		{"****@example.com", "***@example.com", 1},
		{"", "", 0},
	}
	var m Masker
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, n := m.Address(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.n, n)
			again, n2 := m.Address(got)
			assert.Equal(t, got, again, "masking must be idempotent")
			assert.Zero(t, n2)
			assert.False(t, Contains(got))
			assert.Equal(t, tt.in != "", IsMasked(got))
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
	for _, s := range []string{"jane@example.com", "***@example.com", "x{y}@example.com"} {
		allocs := testing.AllocsPerRun(100, func() { m.Address(s) })
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

// A long domain is masked but not cached: 4096 domains of a megabyte each
// would otherwise stay in memory.
func TestDomainCacheSkipsLongDomains(t *testing.T) {
	var m Masker
	long := strings.Repeat("x", maxCachedDomainLen) + ".example"
	out, n := m.String("a@" + long)
	assert.Equal(t, Mask+"@"+long, out)
	assert.Equal(t, 1, n)
	out, n = m.Address("b@" + long)
	assert.Equal(t, Mask+"@"+long, out)
	assert.Equal(t, 1, n)
	assert.Zero(t, m.wholeN.Load())
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

// FuzzAddress: masking an address field keeps nothing of what stood
// before the last '@' (or "%40"), keeps what follows as it was, and
// leaves nothing the free-text detector would call an address.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{"jane@example.com", "x{y}@example.com", "a/b@x.io", "jose\u0301@x.io", "a@b%40c.io", "jane", "***", "***@x.io", "", "@", "%40"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m Masker
		out, n := m.Address(s)
		if s == "" {
			if out != "" || n != 0 {
				t.Fatalf("empty value changed: %q", out)
			}
			return
		}
		if !strings.HasPrefix(out, Mask) {
			t.Fatalf("%q -> %q: not masked", s, out)
		}
		sep := max(strings.LastIndex(s, "@"), strings.LastIndex(s, "%40"))
		if sep >= 0 && out[len(Mask):] != s[sep:] {
			t.Fatalf("%q -> %q: the domain part changed", s, out)
		}
		if sep < 0 && out != Mask {
			t.Fatalf("%q -> %q: a value with no '@' is masked whole", s, out)
		}
		if local := s[:max(sep, 0)]; sep >= 0 && local != Mask && n != 1 {
			t.Fatalf("%q: counted %d", s, n)
		}
		if Contains(out) {
			t.Fatalf("%q -> %q: an address survived", s, out)
		}
		if again, k := m.Address(out); again != out || k != 0 {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		if !IsMasked(out) {
			t.Fatalf("IsMasked(%q) = false", out)
		}
	})
}

// FuzzLocalPart: any local part made of what the README calls local-part
// characters (letters and digits of any script, combining marks, and
// . _ + - ! # $ ^ ~), in prose, is masked whole, in NFC or not.
func FuzzLocalPart(f *testing.F) {
	for _, s := range []string{"jane", "jose\u0301", "q\u0323\u0307", "\u0301", "x!y", "a#b", "用户", "o.b-c_d+e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var b strings.Builder
		for _, r := range raw {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune("._+-!#$^~", r) {
				b.WriteRune(r)
			}
		}
		local := b.String()
		if local == "" || strings.Trim(local, "*") == "" {
			return
		}
		var m Masker
		for _, s := range []string{local + "@example.com", "mail " + local + "@example.com now", `{"to":"` + local + `@example.com"}`} {
			out, n := m.String(s)
			want := strings.Replace(s, local+"@", Mask+"@", 1)
			if out != want || n != 1 {
				t.Fatalf("%q -> %q (%d), want %q", s, out, n, want)
			}
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
