package auditapi

import (
	"net/url"
	"testing"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
)

// Any query string is parsed or refused with the parameter named; a
// refusal is a 400, never a panic.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"", "q=x&since=2d", "from=2025-11-01&to=2025-11-02&tz=Europe/Berlin", "ip=10.0.0.0/8&resource=notebook:nb-1",
		"page_size=1000&cursor=abc.def", "since=yesterday&tz=Asia/Tokyo", "resource=:", "quarantined=true&outcome=failure", "tz=../../etc/passwd"} {
		f.Add(s)
	}
	allowed := append(append([]string{}, FilterParams...), append(PageParams, "format")...)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, aerr := parseRequest(v, allowed, now)
		if aerr != nil {
			if aerr.status != 400 || aerr.Message == "" {
				t.Fatalf("%q: %+v", raw, aerr)
			}
			return
		}
		if r.pageSize < 1 || r.pageSize > MaxPageSize {
			t.Fatalf("%q: page size %d", raw, r.pageSize)
		}
		if !r.query.From.IsZero() && !r.query.To.IsZero() && r.query.To.Before(r.query.From) {
			t.Fatalf("%q: window ends before it starts", raw)
		}
	})
}

// Only a cursor this service signed for this organization and these
// filters decodes.
func FuzzDecodeCursor(f *testing.F) {
	keys, _ := apitoken.ParseKeys([]byte("fuzz-signing-key-0123456789abcdefgh"))
	good := encodeCursor(keys, cursor{Org: "org-1", Filters: "d"})
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, s string) {
		c, aerr := decodeCursor(keys, s, "org-1", "d")
		if aerr != nil {
			if aerr.status != 400 || aerr.Field != "cursor" {
				t.Fatalf("%+v", aerr)
			}
			return
		}
		if c.Org != "org-1" || c.Filters != "d" {
			t.Fatalf("%q decoded for %q/%q", s, c.Org, c.Filters)
		}
	})
}
