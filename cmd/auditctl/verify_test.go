package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
	"github.com/otelcol-audit/otelcol-audit/internal/estest"
	"github.com/otelcol-audit/otelcol-audit/internal/verify"
)

// signedArchive writes an archive of one batch of n events (ids from
// ids, or e0…), its digests file (one final digest) and the public key;
// it returns the directory and the key file.
func signedArchive(t *testing.T, ids ...string) (dir, pubFile string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	dir = t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pubFile = filepath.Join(dir, "audit-signing.pub")
	require.NoError(t, os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))

	now := time.Now()
	ld := auditgen.Batch(max(len(ids), 3), auditgen.Options{Seed: 1, IDPrefix: "e"})
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	d := digest.Digest{Chain: "col-1/default", Seq: 1, From: now.Add(-2 * time.Hour).UTC(), To: now.Add(-time.Hour).UTC(), Final: true}
	var enc esdoc.Encoder
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		if i < len(ids) {
			lr.Attributes().PutStr("event.id", ids[i])
		}
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now.Add(-90 * time.Minute)))
		doc := digest.ArchiveDocument(&enc, nil, ld.ResourceLogs().At(0).Resource(), lr)
		d.Events = append(d.Events, digest.Entry{ID: enc.ID(lr), SHA256: digest.DocumentHash(doc)})
	}
	d.Count = len(d.Events)
	s, err := digest.Sign(d, key)
	require.NoError(t, err)
	line, err := json.Marshal(s)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, verify.DigestsFile), append(line, '\n'), 0o644))
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "audit.jsonl"), append(b, '\n'), 0o644))
	return dir, pubFile
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

func TestVerifyArchive(t *testing.T) {
	dir, pub := signedArchive(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"verify", "--archive", dir, "--public-key", pub}, &out, &errOut)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "result: intact")
	assert.Contains(t, out.String(), "events checked: 3; covered by a digest: 3")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"verify", "--archive", dir, "--public-key", pub, "--output", "json"}, &out, &errOut))
	var rep verify.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, 3, rep.Summary.Covered)
	assert.Empty(t, rep.Findings)

	// One field of one event edited: exit 1, the event named.
	file := filepath.Join(dir, "audit.jsonl")
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, bytes.Replace(raw, []byte(`{"stringValue":"e1"}}`), []byte(`{"stringValue":"e1"}},{"key":"x","value":{"stringValue":"y"}}`), 1), 0o644))
	out.Reset()
	err = run(context.Background(), []string{"verify", "--archive", dir, "--public-key", pub}, &out, &errOut)
	assert.Equal(t, 1, exitCode(err), "%v\n%s", err, out.String())
	assert.Contains(t, out.String(), "modified: event e1 chain col-1/default digest 1")
	assert.Contains(t, out.String(), "result: NOT INTACT")

	// Rotation: the old key and a new one, as a comma list.
	_, other := signedArchive(t)
	out.Reset()
	err = run(context.Background(), []string{"verify", "--archive", dir, "--public-key", other + "," + pub}, &out, &errOut)
	assert.Equal(t, 1, exitCode(err))
	out.Reset()
	err = run(context.Background(), []string{"verify", "--archive", dir, "--public-key", other}, &out, &errOut)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out.String(), "bad_signature")
}

