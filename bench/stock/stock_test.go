// Package stock measures, side by side, the audit processor and the same job
// done with stock contrib processors (filter + transform + redaction with
// OTTL), the way a user without otelcol-audit would build it. It is its own
// module so that contrib's OTTL stack stays out of the main module.
//
//	cd bench/stock && go test -run '^$' -bench . -benchtime 200x
package stock

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-audit/otelcol-audit/internal/auditgen"
	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/comptest"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor"
)

var catalogs = []string{"../../config/catalogs/codatum.yaml", "../../config/catalogs/wherobots.yaml"}

const emailPattern = `([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,})`

// stockConfigs renders the contrib processors' configs for the same job:
// drop unknown actions, tag group/categories/kind from the catalog, derive
// an id, mask addresses keeping the domain, and deny a content attribute.
func stockConfigs(tb testing.TB) (filterCfg, transformCfg, redactionCfg string) {
	cat, err := catalog.Load(catalogs...)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	var tags strings.Builder
	for _, a := range cat.Actions() {
		names = append(names, strings.ReplaceAll(a.Name, ".", `\\.`))
		fmt.Fprintf(&tags, "      - set(log.attributes[\"audit.group\"], %q) where log.event_name == %q\n", a.Group, a.Name)
		fmt.Fprintf(&tags, "      - set(log.attributes[\"audit.categories\"], %q) where log.event_name == %q\n", strings.Join(a.Categories, ","), a.Name)
	}
	filterCfg = fmt.Sprintf(`
error_mode: ignore
logs:
  log_record:
    - 'not IsMatch(log.event_name, "^(%s)$")'
`, strings.Join(names, "|"))
	transformCfg = fmt.Sprintf(`
error_mode: ignore
log_statements:
  - context: log
    statements:
      - set(log.attributes["event.id"], SHA256(Concat([String(log.time_unix_nano), log.event_name, String(log.attributes)], "|"))) where log.attributes["event.id"] == nil
      - set(log.attributes["event.kind"], "event")
%s      - replace_all_patterns(log.attributes, "value", "%s", "***@$$2")
      - replace_pattern(log.body, "%s", "***@$$2")
  - context: resource
    statements:
      - replace_all_patterns(resource.attributes, "value", "%s", "***@$$2")
`, tags.String(), emailPattern, emailPattern, emailPattern)
	redactionCfg = `
allow_all_keys: true
blocked_key_patterns: ['^db\.query\.text$']
summary: silent
`
	return filterCfg, transformCfg, redactionCfg
}

func newProc(tb testing.TB, f processor.Factory, yamlCfg string, next consumer.Logs) processor.Logs {
	tb.Helper()
	cfg := f.CreateDefaultConfig()
	if yamlCfg != "" {
		var raw map[string]any
		if err := yaml.Unmarshal([]byte(yamlCfg), &raw); err != nil {
			tb.Fatal(err)
		}
		if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
			tb.Fatal(err)
		}
	}
	if v, ok := cfg.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			tb.Fatalf("%s: %v", f.Type(), err)
		}
	}
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		tb.Fatalf("%s: %v", f.Type(), err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func stockChain(tb testing.TB, sink consumer.Logs) consumer.Logs {
	fc, tc, rc := stockConfigs(tb)
	red := newProc(tb, redactionprocessor.NewFactory(), rc, sink)
	tr := newProc(tb, transformprocessor.NewFactory(), tc, red)
	return newProc(tb, filterprocessor.NewFactory(), fc, tr)
}

func oursChain(tb testing.TB, sink consumer.Logs) consumer.Logs {
	cfg := fmt.Sprintf(`
catalogs: [%s]
unknown_actions: drop
attributes: {default: {deny: [db.query.text]}}
`, strings.Join(catalogs, ", "))
	return newProc(tb, auditprocessor.NewFactory(), cfg, sink)
}

func batch() plog.Logs {
	return auditgen.Batch(1000, auditgen.Options{FreeTextEmailFraction: 0.2, UnknownFraction: 0.02, Seed: 1})
}

// TestSameJob checks that both chains really do the job being measured.
func TestSameJob(t *testing.T) {
	for name, build := range map[string]func(testing.TB, consumer.Logs) consumer.Logs{"ours": oursChain, "stock": stockChain} {
		t.Run(name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			in := batch()
			if err := build(t, sink).ConsumeLogs(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			out := sink.AllLogs()[0]
			b, _ := (&plog.JSONMarshaler{}).MarshalLogs(out)
			if strings.Contains(string(b), "user1") {
				t.Fatal("an address survived")
			}
			if n := out.LogRecordCount(); n < 950 || n == 1000 {
				t.Fatalf("want unknown actions dropped, got %d records", n)
			}
			lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			for _, k := range []string{"audit.group", "audit.categories", "event.kind", "event.id"} {
				if _, ok := lr.Attributes().Get(k); !ok {
					t.Fatalf("missing %s", k)
				}
			}
		})
	}
}

func BenchmarkSideBySide(b *testing.B) {
	for _, bc := range []struct {
		name  string
		build func(testing.TB, consumer.Logs) consumer.Logs
	}{{"audit_processor", oursChain}, {"stock_filter_transform_redaction", stockChain}} {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.build(b, consumertest.NewNop())
			comptest.PerRecord(b, c, batch())
		})
	}
}

var _ component.Config = (*auditprocessor.Config)(nil)
