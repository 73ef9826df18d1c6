// Package digest is the tamper evidence of the audit log: signed digests
// that list the SHA-256 of each stored event and chain to the digest
// before them, so that an edited, deleted, inserted or reordered event, or
// a missing or edited digest, shows. It holds the formats and the checks;
// writing digests in the pipeline and `auditctl verify` build on it.
package digest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the digest format written.
const Version = 1

// Entry is one covered event: its id and the SHA-256 of its canonical form
// (DocumentHash), with what the store said of it.
type Entry struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
	// Index is the Elasticsearch index the event was written to (for a
	// dead letter, the one it was meant for); empty for the archive.
	Index string `json:"index,omitempty"`
	// Dead: Elasticsearch refused the event and it is in the dead-letter
	// stream, its document in event.original.
	Dead bool `json:"dead,omitempty"`
	// Conflict: the store already held this id in this index (a replay
	// after a crash, a resent or re-imported event). The stored document
	// is this one or is covered by another entry.
	Conflict bool `json:"conflict,omitempty"`
	// Unconfirmed: the write was under way when the collector stopped
	// without a shutdown. The event may be stored or not; if it is, it
	// must hash to SHA256.
	Unconfirmed bool `json:"unconfirmed,omitempty"`
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
	// Final: the writer shut down cleanly after this digest; no heartbeat
	// follows until it starts again.
	Final bool `json:"final,omitempty"`
	// KeyID names the signing key: the first 8 bytes of the SHA-256 of
	// the public key, in hex.
	KeyID string `json:"key_id"`
}

// Signed is a digest and its Ed25519 signature, as stored.
type Signed struct {
	Digest    Digest `json:"digest"`
	Signature string `json:"signature"` // base64 of ed25519.Sign(key, SHA-256(Payload(Digest)))

	// payload is Payload(Digest) when the recorder sealed it: a digest of
	// 10 000 events is a megabyte of JSON, encoded once.
	payload []byte
}

// PayloadJSON is Payload(s.Digest), encoded once per sealed digest.
func (s Signed) PayloadJSON() ([]byte, error) {
	if s.payload != nil {
		return s.payload, nil
	}
	return Payload(s.Digest)
}

// LinkHash is Hash(s), from the payload encoded once.
func (s Signed) LinkHash() (string, error) {
	p, err := s.PayloadJSON()
	if err != nil {
		return "", err
	}
	return hashPayload(p, s.Signature), nil
}

// AppendJSON appends the JSON of s (as json.Marshal writes it).
func (s Signed) AppendJSON(b []byte) ([]byte, error) {
	p, err := s.PayloadJSON()
	if err != nil {
		return b, err
	}
	b = append(b, `{"digest":`...)
	b = append(b, p...)
	b = append(b, `,"signature":`...)
	sig, _ := json.Marshal(s.Signature) // base64, or whatever a reader decoded
	b = append(b, sig...)
	return append(b, '}'), nil
}

// Payload is the bytes signed: the digest's JSON, as encoding/json writes
// it.
func Payload(d Digest) ([]byte, error) {
	if d.Events == nil {
		d.Events = []Entry{}
	}
	return appendPayload(make([]byte, 0, 256+len(d.Events)*160), d)
}

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs d with key, setting its KeyID.
func Sign(d Digest, key ed25519.PrivateKey) (Signed, error) {
	s, _, err := sign(d, key)
	return s, err
}

// sign also returns the payload, which Hash would encode again.
func sign(d Digest, key ed25519.PrivateKey) (Signed, []byte, error) {
	d.Version = Version
	d.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	p, err := Payload(d)
	if err != nil {
		return Signed{}, nil, err
	}
	// Ed25519 reads its message twice with SHA-512: signing the payload's
	// SHA-256 instead keeps a megabyte digest cheap.
	msg := sha256.Sum256(p)
	return Signed{Digest: d, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg[:])), payload: p}, p, nil
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
	msg := sha256.Sum256(p)
	for _, k := range keys {
		if KeyID(k) == s.Digest.KeyID && ed25519.Verify(k, msg[:], sig) {
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
	return hashPayload(p, s.Signature), nil
}

func hashPayload(p []byte, signature string) string {
	h := sha256.New()
	h.Write(p)
	h.Write([]byte{0})
	h.Write([]byte(signature))
	return hex.EncodeToString(h.Sum(nil))
}

// DocumentHash is the SHA-256, in hex, of an event's canonical form: its
// stored document, the JSON internal/esdoc writes for the record after
// masking and pseudonyms. In Elasticsearch that is the _source, byte for
// byte (dead letters keep it in event.original); for the archive it is
// ArchiveDocument of the archived record.
func DocumentHash(doc []byte) string {
	sum := sha256.Sum256(doc)
	var h [64]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]) // one allocation per event: the hot path
}
