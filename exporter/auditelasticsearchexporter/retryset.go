package auditelasticsearchexporter

import (
	"errors"
)

// errOr is err, or msg when Elasticsearch gave no error but asked for a
// retry item by item.
func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}
