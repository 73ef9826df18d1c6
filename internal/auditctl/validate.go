package auditctl

import (
	"fmt"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// MaxSize is the most hits one page holds: Elasticsearch's window.
const MaxSize = 10000

// CheckPage checks --size and --page, for both backends.
func CheckPage(size, page int) error {
	if size < 1 || size > MaxSize {
		return fmt.Errorf("--size %d: use 1 to %d", size, MaxSize)
	}
	if page < 1 {
		return fmt.Errorf("--page %d: pages start at 1", page)
	}
	return nil
}

// checkSearch is what every search checks before reading, whichever the
// backend, so both refuse alike.
func checkSearch(q auditquery.Query, size, page int) error {
	if err := q.Validate(); err != nil {
		return err
	}
	return CheckPage(size, page)
}
