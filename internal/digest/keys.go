package digest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Key file names that Keygen writes.
const (
	PrivateKeyFile = "audit-signing.key"
	PublicKeyFile  = "audit-signing.pub"
)

// Keygen writes a new Ed25519 key pair into dir: the private key as PKCS #8
// PEM (0600) and the public key as PKIX PEM (0644). It refuses to replace
// an existing key. It returns the key id.
func Keygen(dir string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for _, f := range []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{{PrivateKeyFile, "PRIVATE KEY", privDER, 0o600}, {PublicKeyFile, "PUBLIC KEY", pubDER, 0o644}} {
		path := filepath.Join(dir, f.name)
		fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, f.mode)
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("%s exists: keygen never replaces a key; move it away to make a new pair (rotation keeps the old public key for verifying)", path)
		}
		if err != nil {
			return "", err
		}
		werr := pem.Encode(fh, &pem.Block{Type: f.typ, Bytes: f.der})
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", werr
		}
	}
	return KeyID(pub), nil
}

// maxKeyFileBytes bounds a key file: a PEM Ed25519 key is about 120 bytes.
const maxKeyFileBytes = 64 << 10

func readPEM(path, typ string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is not a key file", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != typ {
		// Never quote the file: it may hold a secret.
		return nil, fmt.Errorf("%s: not a PEM %q block (make a pair with `auditctl keygen --out DIR`)", path, typ)
	}
	return b.Bytes, nil
}

// LoadPrivateKey reads a PKCS #8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS #8 private key", path)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKIX public key", path)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return pub, nil
}
