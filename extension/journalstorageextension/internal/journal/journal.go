// Package journal is an append-only key-value log in segment files: every
// batch of writes is one checksummed record appended with one write, the
// current location of each key is kept in memory, and values are read back
// with pread. Sync makes everything written so far durable with one
// fdatasync, shared by every caller waiting at the time (group commit).
// A segment whose values were all overwritten or deleted is removed, the
// oldest first, so a FIFO queue's log stays about as large as its backlog.
package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Options of a Log.
type Options struct {
	// SegmentSize is the size past which a new segment file is started.
	SegmentSize int64
	// Fsync makes Sync flush to the disk. Without it, Sync returns at once:
	// what was written survives the process being killed, not the machine.
	Fsync  bool
	Logger *zap.Logger
	// OnSync is told how many records one fdatasync made durable.
	OnSync func(records int64)
	// OnTorn is told the bytes cut from a torn tail when the log is opened.
	OnTorn func(bytes int64)
	// BeforeSync is for tests: Sync calls it outside the lock just before
	// its fdatasync, with the segment file it syncs and the size that
	// fdatasync makes durable. A test blocks in it to stand between a
	// write and its sync, or records the size to simulate a crash.
	BeforeSync func(segment string, size int64)
	// OnBroken is told, once, the error that stopped the journal.
	OnBroken func(error)
}

// ErrClosed is returned by a Log after Close.
var ErrClosed = errors.New("journal is closed")

// Log is one client's journal in one directory.
type Log struct {
	dir  string
	opts Options
	lock *os.File

	// mu guards everything below. Writes and reclaiming hold it
	// exclusively; reads share it, so a segment is not removed under a
	// pread.
	mu       sync.RWMutex
	segs     []*segment // oldest first; the last is written to
	index    map[string]loc
	seq      uint64 // records appended
	synced   uint64 // records known durable
	syncing  bool
	syncDone *sync.Cond
	broken   error // a failed write or sync: nothing more is written
	closing  bool  // Close has begun: writes are refused, reads still served
	closed   bool
	// reclaiming stops reclaim re-entering itself through copyForward.
	reclaiming bool
	// dirUnsynced: a segment was removed but the directory sync failed;
	// nothing more is removed until one succeeds.
	dirUnsynced bool

	// Scratch of append: the record's own bytes, its pieces for pwritev,
	// where values go, and each value's offset.
	buf     []byte
	iov     [][]byte
	cuts    []int
	offsets []int
	writes  []write
}

type segment struct {
	id        uint64
	f         *os.File
	size      int64
	live      int    // keys whose current value is in this segment
	liveBytes int64  // and their values' size
	killedAt  uint64 // the record that last made a value here obsolete
}

type loc struct {
	seg *segment
	off int64
	n   int
}

type write struct {
	kind  byte
	key   string
	value []byte
}

// Open opens or creates the journal in dir, replaying its segments. A torn
// last record (a write the process or machine did not finish) is cut off
// and reported; any other damage refuses to open.
func Open(dir string, opts Options) (*Log, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.SegmentSize <= headerLen {
		return nil, fmt.Errorf("segment size %d: must be larger than %d bytes", opts.SegmentSize, headerLen)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("journal %s is already open, by another collector or another client of this one (%w): give each collector its own directory", dir, err)
	}
	l := &Log{dir: dir, opts: opts, lock: lock, index: map[string]loc{}}
	l.syncDone = sync.NewCond(&l.mu)
	if err := l.replay(); err != nil {
		l.closeFiles()
		return nil, err
	}
	return l, nil
}

func segmentName(id uint64) string { return fmt.Sprintf("%016x.seg", id) }

func (l *Log) replay() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(name, 16, 64)
		if err != nil || segmentName(id) != e.Name() {
			return fmt.Errorf("journal %s: %q is not a segment this journal wrote: move it out of the directory", l.dir, e.Name())
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i, id := range ids {
		torn, err := l.replaySegment(id, i == len(ids)-1)
		if err != nil {
			return err
		}
		if torn {
			// Nothing after a torn record was ever synced (a segment is
			// synced before the next is started), so later segments hold
			// only writes nobody was told were kept.
			for _, later := range ids[i+1:] {
				p := filepath.Join(l.dir, segmentName(later))
				if st, err := os.Stat(p); err == nil && l.opts.OnTorn != nil {
					l.opts.OnTorn(st.Size())
				}
				l.opts.Logger.Error("Setting aside a journal segment written after a torn record", zap.String("segment", p), zap.String("kept_in", p+".torn"))
				if err := os.Rename(p, p+".torn"); err != nil {
					return err
				}
			}
			if l.opts.Fsync && len(ids) > i+1 {
				// New records go after the cut: a removed segment that
				// came back after another crash would replay after them.
				if err := syncDir(l.dir); err != nil {
					return err
				}
			}
			break
		}
	}
	// Everything replayed is on disk, the torn segment included (its cut
	// was synced).
	l.synced = l.seq
	if len(l.segs) == 0 {
		return l.newSegment(1)
	}
	return nil
}

