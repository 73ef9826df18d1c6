package auditapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// apiError is every error answer: {"error","field","reason"}
// (openapi.yaml, Error).
type apiError struct {
	status     int
	Message    string `json:"error"`
	Field      string `json:"field,omitempty"`
	Reason     string `json:"reason"`
	retryAfter int
}

// Reasons, stable for programs.
const (
	reasonBadFilter        = "bad_filter"
	reasonBadCursor        = "bad_cursor"
	reasonBadBody          = "bad_body"
	reasonNoToken          = "no_token"
	reasonBadToken         = "bad_token"
	reasonOutOfScope       = "out_of_scope"
	reasonNotAdmin         = "not_admin"
	reasonRateLimited      = "rate_limited"
	reasonStoreUnavailable = "store_unavailable"
	reasonAuditUnavailable = "audit_unavailable"
	reasonBusy             = "busy"
	reasonNotFound         = "not_found"
	reasonInternal         = "internal"
)

func badFilter(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Message: msg, Field: field, Reason: reasonBadFilter}
}

func badCursor(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Message: msg, Field: "cursor", Reason: reasonBadCursor}
}

func outOfScope(field, msg string) *apiError {
	return &apiError{status: http.StatusForbidden, Message: msg, Field: field, Reason: reasonOutOfScope}
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="audit log"`)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
