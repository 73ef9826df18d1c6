package auditelasticsearchexporter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-audit/otelcol-audit/internal/digest"
)

// The document built around the encoded payload is the one json.Marshal
// makes of digestDoc.
func TestDigestDocumentIsMarshal(t *testing.T) {
	d := digest.Digest{Chain: "col-1/org_7", Seq: 3, To: time.Date(2026, 12, 2, 10, 0, 0, 5, time.UTC),
		Events: []digest.Entry{{ID: "a<&>\"", SHA256: digest.DocumentHash(nil), Index: "logs-audit-org_7-2026.12.01"}}}
	payload, err := digest.Payload(d)
	require.NoError(t, err)
	dsj := dataStreamJSON{Type: "logs", Dataset: "audit.digest", Namespace: "default"}
	got, err := appendDigestDocument([]byte("x"), d, dsj, payload, "c2ln")
	require.NoError(t, err)
	want, err := json.Marshal(digestDoc{Timestamp: "2026-12-02T10:00:00.000000005Z", DataStream: dsj, Digest: payload, Signature: "c2ln"})
	require.NoError(t, err)
	assert.Equal(t, "x"+string(want), string(got))
}
