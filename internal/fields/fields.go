// Package fields names the log-record attributes that carry an audit event.
// OTLP senders, the audit receiver, the processor and the exporter all use
// this one table, so an event looks the same whichever way it came in.
package fields

import "slices"

// Attributes a sender sets (OpenTelemetry semantic conventions where one
// exists).
const (
	EventName     = "event.name"
	EventAction   = "event.action"
	EventID       = "event.id"
	LogRecordUID  = "log.record.uid"
	EventOutcome  = "event.outcome"
	UserID        = "user.id"
	UserName      = "user.name"
	UserEmail     = "user.email"
	ActorType     = "audit.actor.type"
	ClientAddress = "client.address"
	UserAgent     = "user_agent.original"
	CloudRegion   = "cloud.region"
	Organization  = "organization.id"
	ResourceType  = "audit.resource.type"
	ResourceID    = "audit.resource.id"
	ResourceName  = "audit.resource.name"
)

// Attributes the processor sets.
const (
	EventKind          = "event.kind"
	EventCategory      = "event.category"
	EventType          = "event.type"
	AuditGroup         = "audit.group"
	AuditCategories    = "audit.categories"
	UserHash           = "user.hash"
	AuditRoute         = "audit.route"
	AuditInvalidReason = "audit.invalid_reason"
)

// Reserved lists the attributes only the processor sets (the constants
// above): it removes a sender's copies, every one of them, so a sender can
// neither route, invalidate, tag nor attribute its events.
var Reserved = []string{
	EventKind, EventCategory, EventType, AuditGroup, AuditCategories, UserHash, AuditRoute, AuditInvalidReason,
}

// Address lists the attributes whose meaning is an email address: masked
// up to their last '@' whatever they hold, not only where an address is
// detected.
var Address = []string{UserEmail}

// Values of event.kind and audit.route.
const (
	KindEvent         = "event"
	KindPipelineError = "pipeline_error"
	RouteQuarantine   = "quarantine"
)

// Core lists the attributes that make up the audit entry itself. Attribute
// allow-lists always keep them and deny-lists may not name them.
var Core = []string{
	EventName, EventAction, EventID, LogRecordUID, EventOutcome, EventKind, EventCategory, EventType,
	UserID, UserName, UserEmail, UserHash, ActorType, ClientAddress, UserAgent, CloudRegion, Organization,
	ResourceType, ResourceID, ResourceName, AuditGroup, AuditCategories, AuditRoute, AuditInvalidReason,
}

// IsCore reports whether key is one of Core.
func IsCore(key string) bool { return slices.Contains(Core, key) }
