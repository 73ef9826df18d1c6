// Package auditevent is the plain-JSON audit event shape (documented in
// config/audit-event.schema.json) and its one mapping onto a log record,
// shared by every non-OTLP ingest path: JSON, NDJSON and CSV.
package auditevent

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Event is one audit event before it becomes a log record. Properties go
// straight into the record's attributes while decoding.
type Event struct {
	Time         time.Time
	Action       string
	ID           string
	ActorEmail   string
	ActorID      string
	ActorName    string
	ActorType    string
	UserHash     string
	ResourceType string
	ResourceID   string
	ResourceName string
	ClientIP     string
	UserAgent    string
	Region       string
	Outcome      string
	Organization string
	Message      string

	hasTime, badTime, badAction bool
}

// SetTime records the event time.
func (e *Event) SetTime(t time.Time) { e.Time, e.hasTime = t, true }

// TimeInvalid notes that a time was given but could not be read (and was
// reported), so Validate does not also call it missing.
func (e *Event) TimeInvalid() { e.badTime = true }

// Reset clears e for reuse.
func (e *Event) Reset() { *e = Event{} }

// ActorTypes are the allowed values of actor.type.
var ActorTypes = []string{"user", "api_key", "service"}

const maxString = 8192

// Limits checked while decoding (Properties) and by Validate.
type Limits struct {
	Now        time.Time
	MaxFuture  time.Duration
	Properties PropertyLimits
}

// Validate reports each problem as (field, reason).
func (e *Event) Validate(l Limits, add func(field, reason string)) {
	switch {
	case e.badAction:
	case e.Action == "":
		add("action", "required: the audit action name, e.g. \"notebook.open\"")
	case len(e.Action) > 256:
		add("action", "longer than 256 characters")
	}
	switch {
	case e.badTime:
	case !e.hasTime:
		add("time", "required: RFC 3339 (2025-11-22T10:00:00Z) or epoch seconds or milliseconds")
	case e.Time.Unix() <= 0:
		add("time", "must be after 1970-01-01")
	case l.MaxFuture > 0 && e.Time.After(l.Now.Add(l.MaxFuture)):
		add("time", fmt.Sprintf("%s is %s in the future; the bound is %s (max_future_skew)",
			e.Time.UTC().Format(time.RFC3339), e.Time.Sub(l.Now).Round(time.Second), l.MaxFuture))
	}
	if len(e.ID) > 256 {
		add("id", "longer than 256 characters")
	}
	if e.ActorType != "" && !slices.Contains(ActorTypes, e.ActorType) {
		add("actor.type", fmt.Sprintf("%q is not one of %s", e.ActorType, strings.Join(ActorTypes, ", ")))
	}
	if e.ClientIP != "" {
		if _, err := netip.ParseAddr(e.ClientIP); err != nil {
			add("client.ip", fmt.Sprintf("%q is not an IPv4 or IPv6 address", e.ClientIP))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"actor.email", e.ActorEmail}, {"actor.name", e.ActorName}, {"resource.name", e.ResourceName},
		{"client.user_agent", e.UserAgent}, {"message", e.Message},
	} {
		if len(f.v) > maxString {
			add(f.name, fmt.Sprintf("longer than %d bytes", maxString))
		}
	}
}

// Fill writes e onto lr using the shared field table (internal/fields),
// exactly as the README tells OTLP senders to shape their records.
func (e *Event) Fill(lr plog.LogRecord, observed time.Time) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	lr.SetEventName(e.Action)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	if e.Message != "" {
		lr.Body().SetStr(e.Message)
	}
	a := lr.Attributes()
	a.EnsureCapacity(a.Len() + 16)
	put := func(k, v string) {
		if v != "" {
			a.PutStr(k, v)
		}
	}
	put(fields.EventID, e.ID)
	put(fields.UserEmail, e.ActorEmail)
	put(fields.UserID, e.ActorID)
	put(fields.UserName, e.ActorName)
	put(fields.ActorType, e.ActorType)
	put(fields.UserHash, e.UserHash)
	put(fields.ResourceType, e.ResourceType)
	put(fields.ResourceID, e.ResourceID)
	put(fields.ResourceName, e.ResourceName)
	put(fields.ClientAddress, e.ClientIP)
	put(fields.UserAgent, e.UserAgent)
	put(fields.CloudRegion, e.Region)
	put(fields.EventOutcome, e.Outcome)
	put(fields.Organization, e.Organization)
}

// ParseTime accepts RFC 3339, "2006-01-02 15:04:05" (UTC), and epoch
// seconds or milliseconds (told apart by size: 1e11 s is year 5138).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && isNumeric(s) {
		return EpochTime(n), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2025-11-22T10:00:00Z) nor epoch seconds or milliseconds", s)
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.' || (c == '-' && i == 0)) {
			return false
		}
	}
	return true
}

// EpochTime reads n as seconds, or as milliseconds when it is 1e11 or more.
func EpochTime(n float64) time.Time {
	if n >= 1e11 {
		return time.UnixMilli(int64(n)).Add(time.Duration((n - float64(int64(n))) * float64(time.Millisecond))).UTC()
	}
	sec := int64(n)
	return time.Unix(sec, int64((n-float64(sec))*1e9)).UTC()
}
