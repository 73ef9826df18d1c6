// Package auditctl implements the auditctl commands; cmd/auditctl parses
// flags and calls these.
package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	kibana "github.com/otelcol-audit/otelcol-audit/config/kibana"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// Roles are the least-privilege roles setup installs.
var Roles = []struct {
	Name string
	Body string
}{
	// The collector may only add documents (create_doc never overwrites)
	// and let data streams be created from the templates; nothing deletes.
	{"otelcol_audit_writer", `{"cluster":["monitor"],"indices":[{"names":["logs-audit*-*"],"privileges":["create_doc","auto_configure"]}]}`},
	// Admins who read the audit log: read only.
	{"audit_log_reader", `{"cluster":[],"indices":[{"names":["logs-audit*-*"],"privileges":["read","view_index_metadata"]}]}`},
}

// SetupOptions drive `auditctl setup`.
type SetupOptions struct {
	ES        *elasticsearch.Client
	Tiers     []assets.Tier
	Namespace string
	// KibanaURL, when set, also imports the saved objects and quick ranges.
	KibanaURL  string
	KibanaAuth func(*http.Request)
	DryRun     bool
	Out        io.Writer
	HTTP       *http.Client
}

// Setup installs (or upgrades) everything, idempotently, printing each
// step; with DryRun it only prints them.
func Setup(ctx context.Context, o SetupOptions) error {
	steps, err := esbootstrap.Plan(o.Tiers, o.Namespace)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := run(o, "elasticsearch: "+s.Desc, func() error { return s.Apply(ctx, o.ES) }); err != nil {
			return err
		}
	}
	for _, r := range Roles {
		r := r
		if err := run(o, "elasticsearch: PUT _security/role/"+r.Name, func() error {
			resp, err := esapi.SecurityPutRoleRequest{Name: r.Name, Body: strings.NewReader(r.Body)}.Do(ctx, o.ES)
			return check(resp, err, "PUT _security/role/"+r.Name)
		}); err != nil {
			return err
		}
	}
	if o.KibanaURL == "" {
		return nil
	}
	if err := run(o, "kibana: POST /api/saved_objects/_import?overwrite=true (data view, saved search, dashboard)", func() error {
		return kibanaImport(ctx, o)
	}); err != nil {
		return err
	}
	return run(o, "kibana: POST /internal/kibana/settings (time picker quick ranges)", func() error {
		return kibanaSettings(ctx, o)
	})
}

func run(o SetupOptions, desc string, fn func() error) error {
	if o.DryRun {
		fmt.Fprintln(o.Out, "would", desc)
		return nil
	}
	if err := fn(); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "ok  ", desc)
	return nil
}

func check(resp *esapi.Response, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.IsError() {
		typ, reason := esbootstrap.ErrorOf(resp.Body)
		return fmt.Errorf("%s: Elasticsearch answered %d %s: %s", what, resp.StatusCode, typ, reason)
	}
	return nil
}

func kibanaImport(ctx context.Context, o SetupOptions) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", "otelcol-audit.ndjson")
	if err != nil {
		return err
	}
	part.Write(kibana.SavedObjects)
	mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.KibanaURL, "/")+"/api/saved_objects/_import?overwrite=true", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return kibanaDo(o, req, "importing the saved objects")
}

func kibanaSettings(ctx context.Context, o SetupOptions) error {
	b, _ := json.Marshal(map[string]any{"changes": map[string]any{"timepicker:quickRanges": kibana.QuickRanges}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.KibanaURL, "/")+"/internal/kibana/settings", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-elastic-internal-origin", "Kibana")
	return kibanaDo(o, req, "setting the time picker's quick ranges")
}

func kibanaDo(o SetupOptions, req *http.Request, what string) error {
	req.Header.Set("kbn-xsrf", "otelcol-audit")
	if o.KibanaAuth != nil {
		o.KibanaAuth(req)
	}
	client := o.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errorsAs(err, &ue) {
			return fmt.Errorf("cannot reach Kibana at %s while %s: %v; check --kibana", o.KibanaURL, what, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("Kibana answered %d while %s: %s", resp.StatusCode, what, strings.TrimSpace(string(raw)))
	}
	if strings.Contains(req.URL.Path, "_import") {
		var r struct {
			Success bool  `json:"success"`
			Errors  []any `json:"errors"`
		}
		if json.Unmarshal(raw, &r) == nil && !r.Success {
			return fmt.Errorf("Kibana refused some saved objects: %s", strings.TrimSpace(string(raw)))
		}
	}
	return nil
}
