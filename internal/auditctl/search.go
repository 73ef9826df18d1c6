package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/auditcsv"
	"github.com/otelcol-audit/otelcol-audit/internal/auditevent"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Index is what search and export read: every audit index and the
// dead-letter stream, and no other dataset's (assets.IndexPatterns).
var Index = strings.Join(assets.IndexPatterns, ",")

// Output formats.
const (
	Table = "table"
	JSON  = "json"
	CSV   = "csv"
)

// Hit is one document found.
type Hit struct {
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

type searchResponse struct {
	PitID string `json:"pit_id"`
	Hits  struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []Hit `json:"hits"`
	} `json:"hits"`
}

// SearchOptions drive `auditctl search`.
type SearchOptions struct {
	ES     *elasticsearch.Client
	Query  auditquery.Query
	Size   int
	Page   int
	Output string
	TZ     *time.Location
	Out    io.Writer
}

// Search prints one page, newest first. Page 1 is one search; later pages
// walk search_after inside a point in time (never from, which stops at
// 10 000 hits), so the pages before are the same documents in the same
// order.
func Search(ctx context.Context, o SearchOptions) (total int, err error) {
	if err := checkSearch(o.Query, o.Size, o.Page); err != nil {
		return 0, err
	}
	pit := ""
	if o.Page > 1 {
		if pit, err = openPIT(ctx, o.ES); err != nil {
			return 0, err
		}
		defer func() { closePIT(o.ES, pit) }()
	}
	var after []json.RawMessage
	var resp *searchResponse
	for p := 1; p <= o.Page; p++ {
		body, err := o.Query.Body(o.Size, after, pit)
		if err != nil {
			return 0, err
		}
		index := []string{Index}
		if pit != "" {
			index = nil
		}
		if resp, err = doSearch(ctx, o.ES, index, body); err != nil {
			return 0, err
		}
		if p == 1 {
			total = resp.Hits.Total.Value
		}
		if resp.PitID != "" {
			pit = resp.PitID
		}
		hits := resp.Hits.Hits
		if len(hits) == 0 || p == o.Page {
			break
		}
		after = hits[len(hits)-1].Sort
	}
	w, err := newWriter(o.Output, o.Out, o.TZ)
	if err != nil {
		return 0, err
	}
	for _, h := range resp.Hits.Hits {
		if err := w.write(h.Source); err != nil {
			return 0, err
		}
	}
	return total, w.flush()
}

// openPIT opens a point in time over every audit index.
func openPIT(ctx context.Context, c *elasticsearch.Client) (string, error) {
	res, err := esapi.OpenPointInTimeRequest{Index: []string{Index}, KeepAlive: auditquery.PITKeepAlive}.Do(ctx, c)
	if err != nil {
		return "", reachError(c, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		return "", fmt.Errorf("opening a point in time: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
	}
	var opened struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&opened); err != nil || opened.ID == "" {
		return "", errors.New("opening a point in time: no id in the answer")
	}
	return opened.ID, nil
}

// closePIT frees the point in time (it would expire on its own).
func closePIT(c *elasticsearch.Client, pit string) {
	body, _ := json.Marshal(map[string]string{"id": pit})
	if r, err := (esapi.ClosePointInTimeRequest{Body: bytes.NewReader(body)}).Do(context.Background(), c); err == nil {
		r.Body.Close()
	}
}

func doSearch(ctx context.Context, c *elasticsearch.Client, index []string, body []byte) (*searchResponse, error) {
	res, err := esapi.SearchRequest{Index: index, Body: bytes.NewReader(body)}.Do(ctx, c)
	if err != nil {
		return nil, reachError(c, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		typ, reason := esbootstrap.ErrorOf(res.Body)
		return nil, fmt.Errorf("search: Elasticsearch answered %d %s: %s", res.StatusCode, typ, reason)
	}
	var out searchResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("search: unexpected answer: %w", err)
	}
	return &out, nil
}

// ErrUnreachable is in the chain of an error reaching Elasticsearch at all.
var ErrUnreachable = errors.New("cannot reach Elasticsearch")

func reachError(_ *elasticsearch.Client, err error) error {
	return fmt.Errorf("%w: %v; set ELASTICSEARCH_URL or --es", ErrUnreachable, err)
}

// ExportOptions drive `auditctl export`.
type ExportOptions struct {
	ES       *elasticsearch.Client
	Query    auditquery.Query
	Output   string // csv or json
	Out      io.Writer
	Batch    int
	Progress func(done, total int)
}

// Export streams every match with a point in time and search_after: one
// batch in memory at a time, whatever the size.
func Export(ctx context.Context, o ExportOptions) (int, error) {
	if o.Output != CSV && o.Output != JSON {
		return 0, fmt.Errorf("--output %q: export writes csv or json (NDJSON)", o.Output)
	}
	if err := o.Query.Validate(); err != nil {
		return 0, err
	}
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	pit, err := openPIT(ctx, o.ES)
	if err != nil {
		return 0, err
	}
	defer func() { closePIT(o.ES, pit) }()
	w, err := newWriter(o.Output, o.Out, time.UTC)
	if err != nil {
		return 0, err
	}
	n, total := 0, 0
	var after []json.RawMessage
	for {
		body, err := o.Query.Body(o.Batch, after, pit)
		if err != nil {
			return n, err
		}
		resp, err := doSearch(ctx, o.ES, nil, body)
		if err != nil {
			return n, err
		}
		if resp.PitID != "" {
			pit = resp.PitID
		}
		if len(after) == 0 {
			total = resp.Hits.Total.Value
		}
		for _, h := range resp.Hits.Hits {
			if err := w.write(h.Source); err != nil {
				return n, err
			}
			n++
		}
		if o.Progress != nil {
			o.Progress(n, total)
		}
		if len(resp.Hits.Hits) < o.Batch {
			return n, w.flush()
		}
		after = resp.Hits.Hits[len(resp.Hits.Hits)-1].Sort
	}
}

// writer renders documents in one of the output formats.
type writer struct {
	write func(src json.RawMessage) error
	flush func() error
}

// Columns of the table, as in the seeds' audit log pages.
var Columns = []string{"Time", "User", "Action", "Resource", "IP Address", "User Agent", "Region", "Outcome"}

// QuarantineMarker follows the action of a quarantined event in the table.
const QuarantineMarker = "[quarantined]"

func newWriter(format string, out io.Writer, tz *time.Location) (*writer, error) {
	switch format {
	case JSON:
		return &writer{
			write: func(src json.RawMessage) error {
				_, err := out.Write(append(escapeJSONControls(bytes.TrimSpace(src)), '\n'))
				return err
			},
			flush: func() error { return nil },
		}, nil
	case CSV:
		cw, err := auditcsv.NewWriter(out)
		if err != nil {
			return nil, err
		}
		return &writer{
			write: func(src json.RawMessage) error {
				row, err := RowOf(src)
				if err != nil {
					return err
				}
				return cw.Write(row)
			},
			flush: cw.Flush,
		}, nil
	case Table:
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(Columns, "\t"))
		return &writer{
			write: func(src json.RawMessage) error {
				row, err := RowOf(src)
				if err != nil {
					return err
				}
				e := row.Event
				resource := e.ResourceName
				if resource == "" {
					resource = strings.Trim(e.ResourceType+":"+e.ResourceID, ":")
				}
				action := e.Action
				if row.Quarantined {
					action += " " + QuarantineMarker
				}
				cells := []string{e.Time.In(tz).Format("2006-01-02 15:04:05 MST"), who(e), action, resource, e.ClientIP, e.UserAgent, e.Region, e.Outcome}
				for i, c := range cells {
					cells[i] = Printable(c)
				}
				_, err = fmt.Fprintln(tw, strings.Join(cells, "\t"))
				return err
			},
			flush: tw.Flush,
		}, nil
	}
	return nil, fmt.Errorf("--output %q: use table, json or csv", format)
}

