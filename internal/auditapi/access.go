package auditapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/otelcol-audit/otelcol-audit/internal/apitoken"
	"github.com/otelcol-audit/otelcol-audit/internal/auditctl"
	"github.com/otelcol-audit/otelcol-audit/internal/auditquery"
)

// Access is one read to record.
type Access struct {
	Principal apitoken.Principal
	Command   string
	Query     auditquery.Query
	// Count is how many events the read returned; -1 before an export.
	Count  int
	Format string
	// Err is why the read failed, if it did.
	Err error
}

// Recorder records reads. When Record fails, the read returns nothing.
type Recorder interface {
	Record(ctx context.Context, a Access) error
}

// OTLPRecorder sends each read as an audit_log_accessed event to the
// collector over OTLP/HTTP, into the organization's own log.
type OTLPRecorder struct {
	// Endpoint is the collector's OTLP/HTTP base URL.
	Endpoint string
	// Token is the collector's bearer token, if it wants one.
	Token  string
	Client *http.Client
}

// Record sends one record: organization.id is the tenant read, user.id the
// token's id and user.name its name; the role, filters and count are in
// audit.properties.
func (o OTLPRecorder) Record(ctx context.Context, a Access) error {
	identity := "api-token"
	if a.Principal.Signed {
		identity = "viewer-token"
	}
	attrs := map[string]string{"audit.role": a.Principal.Role}
	if a.Count >= 0 {
		attrs["audit.count"] = strconv.Itoa(a.Count)
	}
	if a.Format != "" {
		attrs["audit.format"] = a.Format
	}
	log := auditctl.AccessLog{
		Endpoint: o.Endpoint, Token: o.Token, Client: o.Client,
		ReaderID: a.Principal.TokenID, Actor: a.Principal.Name, Identity: identity,
		Source: "audit log API", Organization: a.Principal.Organization,
		Message: "audit log API: " + a.Command, Attributes: attrs,
	}
	if a.Err != nil {
		return log.RecordFailure(ctx, a.Command, a.Query, a.Err)
	}
	return log.Record(ctx, a.Command, a.Query)
}
