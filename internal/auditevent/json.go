package auditevent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/jsonobj"
)

// ErrTooManyEvents is returned when a request holds more than MaxEvents.
var ErrTooManyEvents = errors.New("too many events in one request")

// Decoder turns JSON and NDJSON bodies into log records. It reads tokens
// and writes pdata directly, without reflection or intermediate maps.
type Decoder struct {
	Limits
	// MaxEvents bounds one request; 0 means no bound.
	MaxEvents int
	// MaxLine bounds one NDJSON line in bytes.
	MaxLine int

	props attrWriter
}

const defaultMaxLine = 1 << 20

// DecodeJSON reads one event object or an array of them. Problems are
// collected for every event; err is set only when reading stops early
// (a read error, ErrTooManyEvents).
func (d *Decoder) DecodeJSON(r io.Reader, dst plog.LogRecordSlice, probs *Problems) error {
	dec := jsontext.NewDecoder(r)
	switch dec.PeekKind() {
	case '{':
		if fatal := d.decodeOne(dec, dst, probs, 0, 0); fatal != nil {
			return stopped(fatal)
		}
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return syntax(err, probs, -1, 0)
		}
		for i := 0; dec.PeekKind() != ']'; i++ {
			if dec.PeekKind() == 0 {
				_, err := dec.ReadToken()
				return syntax(err, probs, i, 0)
			}
			if d.MaxEvents > 0 && i >= d.MaxEvents {
				return ErrTooManyEvents
			}
			if dec.PeekKind() != '{' {
				probs.Add(i, 0, "", "each element must be an event object")
				if err := dec.SkipValue(); err != nil {
					return syntax(err, probs, i, 0)
				}
				continue
			}
			if fatal := d.decodeOne(dec, dst, probs, i, 0); fatal != nil {
				return stopped(fatal)
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return syntax(err, probs, -1, 0)
		}
	default:
		_, err := dec.ReadToken()
		switch {
		case errors.Is(err, io.EOF):
			probs.Add(-1, 0, "", "empty body: expected a JSON event object or an array of them")
			return nil
		case err == nil:
			probs.Add(-1, 0, "", "the body must be an event object or an array of event objects")
			return nil
		}
		return syntax(err, probs, -1, 0)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err != nil {
			return syntax(err, probs, -1, 0)
		}
		probs.Add(-1, 0, "", "unexpected data after the JSON value")
	}
	return nil
}

// DecodeNDJSON reads one event object per line; blank lines are skipped.
func (d *Decoder) DecodeNDJSON(r io.Reader, dst plog.LogRecordSlice, probs *Problems) error {
	maxLine := d.MaxLine
	if maxLine <= 0 {
		maxLine = defaultMaxLine
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, maxLine)), maxLine)
	dec := jsontext.NewDecoder(bytes.NewReader(nil))
	events := 0
	var rd bytes.Reader
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if d.MaxEvents > 0 && events >= d.MaxEvents {
			return ErrTooManyEvents
		}
		events++
		rd.Reset(b)
		dec.Reset(&rd)
		if dec.PeekKind() != '{' {
			probs.Add(-1, line, "", "each line must be one event object")
			continue
		}
		if fatal := d.decodeOne(dec, dst, probs, -1, line); fatal != nil {
			if errors.Is(fatal, errStop) {
				continue
			}
			return fatal
		}
		if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
			probs.Add(-1, line, "", "more than one JSON value on the line")
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			probs.Add(-1, 0, "", fmt.Sprintf("a line is longer than %d bytes", maxLine))
			return nil
		}
		return err
	}
	return nil
}

// syntax turns a jsontext error into a problem, or returns read errors.
func syntax(err error, probs *Problems, index, line int) error {
	if err == nil {
		return nil
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		probs.Add(index, line, "", "invalid JSON: "+se.Error())
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		probs.Add(index, line, "", "invalid JSON: unexpected end of input")
		return nil
	}
	return err
}

