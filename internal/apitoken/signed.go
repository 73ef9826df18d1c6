package apitoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Keys sign viewer tokens and cursors. The first key signs; every key
// verifies, so a key is rotated by putting the new one first and removing
// the old one once the tokens it signed have expired.
type Keys struct {
	keys [][]byte
}

// MinKeyBytes is the shortest signing key accepted.
const MinKeyBytes = 32

// ParseKeys reads keys, one per line (base64, hex or raw text of at least
// MinKeyBytes bytes); blank lines and # comments are skipped. Errors never
// quote a key.
func ParseKeys(raw []byte) (*Keys, error) {
	k := &Keys{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b := []byte(line)
		if d, err := base64.StdEncoding.DecodeString(line); err == nil && len(d) >= MinKeyBytes {
			b = d
		}
		if len(b) < MinKeyBytes {
			return nil, fmt.Errorf("signing key, line %d: %d bytes, fewer than %d: make one with `head -c 32 /dev/urandom | base64`", i+1, len(b), MinKeyBytes)
		}
		k.keys = append(k.keys, b)
	}
	if len(k.keys) == 0 {
		return nil, errors.New("signing key: none found: make one with `head -c 32 /dev/urandom | base64`")
	}
	return k, nil
}

// LoadKeys reads the keys from a file, or from the environment variable
// env when the file is not named.
func LoadKeys(file, env string) (*Keys, error) {
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--signing-key-file: %w", err)
		}
		return ParseKeys(raw)
	}
	if v := os.Getenv(env); v != "" {
		k, err := ParseKeys([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("no signing key: set --signing-key-file FILE or %s (viewer tokens and cursors are signed with it; every replica needs the same key)", env)
}

// GenerateKeyFile writes a new random key to path (0600) unless the file
// exists, and reports whether it wrote one.
func GenerateKeyFile(path string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "# Signs viewer tokens and cursors of the audit log service. Keep it secret; every replica needs the same.\n%s\n", base64.StdEncoding.EncodeToString(b))
	return err == nil, err
}

// Sign returns the MAC of msg under the signing key, for a purpose (so a
// MAC made for a cursor never verifies as a token).
func (k *Keys) Sign(purpose string, msg []byte) []byte { return mac(k.keys[0], purpose, msg) }

// Verify checks a MAC against every key.
func (k *Keys) Verify(purpose string, msg, sum []byte) bool {
	ok := false
	for _, key := range k.keys {
		if hmac.Equal(mac(key, purpose, msg), sum) {
			ok = true
		}
	}
	return ok
}

func mac(key []byte, purpose string, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(msg)
	return h.Sum(nil)
}

// viewerPrefix starts every viewer token.
const viewerPrefix = "oav1."

// Viewer token limits.
const (
	DefaultViewerTTL = 15 * time.Minute
	MaxViewerTTL     = 24 * time.Hour
	MinViewerTTL     = time.Minute
)

type claims struct {
	Org      string `json:"org"`
	Name     string `json:"name,omitempty"`
	Resource string `json:"res,omitempty"`
	Actor    string `json:"act,omitempty"`
	By       string `json:"by,omitempty"`
	Issued   int64  `json:"iat"`
	Expires  int64  `json:"exp"`
}

// MintViewer signs a viewer token for p's organization, valid for ttl.
func (k *Keys) MintViewer(p Principal, now time.Time, ttl time.Duration) (string, time.Time, error) {
	if ttl < MinViewerTTL || ttl > MaxViewerTTL {
		return "", time.Time{}, fmt.Errorf("ttl %s: use %s to %s", ttl, MinViewerTTL, MaxViewerTTL)
	}
	exp := now.Add(ttl).Truncate(time.Second)
	if !p.Expires.IsZero() && p.Expires.Before(exp) {
		exp = p.Expires // never past the minting token's own expiry
	}
	body, err := json.Marshal(claims{Org: p.Organization, Name: p.Name, Resource: p.Resource, Actor: p.Actor, By: p.TokenID, Issued: now.Unix(), Expires: exp.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	sig := base64.RawURLEncoding.EncodeToString(k.Sign("viewer-token", []byte(payload)))
	return viewerPrefix + payload + "." + sig, exp, nil
}

// IsViewerToken reports whether tok has the form of a signed viewer token.
func IsViewerToken(tok string) bool { return strings.HasPrefix(tok, viewerPrefix) }

// MaxTokenBytes bounds a token read from a request.
const MaxTokenBytes = 4096

// VerifyViewer checks a viewer token's signature and expiry.
func (k *Keys) VerifyViewer(tok string, now time.Time) (Principal, error) {
	rest, ok := strings.CutPrefix(tok, viewerPrefix)
	if !ok || len(tok) > MaxTokenBytes {
		return Principal{}, ErrUnknown
	}
	payload, sigText, ok := strings.Cut(rest, ".")
	if !ok {
		return Principal{}, ErrUnknown
	}
	sig, err := base64.RawURLEncoding.DecodeString(sigText)
	if err != nil || !k.Verify("viewer-token", []byte(payload), sig) {
		return Principal{}, errors.New("the viewer token's signature does not verify: it was altered, or signed with another key")
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Principal{}, ErrUnknown
	}
	var c claims
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Org == "" {
		return Principal{}, ErrUnknown
	}
	exp := time.Unix(c.Expires, 0)
	if !now.Before(exp) {
		return Principal{}, ErrExpired
	}
	return Principal{Organization: c.Org, Role: Viewer, Name: c.Name, TokenID: c.By, Resource: c.Resource, Actor: c.Actor, Expires: exp, Signed: true}, nil
}
