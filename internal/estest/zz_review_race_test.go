package estest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestReviewConcurrentSearchRace(t *testing.T) {
	s := New(WithSource())
	url := s.Start(t).URL
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString(`{"create":{"_index":"x","_id":"` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"}}` + "\n")
		b.WriteString(`{"@timestamp":"2025-11-20T10:00:00Z","user":{"name":"u"}}` + "\n")
	}
	resp, err := http.Post(url+"/_bulk?refresh=true", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := http.Post(url+"/x/_search", "application/json", strings.NewReader(`{"size":100,"query":{"term":{"user.name":"u"}},"sort":[{"user.name":"desc"}]}`))
			if err == nil {
				r.Body.Close()
			}
		}()
	}
	wg.Wait()
}
