package digest

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func keys(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	id, err := Keygen(dir)
	require.NoError(t, err)
	priv, err := LoadPrivateKey(filepath.Join(dir, PrivateKeyFile))
	require.NoError(t, err)
	pub, err := LoadPublicKey(filepath.Join(dir, PublicKeyFile))
	require.NoError(t, err)
	require.Equal(t, id, KeyID(pub))
	return priv, pub
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	_, err := Keygen(dir)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, PrivateKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = Keygen(dir)
	assert.ErrorContains(t, err, "never replaces a key")
	_, err = LoadPrivateKey(filepath.Join(dir, PublicKeyFile))
	assert.ErrorContains(t, err, "not a PEM")
	_, err = LoadPublicKey(filepath.Join(dir, PrivateKeyFile))
	assert.ErrorContains(t, err, "not a PEM")
	assert.NotContains(t, err.Error(), "BEGIN", "an error never quotes a key file")
}

func event() eventstore.Event {
	return eventstore.Event{ID: "evt-1", Time: t0, Action: "notebook.open", Outcome: "success",
		User: &eventstore.User{Email: "***@example.com"}, Resource: &eventstore.Resource{Type: "notebook", ID: "nb-1"},
		IP: "203.0.113.7", Organization: "org-7", Properties: json.RawMessage(`{"b":1.50,"a":{"y":true,"x":[2,1]}}`)}
}

// The hash is the same for the same stored event whatever its properties'
// key order or the time's zone, and changes with any field.
func TestEventHash(t *testing.T) {
	base, err := EventHash(event())
	require.NoError(t, err)
	same := event()
	same.Properties = json.RawMessage(`{"a":{"x":[2,1],"y":true},"b":1.50}`)
	same.Time = t0.In(time.FixedZone("x", 3600))
	h, err := EventHash(same)
	require.NoError(t, err)
	assert.Equal(t, base, h)
	for name, edit := range map[string]func(e *eventstore.Event){
		"action":          func(e *eventstore.Event) { e.Action = "notebook.delete" },
		"time":            func(e *eventstore.Event) { e.Time = e.Time.Add(time.Nanosecond) },
		"user":            func(e *eventstore.Event) { e.User.Email = "***@other.example" },
		"ip":              func(e *eventstore.Event) { e.IP = "203.0.113.8" },
		"a property":      func(e *eventstore.Event) { e.Properties = json.RawMessage(`{"b":1.5,"a":{"y":true,"x":[2,1]}}`) },
		"array order":     func(e *eventstore.Event) { e.Properties = json.RawMessage(`{"b":1.50,"a":{"y":true,"x":[1,2]}}`) },
		"organization":    func(e *eventstore.Event) { e.Organization = "org-8" },
		"quarantined":     func(e *eventstore.Event) { e.Quarantined = true },
		"resource":        func(e *eventstore.Event) { e.Resource.ID = "nb-2" },
		"outcome dropped": func(e *eventstore.Event) { e.Outcome = "" },
	} {
		e := event()
		e.User = &eventstore.User{Email: "***@example.com"}
		e.Resource = &eventstore.Resource{Type: "notebook", ID: "nb-1"}
		edit(&e)
		h, err := EventHash(e)
		require.NoError(t, err)
		assert.NotEqual(t, base, h, name)
	}
	bad := event()
	bad.Properties = json.RawMessage(`{"a":`)
	_, err = EventHash(bad)
	assert.Error(t, err)
}

func chain(t *testing.T, priv ed25519.PrivateKey, n int) []Signed {
	t.Helper()
	var out []Signed
	prev := ""
	for i := 1; i <= n; i++ {
		s, err := Sign(Digest{Chain: "col-1/org_7", Seq: uint64(i), Previous: prev, From: t0.Add(time.Duration(i-1) * time.Minute),
			To: t0.Add(time.Duration(i) * time.Minute), Count: 1, Events: []Entry{{ID: "evt-" + string(rune('0'+i)), SHA256: strings.Repeat("a", 64)}}}, priv)
		require.NoError(t, err)
		prev, err = Hash(s)
		require.NoError(t, err)
		out = append(out, s)
	}
	return out
}

func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// Each kind of tampering with the digests is named; an intact chain,
// shuffled, has no finding.
func TestCheckChains(t *testing.T) {
	priv, pub := keys(t)
	_, otherPub := keys(t)
	ks := []ed25519.PublicKey{pub}
	intact := chain(t, priv, 5)
	shuffled := []Signed{intact[3], intact[0], intact[4], intact[2], intact[1]}
	assert.Empty(t, CheckChains(shuffled, ks))

	edited := append([]Signed(nil), intact...)
	edited[2].Digest.Events = []Entry{{ID: "evt-x", SHA256: strings.Repeat("b", 64)}}
	deleted := append(append([]Signed(nil), intact[:2]...), intact[3:]...)
	forgedLink := append([]Signed(nil), intact...)
	resigned, err := Sign(Digest{Chain: "col-1/org_7", Seq: 3, Previous: strings.Repeat("0", 64), To: t0}, priv)
	require.NoError(t, err)
	forgedLink[2] = resigned
	dup := append(append([]Signed(nil), intact...), resigned)
	for _, tc := range []struct {
		name    string
		digests []Signed
		keys    []ed25519.PublicKey
		want    []string
	}{
		{"a digest edited", edited, ks, []string{BadSignature, Missing}},
		{"a digest deleted", deleted, ks, []string{Missing}},
		{"a digest re-signed with a wrong link", forgedLink, ks, []string{BrokenChain, BrokenChain}},
		{"two digests with one seq", dup, ks, []string{Duplicate}},
		{"another key", intact, []ed25519.PublicKey{otherPub}, []string{BadSignature, BadSignature, BadSignature, BadSignature, BadSignature}},
		{"the first digest lost", intact[1:], ks, []string{Missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, kinds(CheckChains(tc.digests, tc.keys)))
		})
	}
	// Rotation: digests of two keys verify with both public keys.
	priv2, pub2 := keys(t)
	next, err := Sign(Digest{Chain: "col-1/org_7", Seq: 6, Previous: mustHash(t, intact[4]), To: t0}, priv2)
	require.NoError(t, err)
	assert.Empty(t, CheckChains(append(intact, next), []ed25519.PublicKey{pub, pub2}))
	assert.True(t, errors.Is(Verify(next, ks), ErrBadSignature))
}

func mustHash(t *testing.T, s Signed) string {
	h, err := Hash(s)
	require.NoError(t, err)
	return h
}
