// Package auditctl implements the auditctl commands; cmd/auditctl parses
// flags and calls these.
package auditctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
	"github.com/otelcol-audit/otelcol-audit/internal/esbootstrap"
)

// SetupOptions drive `auditctl setup`.
type SetupOptions struct {
	ES        *elasticsearch.Client
	Tiers     []assets.Tier
	Namespace string
	// Kibana, when its URL is set, also imports the saved objects and
	// adds the quick ranges.
	Kibana Kibana
	DryRun bool
	Out    io.Writer
}

// Setup installs (or upgrades) everything, idempotently, printing each
// step; with DryRun it only prints them.
func Setup(ctx context.Context, o SetupOptions) error {
	steps, err := esbootstrap.Plan(o.Tiers, o.Namespace)
	if err != nil {
		return err
	}
	if !o.DryRun {
		legacy, err := esbootstrap.Legacy(ctx, o.ES, o.Tiers)
		if err != nil {
			return err
		}
		steps = esbootstrap.WithLegacy(steps, legacy)
	}
	for _, s := range steps {
		if err := run(o, "elasticsearch: "+s.Desc, func() error { return s.Apply(ctx, o.ES) }); err != nil {
			return err
		}
	}
	for _, r := range assets.Roles {
		desc := "elasticsearch: PUT _security/role/" + r.Name
		if o.DryRun {
			fmt.Fprintln(o.Out, "would", desc)
			continue
		}
		skipped, err := putRole(ctx, o.ES, r.Name, r.File)
		if err != nil {
			return err
		}
		if skipped {
			fmt.Fprintln(o.Out, "skip", desc, "(security is disabled on this cluster: no roles to install; anyone who reaches it can read and write)")
			continue
		}
		fmt.Fprintln(o.Out, "ok  ", desc)
	}
	if o.Kibana.URL == "" {
		return nil
	}
	k := o.Kibana
	if err := run(o, "kibana: POST "+k.path("/api/saved_objects/_import?overwrite=true")+" (data view, saved search, Lens visualizations, dashboard)", func() error {
		return k.importSavedObjects(ctx)
	}); err != nil {
		return err
	}
	return run(o, "kibana: POST "+k.path("/api/kibana/settings")+" (time picker quick ranges, added to the space's own)", func() error {
		return k.addQuickRanges(ctx)
	})
}

// securityDisabled is how Elasticsearch answers the security APIs when
// xpack.security.enabled is false.
const securityDisabled = "Security must be explicitly enabled"

// putRole installs one role; skipped is true on a cluster without security.
func putRole(ctx context.Context, c *elasticsearch.Client, name, file string) (skipped bool, err error) {
	body, err := assets.Read(file)
	if err != nil {
		return false, err
	}
	resp, err := esapi.SecurityPutRoleRequest{Name: name, Body: bytes.NewReader(body)}.Do(ctx, c)
	if err != nil {
		return false, fmt.Errorf("PUT _security/role/%s: %w", name, err)
	}
	defer resp.Body.Close()
	if !resp.IsError() {
		return false, nil
	}
	typ, reason := esbootstrap.ErrorOf(resp.Body)
	if strings.Contains(reason, securityDisabled) {
		return true, nil
	}
	hint := ""
	if resp.StatusCode == http.StatusForbidden {
		hint = "; run setup with a user or API key that has the manage_security cluster privilege"
	}
	return false, fmt.Errorf("PUT _security/role/%s: Elasticsearch answered %d %s: %s%s", name, resp.StatusCode, typ, reason, hint)
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
