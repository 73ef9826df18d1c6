package estest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Concurrent writes and searches, for `go test -race`: the double serves
// the exporter's consumers and auditctl at once.
func TestConcurrentWritesAndSearches(t *testing.T) {
	s, c := setup(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				body := fmt.Sprintf(`{"create":{"_index":"ev-1","_id":"w%d-%d"}}`+"\n"+`{"@timestamp":"2025-11-20T10:00:00Z","user":{"email":"x"}}`+"\n", w, i)
				resp, err := http.Post(c.url+"/_bulk?refresh=true", "application/x-ndjson", strings.NewReader(body))
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				resp, err := http.Post(c.url+"/ev-*/_search", "application/json", strings.NewReader(`{"query":{"term":{"user.email":"x"}},"sort":[{"@timestamp":"desc"}]}`))
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if got := len(s.IDs("ev-1")); got != 80 {
		t.Fatalf("stored %d of 80", got)
	}
}
