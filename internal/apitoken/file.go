// Package apitoken authenticates callers of the audit log API: API tokens
// kept in a YAML file as hashes only (create, list, revoke, reloaded when
// the file changes), and short-lived viewer tokens signed with a key, which
// need no storage.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// Roles. An admin token reads its organization's log and mints viewer
// tokens; a viewer token only reads.
const (
	Admin  = "admin"
	Viewer = "viewer"
)

// DefaultOrganization owns the events that carry no organization.id.
const DefaultOrganization = "default"

// Platform is the organization of a platform token: an admin token of the
// SaaS backend that mints viewer tokens for any organization and reads
// none itself.
const Platform = "*"

// Principal is who a token speaks for.
type Principal struct {
	Organization string
	Role         string
	Name         string
	TokenID      string // the API token's id, or the minting token's for a viewer token
	Resource     string // TYPE:ID when the token sees one resource only
	Actor        string // the only user (masked email or user.hash) whose events it sees
	Expires      time.Time
	Signed       bool // a viewer token from POST /api/v1/viewer-tokens
}

// Record is one API token in the file: its hash, never the token.
type Record struct {
	ID           string    `yaml:"id"`
	Name         string    `yaml:"name"`
	Organization string    `yaml:"organization"`
	Role         string    `yaml:"role"`
	Resource     string    `yaml:"resource,omitempty"`
	SHA256       string    `yaml:"sha256"`
	Created      time.Time `yaml:"created"`
	Expires      time.Time `yaml:"expires,omitempty"`
	Revoked      time.Time `yaml:"revoked,omitempty"`
}

type fileDoc struct {
	Tokens []Record `yaml:"tokens"`
}

// prefix starts every API token, so a leaked one is recognizable (secret
// scanners) and told apart from a viewer token.
const prefix = "oat_"

// Spec is what `auditctl token create` asks for.
type Spec struct {
	Organization, Role, Resource, Name string
	TTL                                time.Duration // 0: no expiry
}

