package jsonobj

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestRead(t *testing.T) {
	tests := []struct {
		in      string
		names   []string
		wantErr string
	}{
		{in: `{}`},
		{in: `{"a":1,"b":{"c":[1,2]},"d":"x"}`, names: []string{"a", "b", "d"}},
		{in: ` {"a\u00e9":null} `, names: []string{"aé"}},
		{in: `[1]`, wantErr: errNotObject.Error()},
		{in: `"x"`, wantErr: errNotObject.Error()},
		{in: ``, wantErr: "EOF"},
		{in: `{"a":1`, names: []string{"a"}, wantErr: "unexpected EOF"},
		{in: `{"a":`, names: nil, wantErr: "unexpected EOF"},
		{in: `{"a":1,}`, names: []string{"a"}, wantErr: "invalid character"},
		{in: `{"a":1,"a":2}`, names: []string{"a"}, wantErr: "duplicate object member name"},
		{in: `{"a" 1}`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			names, err := read(tt.in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(names, tt.names) {
				t.Fatalf("members %q, want %q", names, tt.names)
			}
		})
	}
}

// A member callback's error stops the read and is returned as it is.
func TestReadStopsAtMemberError(t *testing.T) {
	stop := errors.New("stop")
	dec := jsontext.NewDecoder(strings.NewReader(`{"a":1,"b":2}`))
	n := 0
	err := Read(dec, func(string) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d members, want stop after 1", err, n)
	}
}

func read(in string) ([]string, error) {
	dec := jsontext.NewDecoder(strings.NewReader(in))
	var names []string
	err := Read(dec, func(name string) error {
		names = append(names, name)
		return dec.SkipValue()
	})
	return names, err
}

// Read succeeds exactly on the inputs whose first value jsontext reads as
// an object, and visits its names in order.
func FuzzRead(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[{}]}`, `{"a":1,"a":2}`, `[1]`, `{"a":`, `{"\ud800":1}`, "{\"a\":\"\xff\"}", `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			t.Skip("bounded inputs")
		}
		oracle := jsontext.NewDecoder(bytes.NewReader(in))
		v, oerr := oracle.ReadValue()
		wantOK := oerr == nil && v.Kind() == '{'
		names, err := read(string(in))
		if (err == nil) != wantOK {
			t.Fatalf("Read error %v, jsontext: %v (kind %v) for %q", err, oerr, v.Kind(), in)
		}
		if !wantOK {
			return
		}
		var want []string
		dec := jsontext.NewDecoder(bytes.NewReader(v))
		dec.ReadToken()
		for dec.PeekKind() != '}' {
			tok, _ := dec.ReadToken()
			want = append(want, tok.String())
			dec.SkipValue()
		}
		if !slices.Equal(names, want) {
			t.Fatalf("members %q, want %q", names, want)
		}
	})
}
