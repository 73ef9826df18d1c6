package auditapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// A cursor is the place of the last event of a page, signed and bound to
// one organization, one scope and one set of filters. It holds no state on
// the server: any replica with the same signing key reads it. Paging is by
// key (search_after), so events that arrive meanwhile do not shift pages:
// following the cursors returns every matching event once.
type cursor struct {
	Key eventstore.Key `json:"k"`
	// Org and Filters are what the cursor was made for.
	Org     string `json:"o"`
	Filters string `json:"f"`
	// From is the window's start when it was relative (since): later
	// pages keep the first page's window.
	From int64 `json:"s,omitempty"`
}

// filterDigest names the filters, the path and the caller's scope, so a
// cursor replayed with other filters or by another token's scope is refused.
func filterDigest(path string, v url.Values, p apitoken.Principal) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if k != "cursor" && k != "page_size" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, part := range append([]string{path, p.Resource, p.Actor}, keys...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
		if slices.Contains(keys, part) {
			h.Write([]byte(v.Get(part)))
			h.Write([]byte{0})
		}
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

func encodeCursor(keys *apitoken.Keys, c cursor) string {
	body, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(keys.Sign("cursor", []byte(payload)))
}

// decodeCursor verifies a cursor and that it was made for this
// organization and these filters.
func decodeCursor(keys *apitoken.Keys, s, org, digest string) (cursor, *apiError) {
	payload, sigText, ok := strings.Cut(s, ".")
	sig, err := base64.RawURLEncoding.DecodeString(sigText)
	if !ok || err != nil || !keys.Verify("cursor", []byte(payload), sig) {
		return cursor{}, badCursor("the cursor is not one this service made (altered, cut short, or signed with another key); start again from the first page")
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return cursor{}, badCursor("the cursor does not decode; start again from the first page")
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return cursor{}, badCursor("the cursor does not decode; start again from the first page")
	}
	if c.Org != org || c.Filters != digest {
		return cursor{}, badCursor("the cursor was made for other filters or another token's scope; send the same filters as the first page, or start again without a cursor")
	}
	return c, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
