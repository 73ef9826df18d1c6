package auditevent

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// errLimit: a property limit was passed, and reported; reading stops
// there rather than skip what is left, which may be deeper still.
var errLimit = errors.New("property limit passed")

// PropertyLimits bound an event's properties, so that the work and memory
// one event costs are bounded by configuration, not by what was sent.
// Zero fields take the defaults.
type PropertyLimits struct {
	// MaxDepth bounds nesting: a property's own value is level 1.
	MaxDepth int
	// MaxKeys bounds the keys of one object, properties itself included.
	MaxKeys int
	// MaxValues bounds the values of one event's properties at every
	// level: each key and each array element counts one.
	MaxValues int
}

// DefaultPropertyLimits are the limits zero fields take.
var DefaultPropertyLimits = PropertyLimits{MaxDepth: 32, MaxKeys: 1000, MaxValues: 10000}

// WithDefaults is l with its zero fields set to the defaults.
func (l PropertyLimits) WithDefaults() PropertyLimits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultPropertyLimits.MaxDepth
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultPropertyLimits.MaxKeys
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultPropertyLimits.MaxValues
	}
	return l
}

// propFrame is an open object or array inside properties.
type propFrame struct {
	name  string // key in the parent object
	elem  bool   // an element of an array, not a key's value
	array bool
	n     int // keys so far (objects)
	mark  int // writer depth to close back to when the container ends
}

// readProperties decodes the properties object into attrs, which must be
// empty. It loops over tokens with an explicit stack (no recursion), checks
// every limit before it writes a value, and on the first limit passed
// reports it once and returns errLimit. used keys and values of the
// properties object are already taken (by CSV columns). Paths for problems
// are built only when one is reported, so a long key costs its length once.
func readProperties(dec *jsontext.Decoder, attrs pcommon.Map, lim PropertyLimits, used int, w *attrWriter, add func(field, reason string)) error {
	lim = lim.WithDefaults()
	c := probs(add)
	add = c.add
	if _, err := dec.ReadToken(); err != nil { // '{'
		return err
	}
	w.reset()
	stack := []propFrame{{mark: w.depth(), n: used}}
	values := used
	abandon := func(field, reason string) error {
		add(field, reason)
		return errLimit
	}
	for {
		top := &stack[len(stack)-1]
		switch dec.PeekKind() {
		case '}', ']':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			w.endTo(top.mark)
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				if c.added {
					return nil
				}
				return w.finish(attrs)
			}
			continue
		case 0:
			return readErr(dec)
		}
		name := ""
		if !top.array {
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			name = tok.String()
			if top.n++; top.n > lim.MaxKeys {
				return abandon(containerPath(stack), fmt.Sprintf("more than %d keys in one object (max_property_keys)", lim.MaxKeys))
			}
			if len(stack) == 1 && (name == "" || fields.IsCore(name)) {
				add("properties."+name, "reserved or empty name; core fields go in the event's own fields")
				if err := dec.SkipValue(); err != nil {
					return err
				}
				continue
			}
		}
		if values++; values > lim.MaxValues {
			return abandon(propPath(stack, name, top.array), fmt.Sprintf("more than %d values in the event's properties (max_property_values)", lim.MaxValues))
		}
		if len(stack) > lim.MaxDepth {
			return abandon(propPath(stack, name, top.array), fmt.Sprintf("nested deeper than %d levels below properties (max_property_depth)", lim.MaxDepth))
		}
		mark := w.depth()
		switch {
		case top.array:
			w.begin(fieldValues) // an AnyValue
		case len(stack) == 1:
			w.begin(fieldAttributes) // a KeyValue of the record
			w.bytes(fieldKey, name)
			w.begin(fieldValue)
		default:
			w.begin(fieldValues) // a KeyValue of a KeyValueList
			w.bytes(fieldKey, name)
			w.begin(fieldValue)
		}
		switch dec.PeekKind() {
		case '{', '[':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			array := tok.Kind() == '['
			if array {
				w.begin(fieldArray)
			} else {
				w.begin(fieldKVList)
			}
			stack = append(stack, propFrame{name: name, elem: top.array, array: array, mark: mark})
			continue
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch tok.Kind() {
		case '"':
			w.str(tok.String())
		case '0':
			if i, ierr := tok.Int(); ierr == nil {
				w.integer(i)
			} else if f, ferr := tok.Float(); ferr == nil {
				w.double(f)
			} else {
				add(propPath(stack, name, top.array), "number out of range")
			}
		case 't', 'f':
			w.boolean(tok.Bool())
		}
		w.endTo(mark)
	}
}

// propPath names a value for a problem: properties.a.b[] for an element of
// the array under b, and so on; leaf is the value's key, if any.
func propPath(stack []propFrame, leaf string, inArray bool) string {
	p := containerPath(stack)
	if inArray {
		return p + "[]"
	}
	return p + "." + leaf
}

// containerPath names the innermost open container, stopping early once
// the name is longer than a problem shows.
func containerPath(stack []propFrame) string {
	var b strings.Builder
	b.WriteString("properties")
	for _, f := range stack[1:] {
		if f.elem {
			b.WriteString("[]")
		} else {
			b.WriteString(".")
			b.WriteString(f.name)
		}
		if b.Len() > maxProblemText {
			break
		}
	}
	return b.String()
}

// ReadProperties decodes a JSON object of properties (CSV's Properties
// column) into attrs, which must be empty, with the same rules and limits
// as the JSON body's properties. used keys of the object, and as many
// values, are already taken by properties from elsewhere (CSV columns).
func ReadProperties(s string, attrs pcommon.Map, lim PropertyLimits, used int) error {
	dec := jsontext.NewDecoder(strings.NewReader(s))
	if dec.PeekKind() != '{' {
		return errors.New("must be a JSON object")
	}
	var first string
	var w attrWriter
	err := readProperties(dec, attrs, lim, used, &w, func(field, reason string) {
		if first == "" {
			first = truncate(field) + ": " + reason
		}
	})
	if first != "" {
		return errors.New(first)
	}
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}
