package auditelasticsearchexporter

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/otelcol-audit/otelcol-audit/internal/jsonobj"
)

var statusKey, indexKey = []byte(`"status":`), []byte(`"_index":`)

// parseBulk reads a _bulk answer: {"took":..,"errors":bool,"items":[{"create":
// {"status":201,...}}, ...]}, and checks that it holds one item per document.
func parseBulk(raw []byte, n int) ([]itemResult, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, errors.New("not a JSON object")
	}
	out := make([]itemResult, 0, n)
	noErrors := false
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch name.String() {
		case "errors":
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			noErrors = tok.Kind() == 'f'
		case "items":
			// With bulkFilterPath an item is {"create":{"status":201}}: when
			// nothing failed, counting the status keys is enough.
			if noErrors && !bytes.Contains(raw, indexKey) && bytes.Count(raw[dec.InputOffset():], statusKey) == n {
				for i := 0; i < n; i++ {
					out = append(out, itemResult{status: 201})
				}
				return out, nil
			}
			if out, err = readItems(dec, out); err != nil {
				return nil, err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d items in the answer for %d documents", len(out), n)
	}
	return out, nil
}

func readItems(dec *jsontext.Decoder, out []itemResult) ([]itemResult, error) {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, errors.New("items is not an array")
	}
	for dec.PeekKind() == '{' {
		dec.ReadToken() // {
		for dec.PeekKind() != '}' {
			if _, err := dec.ReadToken(); err != nil { // the op name: create
				return nil, err
			}
			var r itemResult
			if err := jsonobj.Read(dec, func(key string) error {
				switch key {
				case "_index":
					tok, err := dec.ReadToken()
					if err != nil {
						return err
					}
					r.index = tok.String()
				case "status":
					tok, err := dec.ReadToken()
					if err != nil {
						return err
					}
					if tok.Kind() != '0' {
						return errors.New("status is not a number")
					}
					v, _ := tok.Int() // saturates: an unknown status is dead-lettered
					r.status = int(v)
				case "error":
					return jsonobj.Read(dec, func(k string) error {
						switch k {
						case "type", "reason":
							tok, err := dec.ReadToken()
							if err != nil {
								return err
							}
							if k == "type" {
								r.errType = tok.String()
							} else {
								r.reason = tok.String()
							}
							return nil
						}
						return dec.SkipValue()
					})
				default:
					return dec.SkipValue()
				}
				return nil
			}); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		if _, err := dec.ReadToken(); err != nil { // }
			return nil, err
		}
	}
	if tok, err := dec.ReadToken(); err != nil {
		return nil, err
	} else if tok.Kind() != ']' {
		return nil, errors.New("items is not an array of objects")
	}
	return out, nil
}