// replaySegment reads one segment into the index. It reports whether the
// segment ended in a torn record, which it cuts off.
func (l *Log) replaySegment(id uint64, last bool) (bool, error) {
	path := filepath.Join(l.dir, segmentName(id))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return false, err
	}
	size := st.Size()
	var hdr [headerLen]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || hdr != magic {
		if size < headerLen && last {
			// Created, header not yet on disk: start it again.
			f.Close()
			if l.opts.OnTorn != nil {
				l.opts.OnTorn(size)
			}
			if err := os.Remove(path); err != nil {
				return false, err
			}
			return false, l.newSegment(id)
		}
		f.Close()
		return false, fmt.Errorf("journal segment %s does not start with this journal's header: it is not ours or it is damaged; move it aside to start without it", path)
	}
	s := &segment{id: id, f: f, size: headerLen}
	l.segs = append(l.segs, s)
	r := &offsetReader{f: f, off: headerLen}
	var body []byte
	var ops []op
	var rh [recordHeaderLen]byte
	for s.size < size {
		torn := func(why string) (bool, error) {
			if !last && l.opts.Fsync {
				// With fsync, a segment is synced whole before the next is
				// started: damage here is not a torn write but corruption,
				// and cutting would drop the later segments' acknowledged
				// events. Keep everything for whoever salvages it.
				return false, fmt.Errorf("journal segment %s is damaged at offset %d (%s) and later segments exist: this is disk corruption, not a torn write; move the directory aside (keep it to salvage) to start with an empty queue", path, s.size, why)
			}
			// A torn write is at most what was written since the last sync,
			// but damage inside the segment looks the same from here: keep
			// the cut bytes beside it, so nothing acknowledged is gone for
			// good.
			aside := fmt.Sprintf("%s.torn-%d-%d", path, s.size, time.Now().UnixNano())
			if err := keepAside(f, s.size, size-s.size, aside); err != nil {
				return false, fmt.Errorf("journal segment %s: keeping the %d bytes after offset %d aside in %s before cutting them: %w", path, size-s.size, s.size, aside, err)
			}
			l.opts.Logger.Error("Cut a damaged or torn tail off the journal and kept it aside: usually a write no sender was told was kept; a large cut means damage, and the file is there to salvage",
				zap.String("segment", path), zap.Int64("offset", s.size), zap.Int64("bytes", size-s.size), zap.String("why", why), zap.String("kept_in", aside))
			if l.opts.OnTorn != nil {
				l.opts.OnTorn(size - s.size)
			}
			if err := f.Truncate(s.size); err != nil {
				return false, err
			}
			return true, f.Sync()
		}
		if size-s.size < recordHeaderLen {
			return torn("short record header")
		}
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			return false, err
		}
		n := int64(binary.LittleEndian.Uint32(rh[:4]))
		if n == 0 {
			// No record has an empty body (it holds at least the op
			// count), but a zero-filled block checksums as one: the file
			// grew and its data never reached the disk.
			return torn("zero-length record (zero-filled tail)")
		}
		if n > size-s.size-recordHeaderLen || n > MaxRecord {
			return torn("record longer than the rest of the file")
		}
		if int64(cap(body)) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return false, err
		}
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(rh[4:]) {
			return torn("checksum mismatch")
		}
		ops, err = decodeBody(body, ops)
		if err != nil {
			// The checksum matched, so this was written as it is: not a
			// torn write but a bug or an edit. Refuse rather than guess.
			return false, fmt.Errorf("journal segment %s, record at offset %d: %w; move the directory aside to start an empty queue", path, s.size, err)
		}
		l.seq++
		recStart := s.size
		for _, o := range ops {
			if o.kind == opSet {
				l.put(o.key, loc{seg: s, off: recStart + recordHeaderLen + int64(o.valOff), n: o.valLen})
			} else {
				l.remove(o.key)
			}
		}
		s.size += recordHeaderLen + n
	}
	return false, nil
}

