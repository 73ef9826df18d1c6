// Package esbootstrap installs the audit store's Elasticsearch assets, in
// order and idempotently: an ILM policy per retention tier, the component
// templates, an index template per tier, and the dead-letter data stream.
// Events indices are created by the first write through their template
// (allow_auto_create); the dead-letter stream exists beforehand, so a dead
// letter never depends on the privilege or setting that refused its event.
// The exporter runs it on start; `auditctl setup` runs the same steps.
package esbootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	assets "github.com/otelcol-audit/otelcol-audit/config/elasticsearch"
)

// Step is one request of the bootstrap.
type Step struct {
	// Desc is what --dry-run prints: "PUT _ilm/policy/audit-default".
	Desc string
	Body []byte
	do   func(ctx context.Context, c *elasticsearch.Client, body io.Reader) (*esapi.Response, error)
	// alreadyOK names an error type that means the step is already done.
	alreadyOK string
}

// Plan lists the steps for the tiers, creating the dead-letter data stream
// in namespace.
func Plan(tiers []assets.Tier, namespace string) ([]Step, error) {
	var steps []Step
	for _, t := range tiers {
		body, err := t.ILMPolicy()
		if err != nil {
			return nil, err
		}
		name := t.PolicyName()
		steps = append(steps, Step{Desc: "PUT _ilm/policy/" + name, Body: body,
			do: func(ctx context.Context, c *elasticsearch.Client, b io.Reader) (*esapi.Response, error) {
				return esapi.ILMPutLifecycleRequest{Policy: name, Body: b}.Do(ctx, c)
			}})
	}
	for _, ct := range assets.ComponentTemplates {
		body, err := assets.Read(ct.File)
		if err != nil {
			return nil, err
		}
		name := ct.Name
		steps = append(steps, Step{Desc: "PUT _component_template/" + name, Body: body,
			do: func(ctx context.Context, c *elasticsearch.Client, b io.Reader) (*esapi.Response, error) {
				return esapi.ClusterPutComponentTemplateRequest{Name: name, Body: b}.Do(ctx, c)
			}})
	}
	for _, t := range tiers {
		body, err := t.IndexTemplate()
		if err != nil {
			return nil, err
		}
		name := t.TemplateName()
		steps = append(steps, Step{Desc: "PUT _index_template/" + name, Body: body,
			do: func(ctx context.Context, c *elasticsearch.Client, b io.Reader) (*esapi.Response, error) {
				return esapi.IndicesPutIndexTemplateRequest{Name: name, Body: b}.Do(ctx, c)
			}})
	}
	for _, t := range tiers {
		if !t.DataStream() {
			continue
		}
		name := t.StreamName(namespace)
		steps = append(steps, Step{Desc: "PUT _data_stream/" + name, alreadyOK: "resource_already_exists_exception",
			do: func(ctx context.Context, c *elasticsearch.Client, _ io.Reader) (*esapi.Response, error) {
				return esapi.IndicesCreateDataStreamRequest{Name: name}.Do(ctx, c)
			}})
	}
	return steps, nil
}

