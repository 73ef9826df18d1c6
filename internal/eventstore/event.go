// Package eventstore reads one organization's audit events for the audit
// log API, a page at a time or as a stream, from Elasticsearch or from the
// collector's JSON-lines archive. Both give the same events in the same
// order for the same data.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// Event is one event as the API returns it (openapi.yaml, Event).
type Event struct {
	ID           string          `json:"id"`
	Time         time.Time       `json:"time"`
	Action       string          `json:"action"`
	Outcome      string          `json:"outcome,omitempty"`
	User         *User           `json:"user,omitempty"`
	ActorType    string          `json:"actor_type,omitempty"`
	Resource     *Resource       `json:"resource,omitempty"`
	IP           string          `json:"ip,omitempty"`
	UserAgent    string          `json:"user_agent,omitempty"`
	Region       string          `json:"region,omitempty"`
	Organization string          `json:"organization,omitempty"`
	Group        string          `json:"group,omitempty"`
	Categories   []string        `json:"categories,omitempty"`
	Message      string          `json:"message,omitempty"`
	Properties   json.RawMessage `json:"properties,omitempty"`
	Quarantined  bool            `json:"quarantined,omitempty"`
}

// User is who acted.
type User struct {
	Email string `json:"email,omitempty"`
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Hash  string `json:"hash,omitempty"`
}

// Resource is what was acted on.
type Resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// FromRow maps an export row (what both stores decode a document into).
func FromRow(r *auditcsv.Row) Event {
	e := r.Event
	out := Event{ID: e.ID, Time: e.Time.UTC(), Action: e.Action, Outcome: e.Outcome, ActorType: e.ActorType,
		IP: e.ClientIP, UserAgent: e.UserAgent, Region: e.Region, Organization: e.Organization,
		Group: r.Group, Categories: r.Categories, Message: e.Message, Quarantined: r.Quarantined}
	if e.ActorEmail != "" || e.ActorID != "" || e.ActorName != "" || e.UserHash != "" {
		out.User = &User{Email: e.ActorEmail, ID: e.ActorID, Name: e.ActorName, Hash: e.UserHash}
	}
	if e.ResourceType != "" || e.ResourceID != "" || e.ResourceName != "" {
		out.Resource = &Resource{Type: e.ResourceType, ID: e.ResourceID, Name: e.ResourceName}
	}
	if r.Properties != "" && json.Valid([]byte(r.Properties)) {
		out.Properties = json.RawMessage(r.Properties)
	}
	return out
}

// Key is an event's place in the order every page follows: newest first,
// then event id, then the index that holds it, all descending. It is
// unique: Elasticsearch keeps an _id once per index.
type Key struct {
	Time  int64  `json:"t"` // Unix nanoseconds (@timestamp is date_nanos)
	ID    string `json:"i"`
	Index string `json:"x"`
}

// Before reports whether k comes before o in the order (k is newer).
func (k Key) Before(o Key) bool {
	switch {
	case k.Time != o.Time:
		return k.Time > o.Time
	case k.ID != o.ID:
		return k.ID > o.ID
	}
	return k.Index > o.Index
}

// Page is one page of events.
type Page struct {
	Events []Event
	// Keys are the events' places, one each.
	Keys []Key
	// More is true when events follow the last one.
	More bool
}

// Export formats.
const (
	CSV    = "csv"
	NDJSON = "ndjson"
)

// Store reads audit events. The query's Organization must be set: every
// read is one tenant's.
type Store interface {
	// Page returns up to size events matching q, in Key order, strictly
	// after after (nil: from the newest).
	Page(ctx context.Context, q auditquery.Query, after *Key, size int) (Page, error)
	// Export writes every event matching q to w in format, streaming.
	Export(ctx context.Context, q auditquery.Query, format string, w io.Writer) (int, error)
}

// ErrUnavailable is in the chain of an error reaching the store at all;
// the API answers 503.
var ErrUnavailable = errors.New("the event store is unavailable")

// ErrTooBroad is in the chain of a read that matches more events than the
// store reads at once; the API answers 400: narrow the query.
var ErrTooBroad = errors.New("the query matches more events than this store reads at once")

var errNoOrganization = errors.New("eventstore: the query names no organization")
