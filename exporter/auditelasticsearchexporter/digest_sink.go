package auditelasticsearchexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/esdoc"
)

// digestSink writes digests into the digest data stream: a bulk create per
// batch, _id from the chain and sequence number, so a digest written twice
// is refused as a duplicate (409), which counts as stored. Anything else
// fails the batch; the recorder keeps it and writes it again at the next
// interval.
type digestSink struct{ e *auditExporter }

// digestDoc is a digest as stored: @timestamp is the end of its window.
type digestDoc struct {
	Timestamp  string          `json:"@timestamp"`
	DataStream dataStreamJSON  `json:"data_stream"`
	Digest     json.RawMessage `json:"digest"` // digest.Signed.PayloadJSON: encoded once
	Signature  string          `json:"signature"`
}

type dataStreamJSON struct {
	Type      string `json:"type"`
	Dataset   string `json:"dataset"`
	Namespace string `json:"namespace"`
}

// appendDigestDocument appends the digestDoc of a digest, with its payload
// copied in as encoded: json.Marshal would scan the megabyte again to
// compact it.
func appendDigestDocument(out []byte, d digest.Digest, dsj dataStreamJSON, payload []byte, signature string) ([]byte, error) {
	head, err := json.Marshal(digestDoc{Timestamp: d.To.UTC().Format(time.RFC3339Nano), DataStream: dsj, Digest: json.RawMessage("0"), Signature: signature})
	if err != nil {
		return nil, err
	}
	// head ends `"digest":0,"signature":"…"}`: put the payload for the 0.
	i := bytes.LastIndex(head, []byte(`"digest":0,`))
	if i < 0 {
		return nil, errors.New("digest document: unexpected encoding")
	}
	i += len(`"digest":`)
	out = append(out, head[:i]...)
	out = append(out, payload...)
	return append(out, head[i+1:]...), nil
}

// digestID is a digest's _id: its chain, sequence number and hash. A
// resend of the same digest is refused (409) as already stored; a
// different digest for the same place (a chain restarted on lost
// storage) is stored beside it, where verify names the fork, instead of
// being taken for stored.
func digestID(s digest.Signed) (string, error) {
	h, err := s.LinkHash()
	if err != nil {
		return "", err
	}
	return esdoc.ShortID(s.Digest.Chain + "/" + strconv.FormatUint(s.Digest.Seq, 10) + "/" + h[:16]), nil
}

// maxDigestBody bounds one bulk request of digests: after an outage many
// wait, and Elasticsearch refuses a body over http.max_content_length
// (100mb by default) whole. A digest larger than this goes alone.
const maxDigestBody = 8 << 20

// body appends the bulk lines of ds, from the first, until the body would
// pass maxDigestBody; n is how many it took (at least one).
func (s digestSink) body(ds []digest.Signed) (_ []byte, n int, _ error) {
	e := s.e
	stream := e.cfg.digestStream()
	dsj := dataStreamJSON{Type: "logs", Dataset: e.cfg.DigestTier().Dataset, Namespace: e.cfg.DataStream.Namespace}
	// Size the body first: growing a buffer of megabytes copies them again.
	size := 0
	for _, sd := range ds {
		payload, err := sd.PayloadJSON()
		if err != nil {
			return nil, 0, err
		}
		if size > 0 && size+len(payload)+512 > maxDigestBody {
			break
		}
		size += len(payload) + 512
	}
	buf := make([]byte, 0, size)
	for _, sd := range ds {
		payload, err := sd.PayloadJSON()
		if err != nil {
			return nil, 0, err
		}
		id, err := digestID(sd)
		if err != nil {
			return nil, 0, err
		}
		action, err := json.Marshal(map[string]map[string]string{"create": {"_index": stream, "_id": id}})
		if err != nil {
			return nil, 0, err
		}
		start := len(buf)
		buf = append(append(buf, action...), '\n')
		if buf, err = appendDigestDocument(buf, sd.Digest, dsj, payload, sd.Signature); err != nil {
			return nil, 0, err
		}
		buf = append(buf, '\n')
		if n > 0 && len(buf) > maxDigestBody {
			buf = buf[:start]
			break
		}
		n++
	}
	return buf, n, nil
}

// Write implements digest.Sink: every digest is stored (201, or 409 for
// one stored before), or it returns an error.
func (s digestSink) Write(ctx context.Context, ds []digest.Signed) error {
	if !s.e.bootstrapped.Load() {
		return fmt.Errorf("the digest data stream %s is not installed yet", s.e.cfg.digestStream())
	}
	for len(ds) > 0 {
		body, n, err := s.body(ds)
		if err != nil {
			return err
		}
		if err := s.write(ctx, body, ds[:n]); err != nil {
			return err
		}
		ds = ds[n:]
	}
	return nil
}

func (s digestSink) write(ctx context.Context, body []byte, ds []digest.Signed) error {
	e := s.e
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	resp, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: bulkFilterPath}.Do(rctx, e.client)
	if err != nil {
		return fmt.Errorf("bulk request to Elasticsearch failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		typ, reason := esbootstrap.ErrorOf(resp.Body)
		return &requestRefused{status: resp.StatusCode, typ: typ, reason: reason}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the bulk answer: %w", err)
	}
	results, err := parseBulk(raw, len(ds))
	if err != nil {
		return fmt.Errorf("unexpected bulk answer from Elasticsearch: %w", err)
	}
	for i, r := range results {
		if r.status != 201 && r.status != 409 {
			return fmt.Errorf("%s refused digest %s#%d with %d %s: %s", e.cfg.digestStream(), ds[i].Digest.Chain, ds[i].Digest.Seq, r.status, r.errType, r.reason)
		}
	}
	return nil
}