// Legacy returns the steps that keep the data streams an earlier release
// wrote events to (logs-<dataset>[.<tier>]-<namespace>) matched by a
// data-stream template of their own, with their rollover policy, so that
// the events templates can be installed over their patterns:
// Elasticsearch refuses a template that would leave a data stream without
// one (MetadataIndexTemplateService). New events go to the events
// indices; the old streams age out under the policy they had. A cluster
// without such streams needs no step.
func Legacy(ctx context.Context, c *elasticsearch.Client, tiers []assets.Tier) ([]Step, error) {
	var patterns []string
	for _, t := range tiers {
		patterns = append(patterns, t.IndexPattern())
	}
	resp, err := esapi.IndicesGetDataStreamRequest{Name: patterns}.Do(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("GET _data_stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.IsError() {
		typ, reason := ErrorOf(resp.Body)
		return nil, fmt.Errorf("GET _data_stream/%s: Elasticsearch answered %d %s: %s", strings.Join(patterns, ","), resp.StatusCode, typ, reason)
	}
	var found struct {
		DataStreams []struct {
			Name string `json:"name"`
		} `json:"data_streams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&found); err != nil {
		return nil, fmt.Errorf("GET _data_stream: %w", err)
	}
	var steps []Step
	for _, t := range tiers {
		if t.DataStream() {
			continue // dead letters are a data stream still
		}
		var streams []string
		prefix := "logs-" + t.Dataset + "-"
		for _, ds := range found.DataStreams {
			if ns, ok := strings.CutPrefix(ds.Name, prefix); ok && !strings.Contains(ns, "-") {
				streams = append(streams, ds.Name)
			}
		}
		if len(streams) == 0 {
			continue
		}
		policy, err := t.LegacyPolicy()
		if err != nil {
			return nil, err
		}
		tmpl, err := t.LegacyTemplate(streams)
		if err != nil {
			return nil, err
		}
		name := t.LegacyName()
		steps = append(steps,
			Step{Desc: "PUT _ilm/policy/" + name, Body: policy, do: func(ctx context.Context, c *elasticsearch.Client, b io.Reader) (*esapi.Response, error) {
				return esapi.ILMPutLifecycleRequest{Policy: name, Body: b}.Do(ctx, c)
			}},
			Step{Desc: "PUT _index_template/" + name + " (" + strings.Join(streams, ", ") + ")", Body: tmpl, do: func(ctx context.Context, c *elasticsearch.Client, b io.Reader) (*esapi.Response, error) {
				return esapi.IndicesPutIndexTemplateRequest{Name: name, Body: b}.Do(ctx, c)
			}})
	}
	return steps, nil
}

// WithLegacy puts the legacy steps into a plan, after the component
// templates they compose and before the templates they make room for.
func WithLegacy(plan, legacy []Step) []Step {
	if len(legacy) == 0 {
		return plan
	}
	for i, s := range plan {
		if strings.HasPrefix(s.Desc, "PUT _index_template/") {
			return slices.Concat(plan[:i], legacy, plan[i:])
		}
	}
	return append(plan, legacy...)
}

// Apply runs the steps in order and stops at the first failure.
func Apply(ctx context.Context, c *elasticsearch.Client, steps []Step) error {
	for _, s := range steps {
		if err := s.Apply(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Apply runs one step.
func (s Step) Apply(ctx context.Context, c *elasticsearch.Client) error {
	var body io.Reader
	if s.Body != nil {
		body = bytes.NewReader(s.Body)
	}
	resp, err := s.do(ctx, c, body)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Desc, err)
	}
	defer resp.Body.Close()
	if !resp.IsError() {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	typ, reason := ErrorOf(resp.Body)
	if s.alreadyOK != "" && typ == s.alreadyOK {
		return nil
	}
	hint := ""
	switch resp.StatusCode {
	case 401:
		hint = " (check api_key, or user and password)"
	case 403:
		hint = " (the credentials lack the privileges to manage ILM policies and templates; run `auditctl setup` with an admin role and set bootstrap.enabled: false for the collector)"
	}
	return fmt.Errorf("%s: Elasticsearch answered %d %s: %s%s", s.Desc, resp.StatusCode, typ, reason, hint)
}

// ErrorOf reads Elasticsearch's error shape: {"error":{"type","reason"}}.
func ErrorOf(r io.Reader) (typ, reason string) {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	if json.Unmarshal(raw, &e) != nil || len(e.Error) == 0 {
		return "", strings.TrimSpace(string(raw))
	}
	var obj struct{ Type, Reason string }
	if json.Unmarshal(e.Error, &obj) == nil && obj.Type != "" {
		return obj.Type, obj.Reason
	}
	return "", string(e.Error)
}
