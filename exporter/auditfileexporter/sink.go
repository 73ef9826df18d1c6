package auditfileexporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// digestFileMode: the digests name event ids and hashes, as private as the
// archive; group-readable for a verifier's account.
const digestFileMode = 0o640

// fileSink appends digests to the digest file, one JSON line of
// digest.Signed each, and fsyncs.
type fileSink struct {
	path       string
	archiveDir string // its *.jsonl files are synced before a digest claims them

	mu      sync.Mutex
	f       *os.File
	newline bool      // the file may end inside a line: start with a newline
	synced  time.Time // when the archive was last synced
	buf     []byte

	beforeWrite func() // tests: look at the archive as a digest is stored
}

func openSink(path, archive string) (*fileSink, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, digestFileMode)
	if err != nil {
		return nil, err
	}
	s := &fileSink{path: path, archiveDir: filepath.Dir(archive), f: f}
	// A crash during a write can leave half a line: the next digest must
	// not run on from it.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, err
		}
		s.newline = last[0] != '\n'
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

// Write appends the digests once the archive they cover is on disk.
func (s *fileSink) Write(_ context.Context, ds []digest.Signed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("%s: closed", s.path)
	}
	if s.beforeWrite != nil {
		s.beforeWrite()
	}
	if err := s.syncArchive(); err != nil {
		return fmt.Errorf("syncing the archive before its digests: %w", err)
	}
	b := s.buf[:0]
	if s.newline {
		b = append(b, '\n')
	}
	for _, d := range ds {
		var err error
		if b, err = d.AppendJSON(b); err != nil {
			return err
		}
		b = append(b, '\n')
	}
	s.buf = b
	if _, err := s.f.Write(b); err != nil {
		s.newline = true
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.newline = false
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// syncArchive fsyncs the archive files written since the last sync, and
// their directory (a rotation renames and creates files): the file
// exporter never does, and a digest must not claim what a machine crash
// can still take from the page cache.
func (s *fileSink) syncArchive() error {
	start := time.Now()
	entries, err := os.ReadDir(s.archiveDir)
	if err != nil {
		return err
	}
	// mtime can lag the clock by a tick: take a little more than needed.
	since := s.synced.Add(-2 * time.Second)
	for _, e := range entries {
		if e.IsDir() || !strings.Contains(e.Name(), ".jsonl") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed by rotation since the listing
			}
			return err
		}
		if !s.synced.IsZero() && info.ModTime().Before(since) {
			continue
		}
		if err := syncFile(filepath.Join(s.archiveDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := syncDir(s.archiveDir); err != nil {
		return err
	}
	s.synced = start
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	err := syncFile(dir)
	if errors.Is(err, os.ErrInvalid) || errors.Is(err, os.ErrPermission) {
		return nil // a directory cannot be synced on every system
	}
	return err
}

func (s *fileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
