// Package auditgen makes realistic audit log records for benchmarks, tests
// and the load generator: catalog actions, actors with addresses, IPv4 and
// IPv6 clients, user agents, regions, resources and outcomes.
package auditgen

import (
	"fmt"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Actions is a sample of the shipped catalogs' names (Codatum and Wherobots).
var Actions = []string{
	"notebook.open", "notebook.update", "report.view", "query_job.execute", "api_key.use",
	"workspace.account_role.change", "group.user.add", "connection.create", "media_file.upload",
	"CreateApiKeyCredential", "UploadFile", "CreateJobRun", "UpdateUserRole", "CreateSqlSession",
}

var (
	agents   = []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15", "curl/8.5.0", "python-requests/2.32.3", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"}
	regions  = []string{"aws-us-west-2", "aws-eu-west-1", "gcp-asia-northeast1"}
	domains  = []string{"example.com", "corp.example.org", "example.co.uk"}
	outcomes = []string{"success", "success", "success", "failure"}
	rtypes   = []string{"notebook", "report", "connection", "api_key", "file"}
)

// Options shape a generated batch.
type Options struct {
	// UnknownFraction of records get an action that is in no catalog.
	UnknownFraction float64
	// FreeTextEmailFraction of records mention an address in free text.
	FreeTextEmailFraction float64
	// Seed makes the batch reproducible.
	Seed uint64
	// IDPrefix, when set, gives each record event.id = IDPrefix + sequence.
	IDPrefix string
}

// Batch returns n records in one resource and scope. Each carries 12
// attributes, the way an instrumented service sends them.
func Batch(n int, o Options) plog.Logs {
	r := rand.New(rand.NewPCG(o.Seed, 7))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "workspace-api")
	rl.Resource().Attributes().PutStr("host.name", "api-7f9c")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("audit")
	recs := sl.LogRecords()
	recs.EnsureCapacity(n)
	base := pcommon.Timestamp(1763769600000000000)
	for i := 0; i < n; i++ {
		lr := recs.AppendEmpty()
		Fill(lr, r, i, o)
		lr.SetTimestamp(base + pcommon.Timestamp(i)*1000)
	}
	return ld
}

// Fill sets one realistic record.
func Fill(lr plog.LogRecord, r *rand.Rand, i int, o Options) {
	action := Actions[r.IntN(len(Actions))]
	if r.Float64() < o.UnknownFraction {
		action = "legacy.unmapped_action"
	}
	lr.SetEventName(action)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	user := fmt.Sprintf("user%d.name", r.IntN(500))
	domain := domains[r.IntN(len(domains))]
	a := lr.Attributes()
	a.EnsureCapacity(20)
	if o.IDPrefix != "" {
		a.PutStr(fields.EventID, fmt.Sprintf("%s%d", o.IDPrefix, i))
	}
	a.PutStr(fields.UserEmail, user+"@"+domain)
	a.PutStr(fields.UserID, fmt.Sprintf("u-%d", r.IntN(500)))
	a.PutStr(fields.ActorType, "user")
	if r.IntN(2) == 0 {
		a.PutStr(fields.ClientAddress, fmt.Sprintf("203.0.113.%d", r.IntN(255)))
	} else {
		a.PutStr(fields.ClientAddress, fmt.Sprintf("2001:db8::%x", r.IntN(65535)))
	}
	a.PutStr(fields.UserAgent, agents[r.IntN(len(agents))])
	a.PutStr(fields.CloudRegion, regions[r.IntN(len(regions))])
	a.PutStr(fields.Organization, fmt.Sprintf("org-%d", r.IntN(5)))
	rt := rtypes[r.IntN(len(rtypes))]
	a.PutStr(fields.ResourceType, rt)
	a.PutStr(fields.ResourceID, fmt.Sprintf("%s-%08x", rt, r.Uint32()))
	a.PutStr(fields.ResourceName, fmt.Sprintf("Quarterly %s %d", rt, r.IntN(100)))
	a.PutStr(fields.EventOutcome, outcomes[r.IntN(len(outcomes))])
	if r.Float64() < o.FreeTextEmailFraction {
		a.PutStr("message", fmt.Sprintf("shared with %s.%d@%s by admin", "colleague", r.IntN(100), domains[r.IntN(len(domains))]))
	} else {
		a.PutStr("message", "changed sharing settings from view to edit")
	}
}
