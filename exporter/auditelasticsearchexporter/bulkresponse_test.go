package auditelasticsearchexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBulk(t *testing.T) {
	ok := itemResult{status: 201}
	for _, tc := range []struct {
		name    string
		raw     string
		n       int
		want    []itemResult
		wantErr string
	}{
		{
			name: "filtered, nothing failed",
			raw:  `{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`,
			n:    2, want: []itemResult{ok, ok},
		},
		{
			name: "unfiltered, nothing failed",
			raw: `{"took":3,"errors":false,"items":[{"create":{"_index":".ds-logs-audit-default-2025.11.20-000001","_id":"a","_version":1,"result":"created",` +
				`"_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}]}`,
			n: 1, want: []itemResult{{status: 201, index: ".ds-logs-audit-default-2025.11.20-000001"}},
		},
		{
			name: "filtered, partial failure",
			raw: `{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[a]: version conflict"}}},` +
				`{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}}]}`,
			n: 3, want: []itemResult{ok, {status: 409, errType: "version_conflict_engine_exception", reason: "[a]: version conflict"}, {status: 429, errType: "es_rejected_execution_exception", reason: "rejected"}},
		},
		{
			name: "with _index, nothing failed: every item is read",
			raw:  `{"errors":false,"items":[{"create":{"_index":"logs-audit-default-2025.11.01","status":201}},{"create":{"_index":".ds-logs-audit-default-2025.11.01-2025.11.20-000001","status":201}}]}`,
			n:    2, want: []itemResult{{status: 201, index: "logs-audit-default-2025.11.01"}, {status: 201, index: ".ds-logs-audit-default-2025.11.01-2025.11.20-000001"}},
		},
		{
			name:    "nothing failed, but an item is missing",
			raw:     `{"errors":false,"items":[{"create":{"status":201}}]}`,
			n:       2,
			wantErr: "1 items in the answer for 2 documents",
		},
		{
			name:    "nothing failed, but too many items",
			raw:     `{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`,
			n:       1,
			wantErr: "2 items in the answer for 1 documents",
		},
		{name: "not an object", raw: `[]`, n: 1, wantErr: "not a JSON object"},
		{name: "status not a number", raw: `{"errors":true,"items":[{"create":{"status":"201"}}]}`, n: 1, wantErr: "status is not a number"},
		{name: "items hold a non-object", raw: `{"errors":true,"items":[1]}`, n: 0, wantErr: "items is not an array of objects"},
		{name: "truncated", raw: `{"errors":true,"items":[{"create":{"status":201}`, n: 1, wantErr: "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBulk([]byte(tc.raw), tc.n)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// parseBulk reads untrusted bytes: it never panics, and an answer it
// accepts has exactly one item per document; the items it reads in full
// agree with the fast path's count when nothing failed.
func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(`{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`), 2)
	f.Add([]byte(`{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"t","reason":"r"}}}]}`), 2)
	f.Add([]byte(`{"errors":false,"items":[{"create":{"_index":"i","status":201}}]}`), 1)
	f.Add([]byte(`{"errors":true,"items":[{"create":{"status":201}`), 1)
	f.Fuzz(func(t *testing.T, raw []byte, n int) {
		if n < 0 || n > 1000 || len(raw) > 1<<16 {
			t.Skip("bounded inputs")
		}
		got, err := parseBulk(raw, n)
		if err == nil && len(got) != n {
			t.Fatalf("%d items accepted for %d documents", len(got), n)
		}
	})
}
