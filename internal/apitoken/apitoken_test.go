package apitoken

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func TestCreateStoresOnlyTheHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	tok, rec, err := Create(path, Spec{Organization: "org-7", Role: Admin, Name: "backend"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	secret := tok[strings.LastIndex(tok, "_")+1:]
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), tok) {
		t.Fatalf("the file holds the token:\n%s", raw)
	}
	if !strings.Contains(string(raw), rec.SHA256) {
		t.Fatalf("the file lacks the hash:\n%s", raw)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	admin, _, err := Create(path, Spec{Organization: "org-7", Role: Admin, Name: "backend"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	short, _, _ := Create(path, Spec{Organization: "org-8", Role: Viewer, Resource: "notebook:nb-1", TTL: time.Hour}, t0)
	gone, goneRec, _ := Create(path, Spec{Organization: "org-7", Role: Viewer}, t0)
	if _, err := Revoke(path, goneRec.ID[:8], t0); err != nil {
		t.Fatal(err)
	}
	s := &Store{Path: path}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	tampered := admin[:len(admin)-1] + string("AB"[strings.IndexByte("AB", admin[len(admin)-1])+1&1])
	for _, tc := range []struct {
		name, tok string
		at        time.Time
		want      error
		org, role string
	}{
		{"admin", admin, t0, nil, "org-7", Admin},
		{"viewer with a resource", short, t0.Add(59 * time.Minute), nil, "org-8", Viewer},
		{"expired", short, t0.Add(time.Hour), ErrExpired, "", ""},
		{"revoked", gone, t0, ErrRevoked, "", ""},
		{"last character changed", tampered, t0, ErrUnknown, "", ""},
		{"no prefix", strings.TrimPrefix(admin, "oat_"), t0, ErrUnknown, "", ""},
		{"empty", "", t0, ErrUnknown, "", ""},
		{"unknown id", "oat_zzzz_abc", t0, ErrUnknown, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Authenticate(tc.tok, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && (p.Organization != tc.org || p.Role != tc.role) {
				t.Fatalf("got %+v", p)
			}
		})
	}
}

func TestStoreReloadsWhenTheFileChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	tok, rec, _ := Create(path, Spec{Organization: "a", Role: Viewer}, t0)
	s := &Store{Path: path}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(tok, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(path, rec.ID, t0); err != nil {
		t.Fatal(err)
	}
	// The size changes with the revoked line, so the reload sees it even
	// within the file system's mtime granularity.
	if _, err := s.Authenticate(tok, t0.Add(time.Second)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revoke: %v, want ErrRevoked", err)
	}
	// A file that no longer reads keeps the tokens read before in force.
	var heard error
	s.OnReloadError = func(err error) { heard = err }
	if err := os.WriteFile(path, []byte("tokens: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(tok, t0.Add(2*time.Second)); !errors.Is(err, ErrRevoked) || heard == nil {
		t.Fatalf("after a bad rewrite: %v (reload error %v)", err, heard)
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{Role: Admin}, "--organization"},
		{Spec{Organization: "a", Role: "root"}, "--role"},
		{Spec{Organization: "a", Role: Viewer, Resource: "notebook"}, "TYPE:ID"},
		{Spec{Organization: "a\n", Role: Viewer}, "control"},
		{Spec{Organization: "a", Role: Viewer, TTL: -time.Second}, "--ttl"},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.s, err, tc.want)
		}
	}
}

func TestRevokeNamesTheToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	if _, err := Revoke(path, "abc", t0); err == nil {
		t.Fatal("revoke in a missing file passed")
	}
	_, rec, _ := Create(path, Spec{Organization: "a", Role: Viewer}, t0)
	if _, err := Revoke(path, "nope", t0); err == nil || !strings.Contains(err.Error(), "token list") {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := Revoke(path, rec.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(path, rec.ID, t0); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Fatalf("second revoke: %v", err)
	}
}

func testKeys(t *testing.T, lines ...string) *Keys {
	t.Helper()
	k, err := ParseKeys([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const (
	keyA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	keyB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="
)

func TestViewerTokens(t *testing.T) {
	k := testKeys(t, keyA)
	admin := Principal{Organization: "org-7", Role: Admin, Name: "backend", TokenID: "abc"}
	tok, exp, err := k.MintViewer(Principal{Organization: "org-7", Name: "alice's page", TokenID: admin.TokenID, Resource: "notebook:nb-1"}, t0, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(15 * time.Minute)) {
		t.Fatalf("expires %v", exp)
	}
	p, err := k.VerifyViewer(tok, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if p.Organization != "org-7" || p.Role != Viewer || p.Resource != "notebook:nb-1" || !p.Signed || p.TokenID != "abc" {
		t.Fatalf("got %+v", p)
	}
	if _, err := k.VerifyViewer(tok, exp); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	// Another organization's claims with the same signature.
	parts := strings.Split(strings.TrimPrefix(tok, viewerPrefix), ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[0])
	other := strings.Replace(string(body), `"org-7"`, `"org-8"`, 1)
	if other == string(body) {
		t.Fatalf("claims %s lack the organization", body)
	}
	forged := viewerPrefix + base64.RawURLEncoding.EncodeToString([]byte(other)) + "." + parts[1]
	if _, err := k.VerifyViewer(forged, t0); err == nil {
		t.Fatal("an altered payload verified")
	}
	if _, err := testKeys(t, keyB).VerifyViewer(tok, t0); err == nil {
		t.Fatal("a token verified under another key")
	}
	// Rotation: the new key first signs, the old one still verifies.
	rotated := testKeys(t, keyB, keyA)
	if _, err := rotated.VerifyViewer(tok, t0); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if _, _, err := k.MintViewer(admin, t0, 25*time.Hour); err == nil {
		t.Fatal("a 25h viewer token was minted")
	}
	// A MAC made for one purpose does not verify for another.
	if k.Verify("cursor", []byte("x"), k.Sign("viewer-token", []byte("x"))) {
		t.Fatal("purposes share MACs")
	}
}

func TestParseKeys(t *testing.T) {
	if _, err := ParseKeys([]byte("# only a comment\n")); err == nil {
		t.Fatal("no key accepted")
	}
	_, err := ParseKeys([]byte("short-secret"))
	if err == nil || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("short key: %v (must not quote the key)", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	wrote, err := GenerateKeyFile(path)
	if err != nil || !wrote {
		t.Fatal(wrote, err)
	}
	if wrote, _ := GenerateKeyFile(path); wrote {
		t.Fatal("an existing key was replaced")
	}
	if _, err := LoadKeys(path, ""); err != nil {
		t.Fatal(err)
	}
}
