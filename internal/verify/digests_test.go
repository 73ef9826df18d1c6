package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

func signedLine(t testing.TB, key ed25519.PrivateKey) []byte {
	s, err := digest.Sign(digest.Digest{Chain: "col-1/default", Seq: 1, From: time.Unix(0, 1).UTC(), To: time.Unix(60, 0).UTC(), Count: 1,
		Events: []digest.Entry{{ID: "e1", SHA256: strings.Repeat("ab", 32), Index: "logs-audit-default-2025.11.01"}}}, key)
	require.NoError(t, err)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return b
}

func TestDecodeDigestRefusesEdits(t *testing.T) {
	w := newWorld(t, archiveStore)
	good := signedLine(t, w.key)
	s, err := DecodeDigest(good)
	require.NoError(t, err)
	require.NoError(t, digest.Verify(s, []ed25519.PublicKey{w.pub}))
	for name, line := range map[string]string{
		"an unknown field":   strings.Replace(string(good), `"chain"`, `"extra":1,"chain"`, 1),
		"trailing data":      string(good) + `{}`,
		"another version":    strings.Replace(string(good), `"version":1`, `"version":2`, 1),
		"no sequence number": strings.Replace(string(good), `"seq":1`, `"seq":0`, 1),
		"not JSON":           "\x1b[2J{",
		"empty":              "",
		"a number":           "1",
	} {
		_, err := DecodeDigest([]byte(line))
		assert.Error(t, err, name)
		if err != nil {
			assert.NotContains(t, err.Error(), "\x1b", name)
		}
	}
}

// A digests file of hostile lines: each bad line is a finding, a line
// over the bound is not held, and nothing panics.
func TestDigestFileHostileLines(t *testing.T) {
	w := newWorld(t, archiveStore)
	path := filepath.Join(t.TempDir(), DigestsFile)
	var b bytes.Buffer
	b.Write(signedLine(t, w.key))
	b.WriteString("\n\n{\"digest\":\n")
	b.WriteString(strings.Repeat("x", 5000) + "\n")
	b.WriteString(`{"digest":{"version":1,"chain":"c","seq":1,"events":[` + strings.Repeat("[", 100000) + "\n")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	c := New(Options{Keys: []ed25519.PublicKey{w.pub}})
	require.NoError(t, ReadDigestFile(context.Background(), path, 4096, c))
	assert.Equal(t, 3, c.rep.Summary.Counts[BadDigest])
	assert.Len(t, c.heads, 1)
}

// FuzzDecodeDigest: any line decodes or is refused, never panics, and a
// decoded digest encodes to a line that decodes to the same digest.
func FuzzDecodeDigest(f *testing.F) {
	w := newWorld(f, archiveStore)
	f.Add(signedLine(f, w.key))
	f.Add([]byte(`{"digest":{"version":1,"chain":"a/b","seq":2,"previous":"","from":"2025-01-01T00:00:00Z","to":"2025-01-01T00:01:00Z","count":0,"events":[],"key_id":"x"},"signature":"AA=="}`))
	f.Add([]byte(`{"digest":{"events":[{"id":"\u0000","sha256":"zz","dead":true}]}}`))
	f.Add([]byte("\xff\xfe{"))
	f.Fuzz(func(t *testing.T, line []byte) {
		s, err := DecodeDigest(line)
		if err != nil {
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a decoded digest does not encode: %v", err)
		}
		s2, err := DecodeDigest(again)
		if err != nil {
			t.Fatalf("re-encoded digest does not decode: %v\n%s", err, again)
		}
		h1, err1 := digest.Hash(s)
		h2, err2 := digest.Hash(s2)
		if err1 != nil || err2 != nil || h1 != h2 {
			t.Fatalf("the digest changed in a round trip: %v %v", err1, err2)
		}
		// And the checker takes it without panicking.
		c := New(Options{Keys: []ed25519.PublicKey{w.pub}})
		c.AddDigest(s, "fuzz")
		c.Seal()
		c.Record(Record{ID: "e1", Hash: [32]byte{1}, Created: time.Now()})
		c.Finish(nil)
	})
}

// The header-based chain check agrees with digest.CheckChains on random
// chains with gaps, repeats, forks, bad links and bad signatures.
func TestChainChecksAgreeWithDigestCheckChains(t *testing.T) {
	w := newWorld(t, archiveStore)
	other := newWorld(t, archiveStore)
	keys := []ed25519.PublicKey{w.pub}
	withFindings := map[string]int{}
	for round := 0; round < 200; round++ {
		r := rand.New(rand.NewPCG(uint64(round), 3))
		var all []digest.Signed
		for _, chain := range []string{"col-1/a", "col-2/a"} {
			prev := ""
			for seq := uint64(1); seq <= 6; seq++ {
				d := digest.Digest{Chain: chain, Seq: seq, Previous: prev, From: time.Unix(int64(seq), 0).UTC(), To: time.Unix(int64(seq+1), 0).UTC(),
					Count: 1, Events: []digest.Entry{{ID: fmt.Sprint(chain, seq), SHA256: strings.Repeat("0", 64)}}, Final: seq == 6}
				if r.IntN(8) == 0 {
					d.Previous = strings.Repeat("1", 64) // a bad link
				}
				s := w.resign(t, d)
				if r.IntN(10) == 0 {
					s = other.resign(t, d) // another key
				}
				h, _ := digest.Hash(s)
				prev = h
				switch r.IntN(10) {
				case 0: // deleted
					continue
				case 1: // written twice
					all = append(all, s)
				case 2: // a fork
					d.Count, d.Events = 0, nil
					all = append(all, w.resign(t, d))
				}
				all = append(all, s)
			}
		}
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		want := map[string]bool{}
		for _, f := range digest.CheckChains(all, keys) {
			want[fmt.Sprintf("%s %s %d", f.Kind, f.Chain, f.Seq)] = true
			withFindings[f.Kind]++
		}
		c := New(Options{Keys: keys, Now: time.Unix(10, 0)})
		for _, s := range all {
			c.AddDigest(s, "")
		}
		c.Seal()
		got := map[string]bool{}
		for _, f := range c.rep.Findings {
			got[fmt.Sprintf("%s %s %d", f.Kind, f.Chain, f.Seq)] = true
		}
		assert.Equal(t, sortedKeys(want), sortedKeys(got), "round %d", round)
	}
	// Every kind came up: the comparison compared something.
	for _, k := range []string{BadSignature, BrokenChain, MissingDigest, DuplicateDigest} {
		assert.Greater(t, withFindings[k], 5, k)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FuzzDecodeESDigest: a digest document from Elasticsearch decodes or is
// refused, never panics; what decodes is what DecodeDigest takes.
func FuzzDecodeESDigest(f *testing.F) {
	w := newWorld(f, archiveStore)
	s, _ := DecodeDigest(signedLine(f, w.key))
	f.Add(digestDoc(f, s).src)
	f.Add([]byte(`{"digest":1,"signature":{}}`))
	f.Add([]byte(`{"@timestamp":"x","digest":{"version":1},"signature":"","digest":null}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := decodeESDigest(src)
		if err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeDigest(b); err != nil {
			t.Fatalf("decoded from a document, refused as a line: %v", err)
		}
	})
}
