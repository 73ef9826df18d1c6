package auditfileexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

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
	newline bool      // a failed write left half a line that could not be cut
	synced  time.Time // when the archive was last synced
	buf     []byte

	beforeWrite func()                              // tests: look at the archive as a digest is stored
	write       func(*os.File, []byte) (int, error) // tests: a write cut short; nil: f.Write
	onSync      func(path string)                   // tests: what syncArchive synced
}

func openSink(path, archive string, logger *zap.Logger) (*fileSink, error) {
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
	// A crash during a write can leave half a line, which verify would
	// report as a bad digest forever. The digests on it are still in
	// storage (the recorder forgets them only once Write returned), so
	// they are written again: cut the fragment.
	cut, err := cutTornLine(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: cutting a torn last line: %w", path, err)
	}
	if cut > 0 {
		logger.Warn("audit_file: cut the torn last line of the digest file (a write cut short by a crash; its digests are written again)",
			zap.String("file", path), zap.Int64("bytes", cut))
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

// cutTornLine truncates f to just after its last '\n' (to empty when it
// has none) and fsyncs it, when f does not end in '\n'. It returns how
// many bytes it cut.
func cutTornLine(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	// A line can be megabytes (a batch): read back in blocks.
	buf := make([]byte, 64<<10)
	keep := int64(0)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if end == size && b[len(b)-1] == '\n' {
			return 0, nil // whole lines
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			keep = start + int64(i) + 1
			break
		}
		end = start
	}
	if err := f.Truncate(keep); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return size - keep, nil
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
	write := (*os.File).Write
	if s.write != nil {
		write = s.write
	}
	if _, err := write(s.f, b); err != nil {
		// The file ended in '\n' before: cut what this write left, so
		// the retry (the digests stay in storage) writes whole lines.
		if _, cerr := cutTornLine(s.f); cerr != nil {
			s.newline = true
			return fmt.Errorf("%s: %w (and cutting the half-written line: %v)", s.path, err, cerr)
		}
		s.newline = false
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.newline = false
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// BeforeSeal syncs the archive before the recorder seals digests (and
// deletes the intents of what they claim): a machine crash after the seal
// must not take from the page cache a record a sealed digest claims.
// The recorder does not seal when it fails. Write syncs again, for what
// was written between the seal and the write.
func (s *fileSink) BeforeSeal(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncArchive(); err != nil {
		return fmt.Errorf("syncing the archive before sealing its digests: %w", err)
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
		p := filepath.Join(s.archiveDir, e.Name())
		if err := syncFile(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return err
		}
		if s.onSync != nil {
			s.onSync(p)
		}
	}
	if err := syncDir(s.archiveDir); err != nil {
		return err
	}
	if s.onSync != nil {
		s.onSync(s.archiveDir)
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