// who is the table's User: the masked email, else the name, else the id
// (an audit_log_accessed record names its reader by name and id).
func who(e auditevent.Event) string {
	for _, v := range []string{e.ActorEmail, e.ActorName, e.ActorID} {
		if v != "" {
			return v
		}
	}
	return ""
}

// doc is the part of the stored document the CSV and the table show.
type doc struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		ID, Action, Outcome string
	} `json:"event"`
	Audit struct {
		Group      string          `json:"group"`
		Categories json.RawMessage `json:"categories"`
		Actor      struct {
			Type string `json:"type"`
		} `json:"actor"`
		Resource struct {
			Type, ID, Name string
		} `json:"resource"`
		Properties json.RawMessage `json:"properties"`
		Route      string          `json:"route"`
	} `json:"audit"`
	User struct {
		ID, Name, Email, Hash string
	} `json:"user"`
	Client struct {
		Address string `json:"address"`
	} `json:"client"`
	UserAgent struct {
		Original string `json:"original"`
	} `json:"user_agent"`
	Cloud struct {
		Region string `json:"region"`
	} `json:"cloud"`
	Organization struct {
		ID string `json:"id"`
	} `json:"organization"`
	Message string `json:"message"`
}

// RowOf maps a stored document back to the export row.
func RowOf(src json.RawMessage) (*auditcsv.Row, error) {
	var d doc
	if err := json.Unmarshal(src, &d); err != nil {
		return nil, fmt.Errorf("unexpected document: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, d.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("document %s: @timestamp %q: %w", Printable(d.Event.ID), d.Timestamp, err)
	}
	r := &auditcsv.Row{Group: d.Audit.Group, Quarantined: d.Audit.Route == fields.RouteQuarantine, Event: auditevent.Event{
		Action: d.Event.Action, ID: d.Event.ID, Outcome: d.Event.Outcome,
		ActorEmail: d.User.Email, ActorID: d.User.ID, ActorName: d.User.Name, UserHash: d.User.Hash, ActorType: d.Audit.Actor.Type,
		ResourceType: d.Audit.Resource.Type, ResourceID: d.Audit.Resource.ID, ResourceName: d.Audit.Resource.Name,
		ClientIP: d.Client.Address, UserAgent: d.UserAgent.Original, Region: d.Cloud.Region, Organization: d.Organization.ID, Message: d.Message,
	}}
	r.Event.SetTime(t)
	if len(d.Audit.Categories) > 0 {
		var many []string
		if json.Unmarshal(d.Audit.Categories, &many) != nil {
			var one string
			_ = json.Unmarshal(d.Audit.Categories, &one)
			many = []string{one}
		}
		r.Categories = many
	}
	if len(d.Audit.Properties) > 0 && string(d.Audit.Properties) != "null" {
		r.Properties = string(d.Audit.Properties)
	}
	return r, nil
}