func TestVerifyUsageErrorsExit2(t *testing.T) {
	dir, pub := signedArchive(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pub")
	require.NoError(t, os.WriteFile(garbage, []byte("not a key"), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--archive", dir}, "--public-key FILE is required"},
		{[]string{"verify", "--archive", dir, "--es", "http://x:9200", "--public-key", pub}, "both set"},
		{[]string{"verify", "--archive", dir, "--public-key", pub, "--frobnicate"}, "unknown flag"},
		{[]string{"verify", "--archive", dir, "--public-key", garbage}, "not a PEM"},
		{[]string{"verify", "--archive", filepath.Join(dir, "nope"), "--public-key", pub}, "no such file"},
		{[]string{"verify", "--archive", dir, "--public-key", pub, "--digests", filepath.Join(dir, "none.ndjson")}, "--digests"},
		{[]string{"verify", "--archive", dir, "--public-key", pub, "--output", "table"}, "use text or json"},
		{[]string{"verify", "--archive", dir, "--public-key", pub, "--since", "2d", "--from", "2025-01-01"}, "both set"},
		{[]string{"verify", "--es", "http://127.0.0.1:1", "--public-key", pub}, "cannot reach Elasticsearch"},
		{[]string{"verify", "--public-key", pub, "--digests", "x"}, "use it with --archive"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), err.Error())
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// An empty digests file: nothing can be verified, which is not intact.
	require.NoError(t, os.WriteFile(filepath.Join(dir, verify.DigestsFile), nil, 0o644))
	err := run(context.Background(), []string{"verify", "--archive", dir, "--public-key", pub}, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "no digests")
}

// Hostile ids reach neither the text nor the JSON output raw.
func TestVerifyOutputEscapesHostileIDs(t *testing.T) {
	hostile := "\x1b]0;pwned\x07\u202eevil"
	dir, pub := signedArchive(t, "ok-1")
	// A forged event with a hostile id, observed long ago but after the digest began.
	ld := auditgen.Batch(1, auditgen.Options{Seed: 2})
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().PutStr("event.id", hostile)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-80 * time.Minute)))
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	f, err := os.OpenFile(filepath.Join(dir, "audit.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(append(b, '\n'))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	for _, format := range []string{"text", "json"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"verify", "--archive", dir, "--public-key", pub, "--output", format}, &out, &bytes.Buffer{})
		assert.Equal(t, 1, exitCode(err))
		assert.Contains(t, out.String(), "inserted")
		assert.NotContains(t, out.String(), "\x1b")
		assert.NotContains(t, out.String(), "\u202e")
		assert.NotContains(t, out.String(), "\x07")
	}
}

// verify --es: an intact store exits 0; a store without digests exits 2.
func TestVerifyES(t *testing.T) {
	es := estest.New(estest.WithSource())
	srv := es.Start(t)
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"setup", "--es", srv.URL, "--collector-config", "../../config/elasticsearch.yaml"}, &out, &errOut))
	_, pubFile := signedArchive(t) // only for a key file of another key
	err := run(context.Background(), []string{"verify", "--es", srv.URL, "--public-key", pubFile}, &out, &errOut)
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "no digests in logs-audit.digest-*")

	// One event and its digest, as the exporter writes them.
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pubFile = filepath.Join(t.TempDir(), "k.pub")
	require.NoError(t, os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	ld := auditgen.Batch(1, auditgen.Options{Seed: 1, IDPrefix: "e"})
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	now := time.Now()
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Hour)))
	var enc esdoc.Encoder
	target := esdoc.Target{Dataset: "audit", Namespace: "default"}
	ts := enc.Timestamp(lr)
	index := target.IndexName("month", ts)
	doc := enc.AppendDocument(nil, ld.ResourceLogs().At(0).Resource(), lr, target, enc.ID(lr), ts)
	s, err := digest.Sign(digest.Digest{Chain: "col-1/default", Seq: 1, From: now.Add(-2 * time.Hour).UTC(), To: now.Add(-time.Hour).UTC(), Count: 1, Final: true,
		Events: []digest.Entry{{ID: enc.ID(lr), SHA256: digest.DocumentHash(doc), Index: index}}}, key)
	require.NoError(t, err)
	dj, _ := json.Marshal(s.Digest)
	dsrc, _ := json.Marshal(map[string]any{"@timestamp": s.Digest.To, "digest": json.RawMessage(dj), "signature": s.Signature})
	var bulk bytes.Buffer
	fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q,\"_id\":%q}}\n%s\n", index, enc.ID(lr), doc)
	fmt.Fprintf(&bulk, "{\"create\":{\"_index\":\"logs-audit.digest-default\",\"_id\":\"d1\"}}\n%s\n", dsrc)
	res, err := http.Post(srv.URL+"/_bulk?refresh=true", "application/x-ndjson", &bulk)
	require.NoError(t, err)
	res.Body.Close()
	out.Reset()
	err = run(context.Background(), []string{"verify", "--es", srv.URL, "--public-key", pubFile, "--output", "json"}, &out, &errOut)
	require.NoError(t, err, out.String())
	var rep verify.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, 1, rep.Summary.Covered)
	assert.Equal(t, 1, rep.Summary.Digests)
}
