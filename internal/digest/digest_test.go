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

// The hash is of the document's exact bytes: any change shows.
func TestDocumentHash(t *testing.T) {
	doc := []byte(`{"@timestamp":"2026-12-02T10:00:00.000000000Z","event":{"id":"evt-1","action":"notebook.open"}}`)
	base := DocumentHash(doc)
	assert.Len(t, base, 64)
	assert.Equal(t, base, DocumentHash(append([]byte(nil), doc...)))
	for i := range doc {
		edited := append([]byte(nil), doc...)
		edited[i] ^= 1
		assert.NotEqual(t, base, DocumentHash(edited), "byte %d", i)
	}
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
	resent := append(append([]Signed(nil), intact...), intact[2])
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
		{"one digest written twice (resent after a crash)", resent, ks, nil},
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

// AppendJSON writes what json.Marshal would, from the payload encoded at
// signing or, for a digest read back, encoded again.
func TestAppendJSONIsMarshal(t *testing.T) {
	priv, pub := keys(t)
	for _, s := range append(chain(t, priv, 2), func() Signed {
		s, err := Sign(Digest{Chain: "c/<ns>&", Seq: 1, To: t0, Events: []Entry{{ID: "a<b>&\u2028", SHA256: DocumentHash(nil), Dead: true}}}, priv)
		require.NoError(t, err)
		return s
	}()) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		got, err := s.AppendJSON(nil)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
		var back Signed
		require.NoError(t, json.Unmarshal(got, &back))
		again, err := back.AppendJSON(nil)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(again), "read back, it encodes the same")
		require.NoError(t, Verify(back, []ed25519.PublicKey{pub}))
	}
}
