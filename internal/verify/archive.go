package verify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.opentelemetry.io/collector/pdata/pcommon"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// DigestsFile is the digests file's name beside the archive (not
// *.jsonl: the archive readers take every such file).
const DigestsFile = "digests.ndjson"

// Archive is what CheckArchive reads.
type Archive struct {
	// Dir is the archive: a directory of *.jsonl files, or one file.
	Dir string
	// Digests is the digests file; default DigestsFile in Dir (or beside
	// the file).
	Digests string
	// MaxLineBytes bounds an archive line; MaxDigestBytes a digest line.
	MaxLineBytes, MaxDigestBytes int
	// Warn receives the archive reader's reports (may be nil).
	Warn io.Writer
}

// DigestsPath is where the digests are read from.
func (a Archive) DigestsPath() string {
	if a.Digests != "" {
		return a.Digests
	}
	if st, err := os.Stat(a.Dir); err == nil && !st.IsDir() {
		return filepath.Join(filepath.Dir(a.Dir), DigestsFile)
	}
	return filepath.Join(a.Dir, DigestsFile)
}

// CheckArchive checks an archive against its digests file. An error means
// the input could not be read (no verdict).
func CheckArchive(ctx context.Context, o Options, a Archive) (*Report, error) {
	ar := &auditctl.Archive{Dir: a.Dir, MaxLineBytes: a.MaxLineBytes, Warn: a.Warn}
	if err := ar.Check(); err != nil {
		return nil, err
	}
	c := New(o)
	c.Ordered = true
	path := a.DigestsPath()
	if err := ReadDigestFile(ctx, path, a.MaxDigestBytes, c); err != nil {
		return nil, err
	}
	if !c.HasDigests() {
		return nil, fmt.Errorf("--digests %s: no digests (of the chains asked for): tamper evidence was off (digest::key_file of the file exporter), or every digest was deleted; nothing can be verified", auditctl.Printable(path))
	}
	c.Seal()
	ar.OnSkip = func(file string, line int, reason string) {
		c.UnreadableAt(fmt.Sprintf("%s:%d", file, line), reason)
	}
	var enc esdoc.Encoder
	buf := make([]byte, 0, 4096)
	oldestFile := "" // the oldest file left: the first read with a record
	err := ar.EachRecord(ctx, func(r auditctl.RawRecord) error {
		lr := r.Record
		created := lr.ObservedTimestamp()
		if created == 0 {
			created = enc.Timestamp(lr)
		}
		if oldestFile == "" {
			oldestFile = r.File
		}
		if o.Namespace != "" {
			// The writer's rule (auditfileexporter): a string
			// organization.id only; anything else is "default".
			org := ""
			if v, ok := lr.Attributes().Get(fields.Organization); ok && v.Type() == pcommon.ValueTypeStr {
				org = v.Str()
			}
			if assets.Namespace(org, "default") != o.Namespace {
				return nil
			}
		}
		buf = digest.ArchiveDocument(&enc, buf[:0], r.Resource, lr)
		c.Record(Record{ID: digest.ValidID(enc.ID(lr)), Hash: SHA256(buf), Created: created.AsTime(), File: r.File,
			Where: fmt.Sprintf("%s:%d record %d", r.File, r.Line, r.Index)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Rotation removes whole files, oldest first: an entry may have gone
	// with them when it comes before its chain's first record kept and
	// that record is in the oldest file left. Not the records' observed
	// times: a client may supply them.
	return c.Finish(func(e EntryInfo) bool {
		return e.BeforeFirstKept && e.FirstKeptFile != "" && e.FirstKeptFile == oldestFile
	}), nil
}
