package main

import (
	"context"
	"io"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// backend is where search and export read: Elasticsearch or the archive.
type backend interface {
	// preflight checks that the read can start, and returns the reader
	// the source authenticated, if it can tell.
	preflight(ctx context.Context) (reader string, err error)
	search(ctx context.Context, q auditquery.Query, size, page int, format string, tz *time.Location, out io.Writer) (int, error)
	// export calls progress, when set, with what is done of the total:
	// events for Elasticsearch, bytes for the archive, as bar renders them.
	export(ctx context.Context, q auditquery.Query, format string, out io.Writer, progress func(done, total int64)) (int, error)
	bar(done, total int64) string
	where() string     // for "N matching events…"
	fromWhere() string // for "exported N events…"
}

type esBackend struct{ es *elasticsearch.Client }

func (b esBackend) preflight(ctx context.Context) (string, error) { return auditctl.WhoAmI(ctx, b.es) }

func (b esBackend) search(ctx context.Context, q auditquery.Query, size, page int, format string, tz *time.Location, out io.Writer) (int, error) {
	return auditctl.Search(ctx, auditctl.SearchOptions{ES: b.es, Query: q, Size: size, Page: page, Output: format, TZ: tz, Out: out})
}

func (b esBackend) export(ctx context.Context, q auditquery.Query, format string, out io.Writer, progress func(done, total int64)) (int, error) {
	o := auditctl.ExportOptions{ES: b.es, Query: q, Output: format, Out: out}
	if progress != nil {
		o.Progress = func(done, total int) { progress(int64(done), int64(total)) }
	}
	return auditctl.Export(ctx, o)
}

func (esBackend) bar(done, total int64) string {
	return auditctl.ProgressBar(int(done), int(total), 40)
}
func (esBackend) where() string     { return "" }
func (esBackend) fromWhere() string { return "" }

type archiveBackend struct{ a *auditctl.Archive }

func (b archiveBackend) preflight(context.Context) (string, error) { return "", b.a.Check() }

func (b archiveBackend) search(ctx context.Context, q auditquery.Query, size, page int, format string, tz *time.Location, out io.Writer) (int, error) {
	return auditctl.SearchArchive(ctx, b.a, q, size, page, format, tz, out)
}

func (b archiveBackend) export(ctx context.Context, q auditquery.Query, format string, out io.Writer, progress func(done, total int64)) (int, error) {
	if progress != nil {
		b.a.Progress = progress
	}
	return auditctl.ExportArchive(ctx, b.a, q, format, out)
}

func (archiveBackend) bar(done, total int64) string { return auditctl.ByteProgressBar(done, total, 40) }
func (archiveBackend) where() string                { return " in the archive" }
func (archiveBackend) fromWhere() string            { return " from the archive" }
