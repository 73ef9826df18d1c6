package auditctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// AccessAction is the catalog action that records reading the audit log
// (config/catalogs/analytics.yaml).
const AccessAction = "audit_log_accessed"

// AccessLog records each search and export as an audit event, sent over
// OTLP/HTTP to the collector before the query runs: if it cannot be
// recorded, the log is not read.
type AccessLog struct {
	// Endpoint is the collector's OTLP/HTTP base URL (http://localhost:4318).
	Endpoint string
	// ReaderID and Actor name the reader: user.id, the identity that
	// Identity vouches for, and user.name, the name given.
	ReaderID, Actor, Identity string
	Source                    string // "elasticsearch http://…" (without credentials) or "archive DIR"
	// Token, when set, is sent as "Authorization: Bearer": the
	// collector's bearertokenauth (config/elasticsearch.yaml).
	Token  string
	Client *http.Client
	// Organization, when set, is the tenant whose log was read
	// (organization.id): the record lands in that tenant's own log.
	Organization string
	// Message replaces the body "auditctl <command>".
	Message string
	// Attributes are added to the record (audit.properties in the store).
	Attributes map[string]string
}

// Record sends the audit_log_accessed event before the read.
func (a AccessLog) Record(ctx context.Context, command string, q auditquery.Query) error {
	return a.send(ctx, command, q, nil)
}

// RecordFailure records a read that failed, with its reason: one that
// failed before reading (no record was sent), or after the record above.
func (a AccessLog) RecordFailure(ctx context.Context, command string, q auditquery.Query, readErr error) error {
	return a.send(ctx, command, q, readErr)
}

// maxErrorBytes bounds the reason a failure record carries.
const maxErrorBytes = 1000

// Describe renders a query as "key=value" pairs for the event.
func Describe(q auditquery.Query) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if !q.From.IsZero() {
		add("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		add("to", q.To.UTC().Format(time.RFC3339))
	}
	add("text", q.Text)
	add("user", q.User)
	add("action", q.Action)
	add("category", q.Category)
	add("resource_type", q.ResourceType)
	add("resource_id", q.ResourceID)
	add("outcome", q.Outcome)
	add("ip", q.IP)
	if q.Quarantined {
		parts = append(parts, "quarantined=true")
	}
	add("organization", q.Organization)
	return strings.Join(parts, " ")
}

// send sends one audit_log_accessed event. The query goes in an
// attribute (audit.properties in the store), not in the body (message),
// which free-text search matches: a search for a word would otherwise
// find every earlier search for it.
func (a AccessLog) send(ctx context.Context, command string, q auditquery.Query, readErr error) error {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "auditctl")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.SetEventName(AccessAction)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	if a.Message != "" {
		lr.Body().SetStr(a.Message)
	} else {
		lr.Body().SetStr("auditctl " + command)
	}
	attrs := lr.Attributes()
	if a.Organization != "" {
		attrs.PutStr(fields.Organization, a.Organization)
	}
	for k, v := range a.Attributes {
		attrs.PutStr(k, v)
	}
	if a.ReaderID != "" {
		attrs.PutStr(fields.UserID, a.ReaderID)
	}
	attrs.PutStr(fields.UserName, a.Actor)
	attrs.PutStr(fields.ActorType, "user")
	attrs.PutStr(fields.ResourceType, "audit_log")
	attrs.PutStr(fields.ResourceName, a.Source)
	attrs.PutStr("audit.command", command)
	attrs.PutStr("audit.query", Describe(q))
	if a.Identity != "" {
		attrs.PutStr("audit.identity", a.Identity)
	}
	if readErr != nil {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		attrs.PutStr(fields.EventOutcome, "failure")
		msg := readErr.Error()
		if len(msg) > maxErrorBytes {
			msg = strings.ToValidUTF8(msg[:maxErrorBytes], "") + "…"
		}
		attrs.PutStr("audit.error", msg)
	} else {
		attrs.PutStr(fields.EventOutcome, "success")
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return err
	}
	// Credentials in the endpoint go in a header, never in a message.
	endpoint, user, password, hasUser, err := SplitUserinfo(a.Endpoint)
	if err != nil {
		return fmt.Errorf("--audit-endpoint %s: not a URL; use the collector's OTLP/HTTP URL, e.g. http://localhost:4318", RedactURL(a.Endpoint))
	}
	url := strings.TrimRight(endpoint, "/") + "/v1/logs"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--audit-endpoint %s: %v", RedactURL(a.Endpoint), err)
	}
	switch {
	case a.Token != "":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case hasUser:
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errorsAs(err, &ue) {
			err = ue.Err // the rest repeats the URL
		}
		return fmt.Errorf("reading the audit log is itself audited, and the access could not be recorded at %s: %v; start the collector, set --audit-endpoint or AUDITCTL_AUDIT_ENDPOINT, or pass --no-audit", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		fix := "set AUDITCTL_AUDIT_TOKEN or --audit-token-file to the collector's token (AUDIT_RECEIVER_TOKEN)"
		if a.Token != "" {
			fix = "the token (AUDITCTL_AUDIT_TOKEN or --audit-token-file) is not the collector's (AUDIT_RECEIVER_TOKEN)"
		}
		return fmt.Errorf("reading the audit log is itself audited, and %s refused the access record with 401: %s, or pass --no-audit to skip", url, fix)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("reading the audit log is itself audited, and %s refused the access record with %d; pass --no-audit to skip", url, resp.StatusCode)
	}
	if reason, rejected := rejectedRecords(resp); rejected {
		return fmt.Errorf("reading the audit log is itself audited, and %s rejected the access record: %s; pass --no-audit to skip", url, reason)
	}
	return nil
}

// maxResponseBytes bounds the collector's answer: an ExportLogsServiceResponse
// is a count and a message.
const maxResponseBytes = 64 << 10

// rejectedRecords reads OTLP's partial success: a 200 whose answer counts
// the record as rejected did not record it.
func rejectedRecords(resp *http.Response) (string, bool) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil || len(body) == 0 {
		return "", false
	}
	er := plogotlp.NewExportResponse()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		err = er.UnmarshalJSON(body)
	} else {
		err = er.UnmarshalProto(body)
	}
	if err != nil || er.PartialSuccess().RejectedLogRecords() == 0 {
		return "", false
	}
	reason := er.PartialSuccess().ErrorMessage()
	if reason == "" {
		reason = "no reason given"
	}
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	return reason, true
}
