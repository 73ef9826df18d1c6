package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// DefaultMaxDigestBytes bounds one stored digest: a digest of
// digest.DefaultMaxEvents entries is about 1.6 MB.
const DefaultMaxDigestBytes = 64 << 20

// DecodeDigest decodes one stored digest, digest.Signed's JSON, strictly:
// a field the format does not have, trailing data or another version is
// an edit. The input is untrusted.
func DecodeDigest(b []byte) (digest.Signed, error) {
	var s digest.Signed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return digest.Signed{}, shortErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return digest.Signed{}, errors.New("data after the digest")
	}
	if s.Digest.Version != digest.Version {
		return digest.Signed{}, fmt.Errorf("version %d, this auditctl reads %d", s.Digest.Version, digest.Version)
	}
	if s.Digest.Chain == "" || s.Digest.Seq == 0 {
		return digest.Signed{}, errors.New("no chain or sequence number")
	}
	return s, nil
}

// shortErr keeps a decoder's error short: it may quote the input.
func shortErr(err error) error {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return errors.New(auditctl.Printable(msg))
}

// ReadDigestFile feeds every digest of a digests file (one digest.Signed
// per line) to c. A line that is too long or does not decode is a
// finding; an unreadable file an error.
func ReadDigestFile(ctx context.Context, path string, maxLine int, c *Checker) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--digests %s: %w; name the digests file with --digests (default: digests.ndjson in the archive directory)", auditctl.Printable(path), err)
	}
	defer fh.Close()
	if maxLine <= 0 {
		maxLine = DefaultMaxDigestBytes
	}
	lines := auditctl.NewLineReader(fh, maxLine)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, tooLong, err := lines.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("--digests %s:%d: %w", auditctl.Printable(path), n, err)
		}
		where := fmt.Sprintf("%s:%d", path, n)
		if tooLong {
			c.BadDigestAt(where, fmt.Errorf("the line is longer than %d bytes (--max-digest-bytes)", maxLine))
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s, err := DecodeDigest(line)
		if err != nil {
			c.BadDigestAt(where, err)
			continue
		}
		c.AddDigest(s, where)
		if err := c.Err(); err != nil {
			return fmt.Errorf("--digests %s:%d: %w", auditctl.Printable(path), n, err)
		}
	}
}
