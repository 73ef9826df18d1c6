package auditctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// An archive line is one batch. When it does not decode as a whole (one
// record nested deeper than the decoder allows, say), salvage splits it
// and decodes each resource and each record on its own, so one bad record
// costs itself only. The split is a flat scan that counts brackets, with
// no recursion and no depth limit: linear in the line.

// salvage calls emit with every record of line that decodes, and skip with
// the index (from 1, in line order) and reason of every one that does not.
// An error means the line's outer structure is broken and nothing was read.
func salvage(line []byte, emit func(pcommon.Resource, plog.LogRecord) error, skip func(idx int, reason string)) error {
	type scope struct{ records [][2]int }
	type resourceLogs struct {
		resources [][2]int
		scopes    []scope
	}
	var all []resourceLogs
	// First the structure, so a broken line reads nothing rather than half.
	_, err := members(line, 0, func(key string, v [2]int) error {
		if key != "resourceLogs" && key != "resource_logs" {
			return nil
		}
		_, err := elements(line, v[0], func(rlv [2]int) error {
			var rl resourceLogs
			_, err := members(line, rlv[0], func(key string, v [2]int) error {
				switch key {
				case "resource":
					rl.resources = append(rl.resources, v)
				case "scopeLogs", "scope_logs":
					_, err := elements(line, v[0], func(slv [2]int) error {
						var sc scope
						_, err := members(line, slv[0], func(key string, v [2]int) error {
							if key != "logRecords" && key != "log_records" {
								return nil
							}
							_, err := elements(line, v[0], func(r [2]int) error {
								sc.records = append(sc.records, r)
								return nil
							})
							return err
						})
						rl.scopes = append(rl.scopes, sc)
						return err
					})
					return err
				}
				return nil
			})
			all = append(all, rl)
			return err
		})
		return err
	})
	if err != nil {
		return err
	}
	var u plog.JSONUnmarshaler
	idx := 0
	var one []byte
	for _, rl := range all {
		res := pcommon.NewResource()
		resErr := ""
		for _, r := range rl.resources {
			one = append(append(append(one[:0], `{"resourceLogs":[{"resource":`...), line[r[0]:r[1]]...), `}]}`...)
			ld, err := u.UnmarshalLogs(one)
			if err != nil {
				resErr = "its resource: " + err.Error()
				break
			}
			ld.ResourceLogs().At(0).Resource().Attributes().Range(func(k string, v pcommon.Value) bool {
				v.CopyTo(res.Attributes().PutEmpty(k))
				return true
			})
		}
		for _, sc := range rl.scopes {
			for _, r := range sc.records {
				idx++
				if resErr != "" {
					skip(idx, resErr)
					continue
				}
				one = append(append(append(one[:0], `{"resourceLogs":[{"scopeLogs":[{"logRecords":[`...), line[r[0]:r[1]]...), `]}]}]}`...)
				ld, err := u.UnmarshalLogs(one)
				if err != nil {
					skip(idx, err.Error())
					continue
				}
				recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				if recs.Len() != 1 {
					skip(idx, "not one log record")
					continue
				}
				if err := emit(res, recs.At(0)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var errEnd = errors.New("unexpected end of line")

func ws(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// value returns the span of the JSON value at b[i:] (after space).
func value(b []byte, i int) ([2]int, error) {
	i = ws(b, i)
	if i >= len(b) {
		return [2]int{}, errEnd
	}
	start := i
	switch b[i] {
	case '"':
		end, err := str(b, i)
		return [2]int{start, end}, err
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := str(b, i)
				if err != nil {
					return [2]int{}, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return [2]int{start, i + 1}, nil
				}
			}
			i++
		}
		return [2]int{}, errEnd
	}
	for i < len(b) && strings.IndexByte(",]} \t\r\n", b[i]) < 0 {
		i++
	}
	if i == start {
		return [2]int{}, fmt.Errorf("unexpected %q at byte %d", b[i], i)
	}
	return [2]int{start, i}, nil
}

// str returns the end (past the closing quote) of the string at b[i].
func str(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errEnd
}

// members calls fn with each key and value span of the object at b[i:].
func members(b []byte, i int, fn func(key string, v [2]int) error) (int, error) {
	i = ws(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, fmt.Errorf("expected { at byte %d", i)
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("expected a key at byte %d", i)
		}
		end, err := str(b, i)
		if err != nil {
			return 0, err
		}
		key := string(b[i+1 : end-1])
		if bytes.IndexByte(b[i:end], '\\') >= 0 {
			if json.Unmarshal(b[i:end], &key) != nil {
				return 0, fmt.Errorf("bad key at byte %d", i)
			}
		}
		i = ws(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("expected : at byte %d", i)
		}
		v, err := value(b, i+1)
		if err != nil {
			return 0, err
		}
		if err := fn(key, v); err != nil {
			return 0, err
		}
		i = ws(b, v[1])
		if i >= len(b) {
			return 0, errEnd
		}
		switch b[i] {
		case ',':
			i = ws(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, fmt.Errorf("expected , or } at byte %d", i)
		}
	}
}

// elements calls fn with each value span of the array at b[i:].
func elements(b []byte, i int, fn func(v [2]int) error) (int, error) {
	i = ws(b, i)
	if i >= len(b) || b[i] != '[' {
		return 0, fmt.Errorf("expected [ at byte %d", i)
	}
	i = ws(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		v, err := value(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(v); err != nil {
			return 0, err
		}
		i = ws(b, v[1])
		if i >= len(b) {
			return 0, errEnd
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return 0, fmt.Errorf("expected , or ] at byte %d", i)
		}
	}
}