// Validate checks a spec's forms.
func (s Spec) Validate() error {
	if strings.TrimSpace(s.Organization) == "" {
		return errors.New("--organization: name the organization the token reads (organization.id of its events; events without one belong to \"default\")")
	}
	if len(s.Organization) > 256 || strings.ContainsFunc(s.Organization, isControl) {
		return errors.New("--organization: at most 256 bytes, no control characters")
	}
	if s.Role != Admin && s.Role != Viewer {
		return fmt.Errorf("--role %q: use admin (reads, and mints viewer tokens) or viewer (reads only)", s.Role)
	}
	if s.Organization == Platform && (s.Role != Admin || s.Resource != "") {
		return errors.New("--organization '*' makes a platform token, which mints viewer tokens for any organization: it takes --role admin and no --resource")
	}
	if s.Resource != "" {
		if _, id, err := auditquery.ParseResource(s.Resource); err != nil || id == "" {
			return fmt.Errorf("--resource %q: use TYPE:ID, e.g. notebook:nb-42: the token then sees that resource's change log only", s.Resource)
		}
	}
	if len(s.Name) > 256 || strings.ContainsFunc(s.Name, isControl) {
		return errors.New("--name: at most 256 bytes, no control characters")
	}
	if s.TTL < 0 {
		return fmt.Errorf("--ttl %s: must be positive (or 0 for no expiry)", s.TTL)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Create adds a token to the file at path (created 0600 when missing) and
// returns the token, which is shown once: the file keeps its SHA-256 only.
// A random 256-bit secret needs no slow hash: there is nothing to guess.
func Create(path string, s Spec, now time.Time) (string, Record, error) {
	if err := s.Validate(); err != nil {
		return "", Record{}, err
	}
	idRaw := make([]byte, 10)
	secret := make([]byte, 32)
	if _, err := rand.Read(idRaw); err != nil {
		return "", Record{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", Record{}, err
	}
	id := strings.ToLower(idEncoding.EncodeToString(idRaw))
	tok := prefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	rec := Record{ID: id, Name: s.Name, Organization: s.Organization, Role: s.Role, Resource: s.Resource,
		SHA256: hashToken(tok), Created: now.UTC().Truncate(time.Second)}
	if rec.Name == "" {
		rec.Name = s.Role + " token " + id[:6]
	}
	if s.TTL > 0 {
		rec.Expires = rec.Created.Add(s.TTL)
	}
	err := update(path, func(d *fileDoc) error {
		d.Tokens = append(d.Tokens, rec)
		return nil
	})
	return tok, rec, err
}

// Revoke marks the token with id (or its unique prefix) revoked. The
// record stays, so `token list` shows when.
func Revoke(path, id string, now time.Time) (Record, error) {
	var out Record
	err := update(path, func(d *fileDoc) error {
		i, err := find(d.Tokens, id)
		if err != nil {
			return err
		}
		if !d.Tokens[i].Revoked.IsZero() {
			return fmt.Errorf("token %s was already revoked at %s", d.Tokens[i].ID, d.Tokens[i].Revoked.Format(time.RFC3339))
		}
		d.Tokens[i].Revoked = now.UTC().Truncate(time.Second)
		out = d.Tokens[i]
		return nil
	})
	return out, err
}

func find(recs []Record, id string) (int, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		return -1, errors.New("name the token by its id (`auditctl token list` shows them)")
	}
	found := -1
	for i, r := range recs {
		if r.ID == id {
			return i, nil
		}
		if strings.HasPrefix(r.ID, id) {
			if found >= 0 {
				return -1, fmt.Errorf("token id %q is ambiguous: give more of it", id)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, fmt.Errorf("no token with id %q (`auditctl token list` shows them)", id)
	}
	return found, nil
}

// List reads every record of the file.
func List(path string) ([]Record, error) {
	d, err := read(path)
	if err != nil {
		return nil, err
	}
	return d.Tokens, nil
}

// MaxFileBytes bounds the tokens file: it is read on every change.
const MaxFileBytes = 16 << 20

func read(path string) (*fileDoc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w; create a token with `auditctl token create --tokens-file %s --organization ORG`", err, path)
	}
	if len(raw) > MaxFileBytes {
		return nil, fmt.Errorf("tokens file %s: %d bytes, more than the %d allowed", path, len(raw), MaxFileBytes)
	}
	var d fileDoc
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tokens file %s: %v", path, err)
	}
	seen := map[string]bool{}
	for i, r := range d.Tokens {
		switch {
		case r.ID == "" || len(r.SHA256) != 64:
			return nil, fmt.Errorf("tokens file %s: token %d: needs an id and a 64-hex-digit sha256", path, i+1)
		case seen[r.ID]:
			return nil, fmt.Errorf("tokens file %s: token id %s appears twice", path, r.ID)
		case r.Role != Admin && r.Role != Viewer:
			return nil, fmt.Errorf("tokens file %s: token %s: role %q is not admin or viewer", path, r.ID, r.Role)
		case r.Organization == "":
			return nil, fmt.Errorf("tokens file %s: token %s: no organization", path, r.ID)
		}
		seen[r.ID] = true
	}
	return &d, nil
}

// update rewrites the file under an exclusive lock, atomically (a reader
// sees the old file or the new one), mode 0600.
func update(path string, fn func(*fileDoc) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	d := &fileDoc{}
	if _, err := os.Stat(path); err == nil {
		if d, err = read(path); err != nil {
			return err
		}
	}
	if err := fn(d); err != nil {
		return err
	}
	out, err := yaml.Marshal(d)
	if err != nil {
		return err
	}
	out = append([]byte("# API tokens of the audit log service: hashes only. Managed by `auditctl token`.\n"), out...)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Errors of authentication; the API answers 401 for each.
var (
	ErrUnknown = errors.New("the token is not known: check it was copied whole, or create one with `auditctl token create`")
	ErrRevoked = errors.New("the token was revoked: ask an admin for a new one")
	ErrExpired = errors.New("the token has expired: ask for a new one")
)

// Store checks API tokens against the file, reading it again when it
// changes (checked at most once per Recheck).
type Store struct {
	Path    string
	Recheck time.Duration
	// OnReloadError hears of a file that changed and no longer reads; the
	// tokens read before stay in force until it reads again.
	OnReloadError func(error)

	mu      sync.Mutex
	byID    map[string]Record
	modTime time.Time
	size    int64
	checked time.Time
	loaded  bool
}

// Load reads the file once; the service refuses to start without it.
func (s *Store) Load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reload(time.Now(), true)
}

func (s *Store) reload(now time.Time, force bool) error {
	if d := now.Sub(s.checked); !force && d >= 0 && d < s.Recheck {
		return nil
	}
	s.checked = now
	st, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	if s.loaded && st.ModTime().Equal(s.modTime) && st.Size() == s.size {
		return nil
	}
	d, err := read(s.Path)
	if err != nil {
		return err
	}
	by := make(map[string]Record, len(d.Tokens))
	for _, r := range d.Tokens {
		by[r.ID] = r
	}
	s.byID, s.modTime, s.size, s.loaded = by, st.ModTime(), st.Size(), true
	return nil
}

// ErrMinterGone refuses a viewer token whose minting admin token is no
// longer in force: revoking an admin token ends the viewer tokens it made.
var ErrMinterGone = errors.New("the admin token that minted this viewer token was revoked, has expired or is gone: ask for a new viewer token")

// CheckMinter verifies that a viewer token's minting admin token is still
// in force, for the same organization.
func (s *Store) CheckMinter(p Principal, now time.Time) error {
	s.mu.Lock()
	if err := s.reload(now, false); err != nil && s.OnReloadError != nil {
		s.OnReloadError(err)
	}
	rec, found := s.byID[p.TokenID]
	s.mu.Unlock()
	if !found || rec.Role != Admin || (rec.Organization != p.Organization && rec.Organization != Platform) || !rec.Revoked.IsZero() ||
		(!rec.Expires.IsZero() && !now.Before(rec.Expires)) {
		return ErrMinterGone
	}
	return nil
}

// Authenticate returns who an API token speaks for.
func (s *Store) Authenticate(tok string, now time.Time) (Principal, error) {
	rest, ok := strings.CutPrefix(tok, prefix)
	if !ok {
		return Principal{}, ErrUnknown
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok {
		return Principal{}, ErrUnknown
	}
	s.mu.Lock()
	if err := s.reload(now, false); err != nil && s.OnReloadError != nil {
		s.OnReloadError(err)
	}
	rec, found := s.byID[id]
	s.mu.Unlock()
	if !found {
		return Principal{}, ErrUnknown
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(tok)), []byte(rec.SHA256)) != 1 {
		return Principal{}, ErrUnknown
	}
	if !rec.Revoked.IsZero() {
		return Principal{}, ErrRevoked
	}
	if !rec.Expires.IsZero() && !now.Before(rec.Expires) {
		return Principal{}, ErrExpired
	}
	return Principal{Organization: rec.Organization, Role: rec.Role, Name: rec.Name, TokenID: rec.ID, Resource: rec.Resource, Expires: rec.Expires}, nil
}

// Roles lists the roles a token may have.
var Roles = []string{Admin, Viewer}

// IsRole reports whether r is a role.
func IsRole(r string) bool { return slices.Contains(Roles, r) }