// decodeOne reads one event object. A syntax error, or a property limit
// passed, is recorded as a problem and stops reading the event: errStop
// outside NDJSON, where the request cannot go on (the caller sees the
// problem and answers 400), and for an NDJSON line, which is dropped.
func (d *Decoder) decodeOne(dec *jsontext.Decoder, dst plog.LogRecordSlice, probs *Problems, index, line int) (fatal error) {
	lr := dst.AppendEmpty()
	var e Event
	before := probs.Len()
	add := func(field, reason string) { probs.Add(index, line, field, reason) }
	if err := d.readEvent(dec, &e, lr.Attributes(), add); err != nil {
		if errors.Is(err, errLimit) {
			return errStop
		}
		if serr := syntax(err, probs, index, line); serr != nil {
			return serr
		}
		return errStop
	}
	e.Validate(d.Limits, add)
	if probs.Len() == before {
		e.Fill(lr, d.Now)
	}
	return nil
}

// errStop: reading an event stopped at a problem already recorded.
var errStop = errors.New("stop")

func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func (d *Decoder) readEvent(dec *jsontext.Decoder, e *Event, attrs pcommon.Map, add func(field, reason string)) error {
	return jsonobj.Read(dec, func(name string) error {
		switch name {
		case "time":
			return readTime(dec, e, add)
		case "action":
			n := probs(add)
			err := readString(dec, "action", &e.Action, n.add)
			e.badAction = n.added
			return err
		case "id":
			return readString(dec, "id", &e.ID, add)
		case "region":
			return readString(dec, "region", &e.Region, add)
		case "organization":
			return readString(dec, "organization", &e.Organization, add)
		case "message":
			return readString(dec, "message", &e.Message, add)
		case "outcome":
			if k := dec.PeekKind(); k == 't' || k == 'f' {
				tok, err := dec.ReadToken()
				if err != nil {
					return err
				}
				e.Outcome = fmt.Sprint(tok.Bool())
				return nil
			}
			return readString(dec, "outcome", &e.Outcome, add)
		case "actor":
			return readSub(dec, "actor", add, map[string]*string{"email": &e.ActorEmail, "id": &e.ActorID, "name": &e.ActorName, "type": &e.ActorType})
		case "resource":
			return readSub(dec, "resource", add, map[string]*string{"type": &e.ResourceType, "id": &e.ResourceID, "name": &e.ResourceName})
		case "client":
			return readSub(dec, "client", add, map[string]*string{"ip": &e.ClientIP, "user_agent": &e.UserAgent})
		case "properties":
			if dec.PeekKind() != '{' {
				add("properties", "must be an object")
				return dec.SkipValue()
			}
			return readProperties(dec, attrs, d.Properties, 0, &d.props, add)
		default:
			add(name, "unknown field; the event fields are time, action, id, actor, resource, client, region, outcome, organization, message and properties (put custom data under properties)")
			return dec.SkipValue()
		}
	})
}

func readErr(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func readString(dec *jsontext.Decoder, field string, dst *string, add func(field, reason string)) error {
	if k := dec.PeekKind(); k != '"' {
		if k == 'n' {
			_, err := dec.ReadToken()
			return err
		}
		add(field, "must be a string")
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	*dst = tok.String()
	return nil
}

// counter notes whether a reader reported a problem, so Validate does not
// add "required" on top of "must be a string".
type counter struct {
	inner func(field, reason string)
	added bool
}

func probs(add func(field, reason string)) *counter { return &counter{inner: add} }

func (c *counter) add(field, reason string) { c.added = true; c.inner(field, reason) }

func readTime(dec *jsontext.Decoder, e *Event, add func(field, reason string)) error {
	c := probs(add)
	defer func() { e.badTime = e.badTime || c.added }()
	add = c.add
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		t, perr := ParseTime(tok.String())
		if perr != nil {
			add("time", perr.Error())
			return nil
		}
		e.SetTime(t)
	case '0':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		f, ferr := tok.Float()
		if ferr != nil {
			add("time", "not a number")
			return nil
		}
		e.SetTime(EpochTime(f))
	default:
		add("time", "must be an RFC 3339 string or epoch seconds or milliseconds")
		return dec.SkipValue()
	}
	return nil
}

func readSub(dec *jsontext.Decoder, parent string, add func(field, reason string), dst map[string]*string) error {
	if dec.PeekKind() != '{' {
		if dec.PeekKind() == 'n' {
			_, err := dec.ReadToken()
			return err
		}
		add(parent, "must be an object")
		return dec.SkipValue()
	}
	return jsonobj.Read(dec, func(name string) error {
		p, ok := dst[name]
		if !ok {
			add(parent+"."+name, "unknown field")
			return dec.SkipValue()
		}
		return readString(dec, parent+"."+name, p, add)
	})
}
