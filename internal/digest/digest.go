// Package digest is the tamper evidence of the audit log: signed digests
// that list the SHA-256 of each stored event and chain to the digest
// before them, so that an edited, deleted, inserted or reordered event, or
// a missing or edited digest, shows. It holds the formats and the checks;
// writing digests in the pipeline and `auditctl verify` build on it.
package digest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/eventstore"
)

// Version is the digest format written.
const Version = 1

// Entry is one covered event: its id and the SHA-256 of its canonical form.
type Entry struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// Digest lists the events a chain covered in [From, To] and names the
// digest before it. Its JSON (fields in this order) is what is signed.
type Digest struct {
	Version int    `json:"version"`
	Chain   string `json:"chain"`
	Seq     uint64 `json:"seq"`
	// Previous is the hash (Hash) of the digest with Seq-1, empty for the
	// first of a chain.
	Previous string    `json:"previous"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Count    int       `json:"count"`
	Events   []Entry   `json:"events"`
	// KeyID names the signing key: the first 8 bytes of the SHA-256 of
	// the public key, in hex.
	KeyID string `json:"key_id"`
}

// Signed is a digest and its Ed25519 signature, as stored.
type Signed struct {
	Digest    Digest `json:"digest"`
	Signature string `json:"signature"` // base64 of ed25519.Sign(key, Payload(Digest))
}

// Payload is the bytes signed: the digest's JSON.
func Payload(d Digest) ([]byte, error) {
	if d.Events == nil {
		d.Events = []Entry{}
	}
	return json.Marshal(d)
}

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs d with key, setting its KeyID.
func Sign(d Digest, key ed25519.PrivateKey) (Signed, error) {
	d.Version = Version
	d.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	p, err := Payload(d)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Digest: d, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, p))}, nil
}

// ErrBadSignature is in the chain of a digest whose signature does not
// verify under any of the public keys given.
var ErrBadSignature = errors.New("bad signature")

// Verify checks a signed digest against the public keys.
func Verify(s Signed, keys []ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("digest %s#%d: %w: not an Ed25519 signature", s.Digest.Chain, s.Digest.Seq, ErrBadSignature)
	}
	p, err := Payload(s.Digest)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if KeyID(k) == s.Digest.KeyID && ed25519.Verify(k, p, sig) {
			return nil
		}
	}
	return fmt.Errorf("digest %s#%d: %w under key %s", s.Digest.Chain, s.Digest.Seq, ErrBadSignature, s.Digest.KeyID)
}

// Hash is what the next digest of the chain names as Previous: the
// SHA-256 of the signed payload and its signature.
func Hash(s Signed) (string, error) {
	p, err := Payload(s.Digest)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(p)
	h.Write([]byte{0})
	h.Write([]byte(s.Signature))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EventHash is the SHA-256 of an event's canonical form: the event as the
// store keeps it and both stores read it back (eventstore.Event, after
// masking and pseudonyms), with its properties' keys sorted and numbers as
// written, so the archive and Elasticsearch give the same hash.
func EventHash(e eventstore.Event) (string, error) {
	if len(e.Properties) > 0 {
		canon, err := canonicalJSON(e.Properties)
		if err != nil {
			return "", fmt.Errorf("event %s: properties: %w", e.ID, err)
		}
		e.Properties = canon
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalJSON re-encodes JSON with object keys sorted (encoding/json
// sorts map keys) and numbers kept as written.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
