// Package jsonobj reads a JSON object member by member from a jsontext
// stream, the one reader the event decoder and the exporter's bulk answer
// share.
package jsonobj

import (
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// errNotObject is returned when the next value is not an object.
var errNotObject = errors.New("expected a JSON object")

// Read reads the next value, which must be an object, calling member with
// each name; member must read (or skip) that member's value. A syntax error
// is returned as such, before member is asked to read a value that is not
// there.
func Read(dec *jsontext.Decoder, member func(name string) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return errNotObject
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String() // before PeekKind, which invalidates tok
		if dec.PeekKind() == 0 {
			return syntaxErr(dec)
		}
		if err := member(name); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return err
}

// syntaxErr is the error the decoder stopped at (PeekKind said 0).
func syntaxErr(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
