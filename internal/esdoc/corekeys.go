package esdoc

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-audit/otelcol-audit/internal/fields"
)

// Slots of core: the record attributes that have a place of their own in
// the document; everything else goes to audit.properties.
const (
	sNone = iota
	sID
	sUID
	sOutcome
	sKind
	sCategory
	sTyp
	sGroup
	sCategories
	sActorType
	sRType
	sRID
	sRName
	sRoute
	sReason
	sUserID
	sUserName
	sUserEmail
	sUserHash
	sClient
	sAgent
	sRegion
	sOrgID
	sSkip // event.name and event.action: the action is the EventName
	nSlots
)

type core [nSlots]pcommon.Value

// coreKeys finds an attribute's slot with one hash and one comparison; a
// string switch over two dozen keys was a sixth of the encoder's time.
var coreKeys = newKeyTable([]struct {
	key  string
	slot uint8
}{
	{fields.EventID, sID},
	{fields.LogRecordUID, sUID},
	{fields.EventOutcome, sOutcome},
	{fields.EventKind, sKind},
	{fields.EventCategory, sCategory},
	{fields.EventType, sTyp},
	{fields.AuditGroup, sGroup},
	{fields.AuditCategories, sCategories},
	{fields.ActorType, sActorType},
	{fields.ResourceType, sRType},
	{fields.ResourceID, sRID},
	{fields.ResourceName, sRName},
	{fields.AuditRoute, sRoute},
	{fields.AuditInvalidReason, sReason},
	{fields.UserID, sUserID},
	{fields.UserName, sUserName},
	{fields.UserEmail, sUserEmail},
	{fields.UserHash, sUserHash},
	{fields.ClientAddress, sClient},
	{fields.UserAgent, sAgent},
	{fields.CloudRegion, sRegion},
	{fields.Organization, sOrgID},
	{fields.EventName, sSkip},
	{fields.EventAction, sSkip},
})

type keyTable struct {
	seed  uint32
	keys  [64]string
	slots [64]uint8
}

func keyHash(k string, seed uint32) uint32 {
	n := len(k)
	x := uint32(n)<<24 | uint32(k[n-1])<<16 | uint32(k[n-2])<<8 | uint32(k[n/2])
	return x * seed >> 26
}

// newKeyTable searches for a multiplier under which no two keys share a
// bucket (a few thousand tries for these keys).
func newKeyTable(entries []struct {
	key  string
	slot uint8
}) *keyTable {
	for seed := uint32(1); seed < 1<<24; seed += 2 {
		t := &keyTable{seed: seed}
		clash := false
		for _, e := range entries {
			h := keyHash(e.key, seed)
			if t.keys[h] != "" {
				clash = true
				break
			}
			t.keys[h], t.slots[h] = e.key, e.slot
		}
		if !clash {
			return t
		}
	}
	panic("esdoc: no collision-free hash for the core keys")
}

func (t *keyTable) slot(k string) uint8 {
	if len(k) < 2 {
		return sNone
	}
	h := keyHash(k, t.seed)
	if t.keys[h] == k {
		return t.slots[h]
	}
	return sNone
}

// scan sorts the attributes in one pass: core ones into c, the rest
// straight into props as JSON members.
func (c *core) scan(attrs pcommon.Map, props []byte) []byte {
	for k, v := range attrs.All() {
		if s := coreKeys.slot(k); s != sNone {
			// A repeated key (legal on the OTLP wire) keeps its first
			// copy, the one Map.Get, the router and ID read.
			if c[s] == (pcommon.Value{}) {
				c[s] = v
			}
			continue
		}
		props = append(props, ',')
		props = appendString(props, k)
		props = append(props, ':')
		props = appendValue(props, v)
	}
	if c[sID] == (pcommon.Value{}) {
		c[sID] = c[sUID]
	}
	return props
}