// keepAside copies n bytes of f from off to a new file at path, synced.
func keepAside(f *os.File, off, n int64, path string) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, off, n)); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

type offsetReader struct {
	f   *os.File
	off int64
}

func (r *offsetReader) Read(p []byte) (int, error) {
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// newSegment starts segment id, durable before anything is written to it.
func (l *Log) newSegment(id uint64) error {
	path := filepath.Join(l.dir, segmentName(id))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(magic[:]); err != nil {
		f.Close()
		return err
	}
	if l.opts.Fsync {
		if err := fdatasync(f); err != nil {
			f.Close()
			return err
		}
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return err
		}
	}
	l.segs = append(l.segs, &segment{id: id, f: f, size: headerLen})
	return nil
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// put and remove keep the index and the segments' live counts; the caller
// holds mu and has advanced seq to the record making the change.
func (l *Log) put(key string, at loc) {
	if old, ok := l.index[key]; ok {
		l.kill(old)
	}
	l.index[key] = at
	at.seg.live++
	at.seg.liveBytes += int64(at.n)
}

func (l *Log) remove(key string) {
	if old, ok := l.index[key]; ok {
		l.kill(old)
		delete(l.index, key)
	}
}

func (l *Log) kill(old loc) {
	old.seg.live--
	old.seg.liveBytes -= int64(old.n)
	old.seg.killedAt = l.seq
}

// Batch applies ops in order as one record: after a crash either all of its
// writes are there or none. A Get sees the writes before it in the batch.
// The writes are in the page cache when Batch returns; Sync makes them
// durable.
func (l *Log) Batch(_ context.Context, ops ...*storage.Operation) error {
	hasWrite := false
	for _, o := range ops {
		switch o.Type {
		case storage.Get:
		case storage.Set, storage.Delete:
			hasWrite = true
		default:
			return fmt.Errorf("unknown storage operation type %d", o.Type)
		}
	}
	if !hasWrite {
		l.mu.RLock()
		defer l.mu.RUnlock()
		if l.closed {
			return ErrClosed
		}
		for _, o := range ops {
			v, err := l.read(o.Key)
			if err != nil {
				return err
			}
			o.Value = v
		}
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.closing {
		return ErrClosed
	}
	if l.broken != nil {
		return l.broken
	}
	l.writes = l.writes[:0]
	for i, o := range ops {
		switch o.Type {
		case storage.Get:
			v, found, err := l.pendingValue(ops[:i], o.Key)
			if !found {
				v, err = l.read(o.Key)
			}
			if err != nil {
				return err
			}
			o.Value = v
		case storage.Set:
			l.writes = append(l.writes, write{kind: opSet, key: o.Key, value: o.Value})
		case storage.Delete:
			l.writes = append(l.writes, write{kind: opDelete, key: o.Key})
		}
	}
	return l.append()
}

// pendingValue is the value the last write to key in earlier has set.
func (l *Log) pendingValue(earlier []*storage.Operation, key string) ([]byte, bool, error) {
	for i := len(earlier) - 1; i >= 0; i-- {
		o := earlier[i]
		if o.Key != key {
			continue
		}
		switch o.Type {
		case storage.Set:
			// A copy, and an empty value is not nil: nil means no key.
			v := make([]byte, len(o.Value))
			copy(v, o.Value)
			return v, true, nil
		case storage.Delete:
			return nil, true, nil
		}
	}
	return nil, false, nil
}

// read returns a copy of key's value, nil when there is none.
func (l *Log) read(key string) ([]byte, error) {
	at, ok := l.index[key]
	if !ok {
		return nil, nil
	}
	v := make([]byte, at.n)
	if _, err := at.seg.f.ReadAt(v, at.off); err != nil {
		return nil, fmt.Errorf("journal %s: reading %q from segment %s: %w", l.dir, key, segmentName(at.seg.id), err)
	}
	return v, nil
}

// append writes l.writes as one record; the caller holds mu exclusively.
func (l *Log) append() error {
	if size := recordSize(l.writes); size > MaxRecord {
		return fmt.Errorf("journal: a batch of %d bytes is larger than the %d bytes one record may hold: send smaller requests", size, MaxRecord)
	}
	var n int
	l.buf, l.iov, l.cuts, n, l.offsets = vectorRecord(l.buf, l.iov, l.cuts, l.writes, l.offsets)
	rotated := false
	if cur := l.active(); cur.size > headerLen && cur.size+int64(n) > l.opts.SegmentSize {
		if err := l.rotate(); err != nil {
			l.setBroken(fmt.Errorf("journal %s: starting a segment failed, nothing more is written until the collector restarts: %w", l.dir, err))
			return l.broken
		}
		rotated = true
	}
	s := l.active()
	if written, err := pwritevAll(s.f, l.iov, s.size); err != nil {
		// Take back a partial write (replay would cut it anyway).
		if written > 0 {
			_ = s.f.Truncate(s.size)
		}
		if errors.Is(err, unix.ENOSPC) {
			err = fmt.Errorf("%w: %w", storage.ErrStorageFull, err)
		}
		// Stop for good: exporterhelper's persistent queue skips an item
		// whose read failed and would persist a read position past it
		// with its next successful write. Written nothing more, the disk
		// keeps the position before the failure, and a restart resumes
		// from it.
		l.setBroken(fmt.Errorf("journal %s: writing %d bytes failed, nothing more is written until the collector restarts: %w", l.dir, n, err))
		return l.broken
	}
	clear(l.iov) // hold no caller's value past the call
	l.seq++
	start := s.size
	s.size += int64(n)
	vi := 0
	for _, w := range l.writes {
		if w.kind == opSet {
			l.put(w.key, loc{seg: s, off: start + int64(l.offsets[vi]), n: len(w.value)})
			vi++
		} else {
			l.remove(w.key)
		}
	}
	// Do not keep one huge batch's scratch for good, nor the caller's
	// values.
	if cap(l.buf) > 1<<20 {
		l.buf = nil
	}
	clear(l.writes)
	if !l.opts.Fsync {
		l.synced = l.seq
	}
	// Only now, with the record written and indexed: reclaiming may copy
	// values forward, which appends through l.buf, l.offsets and l.writes.
	if rotated || !l.opts.Fsync {
		l.reclaim()
	}
	return nil
}

// rotate makes the active segment durable and starts the next. The caller
// reclaims once its record is written.
func (l *Log) rotate() error {
	cur := l.active()
	if l.opts.Fsync {
		if err := fdatasync(cur.f); err != nil {
			return err
		}
		l.reportSync(l.seq)
	}
	return l.newSegment(cur.id + 1)
}

// reportSync records that an fdatasync made every record up to upTo
// durable; the caller holds mu exclusively.
func (l *Log) reportSync(upTo uint64) {
	n := int64(0)
	if upTo > l.synced {
		n = int64(upTo - l.synced)
		l.synced = upTo
	}
	if l.opts.OnSync != nil {
		l.opts.OnSync(n)
	}
}

// reclaim removes the oldest segments with nothing live, once what made
// them obsolete is durable; the caller holds mu exclusively. Removing only
// from the front keeps every delete record until the values it deleted
// are gone. An oldest segment pinned by a few long-lived keys has them
// copied forward, so it can go too. A failure is logged, not returned:
// the write or sync that called it succeeded, and the next one retries.
func (l *Log) reclaim() {
	if l.reclaiming {
		return
	}
	l.reclaiming = true
	defer func() { l.reclaiming = false }()
	if err := l.reclaimSegments(); err != nil {
		l.opts.Logger.Warn("Reclaiming journal segments failed; the next write or sync tries again", zap.String("journal", l.dir), zap.Error(err))
	}
}

func (l *Log) reclaimSegments() error {
	for len(l.segs) > 1 {
		s := l.segs[0]
		if s.live > 0 {
			if len(l.segs) < 4 || s.liveBytes*8 > l.opts.SegmentSize {
				return nil
			}
			if err := l.copyForward(s); err != nil {
				return err
			}
			continue
		}
		if s.killedAt > l.synced {
			return nil
		}
		if l.dirUnsynced {
			if err := syncDir(l.dir); err != nil {
				return err
			}
			l.dirUnsynced = false
		}
		if err := os.Remove(filepath.Join(l.dir, segmentName(s.id))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.f.Close()
		l.segs = l.segs[1:]
		if l.opts.Fsync {
			// Make each removal stick before the next: a segment that
			// came back after a crash without the newer one that killed
			// its values would replay them.
			if err := syncDir(l.dir); err != nil {
				l.dirUnsynced = true
				return err
			}
		}
	}
	return nil
}

// copyForward rewrites s's live values at the end of the log.
func (l *Log) copyForward(s *segment) error {
	var writes []write
	for key, at := range l.index {
		if at.seg != s {
			continue
		}
		v := make([]byte, at.n)
		if _, err := s.f.ReadAt(v, at.off); err != nil {
			return err
		}
		writes = append(writes, write{kind: opSet, key: key, value: v})
	}
	sort.Slice(writes, func(i, j int) bool { return writes[i].key < writes[j].key })
	saved := l.writes
	l.writes = writes
	err := l.append()
	l.writes = saved[:0]
	return err
}

// Sync returns once every record appended before it was called is on disk.
// Callers arriving while an fdatasync runs wait for it and share the next.
func (l *Log) Sync(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.opts.Fsync {
		return l.broken
	}
	target := l.seq
	for {
		// A broken journal answers every caller with its error: after a
		// failed fdatasync, Linux reports the error to one caller only,
		// so no sync since can be trusted, even one that succeeded.
		if l.broken != nil {
			return l.broken
		}
		if l.synced >= target {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.closed {
			return ErrClosed
		}
		if l.syncing {
			l.syncDone.Wait()
			continue
		}
		l.syncing = true
		// Every record up to upTo is in s or in an older segment, which
		// rotate synced before starting the next.
		s, upTo, size := l.active(), l.seq, l.active().size
		l.mu.Unlock()
		if l.opts.BeforeSync != nil {
			l.opts.BeforeSync(s.f.Name(), size)
		}
		err := fdatasync(s.f)
		l.mu.Lock()
		l.syncing = false
		l.syncDone.Broadcast()
		switch {
		case err != nil && !errors.Is(err, os.ErrClosed):
			// The kernel may have dropped the dirty pages: nothing written
			// since the last sync can be trusted.
			l.setBroken(fmt.Errorf("journal %s: fdatasync failed, nothing more is written until the collector restarts: %w", l.dir, err))
		case err != nil:
			// reclaim closed s: a rotation synced it whole before.
		case l.broken == nil:
			l.reportSync(upTo)
			l.reclaim()
		}
	}
}

// setBroken stops the journal for good: every later write and sync
// fails with err. The caller holds mu exclusively.
func (l *Log) setBroken(err error) {
	if l.broken != nil {
		return
	}
	l.broken = err
	l.opts.Logger.Error("Journal stopped: restart the collector once the cause is fixed; what was acknowledged is on disk and is read again at start", zap.Error(err))
	if l.opts.OnBroken != nil {
		l.opts.OnBroken(err)
	}
}

// Close syncs and closes the journal. Writes are refused from the moment
// it is called, so none is left unsynced behind its sync.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed || l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	l.mu.Unlock()
	err := l.Sync(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.syncing {
		l.syncDone.Wait()
	}
	l.closed = true
	l.closeFiles()
	l.index, l.buf, l.writes = nil, nil, nil // a closed client may be kept around
	return err
}

func (l *Log) closeFiles() {
	for _, s := range l.segs {
		s.f.Close()
	}
	l.segs = nil
	if l.lock != nil {
		l.lock.Close() // releases the flock
	}
}

// Stats is the journal's size, for tests and telemetry.
type Stats struct {
	Segments int
	Keys     int
	Bytes    int64
	Records  uint64
	Synced   uint64
}

// Stats returns the journal's size now.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := Stats{Segments: len(l.segs), Keys: len(l.index), Records: l.seq, Synced: l.synced}
	for _, s := range l.segs {
		st.Bytes += s.size
	}
	return st
}

// pwritevAll writes every piece at off, going on after a short write.
func pwritevAll(f *os.File, iov [][]byte, off int64) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	total := 0
	for len(iov) > 0 {
		batch := iov
		if len(batch) > 1024 { // IOV_MAX on Linux
			batch = batch[:1024]
		}
		var n int
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Pwritev(int(fd), batch, off)
			return werr != unix.EAGAIN
		}); err != nil {
			return total, err
		}
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return total, werr
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
		total += n
		off += int64(n)
		for n > 0 {
			if n >= len(iov[0]) {
				n -= len(iov[0])
				iov = iov[1:]
				continue
			}
			iov[0] = iov[0][n:]
			n = 0
		}
		for len(iov) > 0 && len(iov[0]) == 0 {
			iov = iov[1:]
		}
	}
	return total, nil
}

func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
