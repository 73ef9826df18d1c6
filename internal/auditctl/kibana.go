package auditctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	kibana "github.com/otelcol-audit/otelcol-audit/config/kibana"
)

// Kibana is where `auditctl setup --kibana` installs the saved objects and
// quick ranges: a Kibana URL, optionally a space, and how to authenticate.
// Sources for each call are in config/kibana's package comment.
type Kibana struct {
	URL   string
	Space string // "" or "default": the default space
	Auth  func(*http.Request)
	HTTP  *http.Client
}

var spaceID = regexp.MustCompile(`^[a-z0-9_-]+$`)

// ValidateSpace checks a space id with Kibana's rule (spaces plugin,
// SPACE_ID_REGEX).
func ValidateSpace(id string) error {
	if id != "" && !spaceID.MatchString(id) {
		return fmt.Errorf("--kibana-space %q: a space id is lower case a-z, 0-9, '_' and '-' (the id in the space's URL, /s/<id>/app/…)", id)
	}
	return nil
}

// path puts the space prefix (/s/<id>) in front of an API path.
func (k Kibana) path(p string) string {
	if k.Space == "" || k.Space == "default" {
		return p
	}
	return "/s/" + k.Space + p
}

// do sends one request and returns the answer's body when it is 2xx.
func (k Kibana) do(ctx context.Context, method, p string, body io.Reader, contentType, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(k.URL, "/")+p, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// kbn-xsrf: required on every write (core's xsrf handler). The
	// settings routes are internal-access on 9.x, where internal routes
	// are refused without x-elastic-internal-origin; 8.x ignores it.
	req.Header.Set("kbn-xsrf", "otelcol-audit")
	req.Header.Set("x-elastic-internal-origin", "otelcol-audit")
	if k.Auth != nil {
		k.Auth(req)
	}
	client := k.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("cannot reach Kibana at %s while %s: %v; check --kibana", k.URL, what, ue.Err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			hint = " (check --api-key or --es-user/--es-password: setup signs in to Kibana with them)"
		case http.StatusForbidden:
			hint = " (the user needs the Kibana privileges to manage saved objects and advanced settings in this space)"
		case http.StatusNotFound:
			if strings.Contains(p, "/settings") {
				hint = " (this Kibana has no public settings API, as on serverless; add the quick ranges in Stack Management → Advanced Settings)"
			}
		}
		return nil, fmt.Errorf("Kibana answered %d while %s: %s%s", resp.StatusCode, what, strings.TrimSpace(string(raw)), hint)
	}
	return raw, nil
}

// checkSpace fails early when the space does not exist: Kibana would
// otherwise write into a space nobody can open.
func (k Kibana) checkSpace(ctx context.Context) error {
	if k.Space == "" || k.Space == "default" {
		return nil
	}
	_, err := k.do(ctx, http.MethodGet, "/api/spaces/space/"+k.Space, nil, "", "looking up the space")
	if err != nil && strings.Contains(err.Error(), "answered 404") {
		return fmt.Errorf("Kibana space %q does not exist: create it (Stack Management → Spaces) or set --kibana-space to an existing one", k.Space)
	}
	return err
}

// importSavedObjects posts the NDJSON to the saved objects import API.
// Kibana creates nothing when any object has a conflict or a missing
// reference, so anything but success is an error naming each object.
func (k Kibana) importSavedObjects(ctx context.Context) error {
	if err := k.checkSpace(ctx); err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", "otelcol-audit.ndjson") // the name must end in .ndjson
	if err != nil {
		return err
	}
	part.Write(kibana.SavedObjects)
	mw.Close()
	raw, err := k.do(ctx, http.MethodPost, k.path("/api/saved_objects/_import?overwrite=true"), &body, mw.FormDataContentType(), "importing the saved objects")
	if err != nil {
		return err
	}
	var r kibana.ImportResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("Kibana's import answer is not the expected JSON: %v: %.200s", err, raw)
	}
	if !r.Success || len(r.Errors) > 0 {
		var problems []string
		for _, e := range r.Errors {
			problems = append(problems, fmt.Sprintf("%s %s: %s %s", e.Type, e.ID, e.Error.Type, e.Error.Message))
		}
		return fmt.Errorf("Kibana refused the saved objects (nothing was imported): %s", strings.Join(problems, "; "))
	}
	return nil
}

// addQuickRanges adds ours to the space's time picker quick ranges: to
// the value an admin set, or to this Kibana's defaults when none is set.
// The setting is of type json: its value is a JSON string, which the
// browser parses (an array value would break the time picker).
func (k Kibana) addQuickRanges(ctx context.Context) error {
	status, err := k.do(ctx, http.MethodGet, "/api/status", nil, "", "reading Kibana's version")
	if err != nil {
		return err
	}
	var st struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	_ = json.Unmarshal(status, &st)
	raw, err := k.do(ctx, http.MethodGet, k.path("/api/kibana/settings"), nil, "", "reading the advanced settings")
	if err != nil {
		return err
	}
	var settings struct {
		Settings map[string]struct {
			UserValue json.RawMessage `json:"userValue"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(raw, &settings); err != nil {
		return fmt.Errorf("Kibana's settings answer is not the expected JSON: %v", err)
	}
	current := kibana.DefaultQuickRanges(st.Version.Number)
	if uv := settings.Settings[kibana.QuickRangesSetting].UserValue; len(uv) > 0 && string(uv) != "null" {
		if current, err = kibana.ParseQuickRanges(uv); err != nil {
			return fmt.Errorf("the space's %s is not a list of ranges (%v); fix or reset it in Stack Management → Advanced Settings", kibana.QuickRangesSetting, err)
		}
	}
	merged, changed := kibana.AddQuickRanges(current)
	if !changed {
		return nil
	}
	value, err := kibana.QuickRangesValue(merged)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]any{"changes": map[string]any{kibana.QuickRangesSetting: value}})
	_, err = k.do(ctx, http.MethodPost, k.path("/api/kibana/settings"), bytes.NewReader(b), "application/json", "setting the time picker's quick ranges")
	return err
}
