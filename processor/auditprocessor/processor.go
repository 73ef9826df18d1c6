package auditprocessor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-audit/otelcol-audit/internal/catalog"
	"github.com/otelcol-audit/otelcol-audit/internal/eventid"
	"github.com/otelcol-audit/otelcol-audit/internal/fields"
	"github.com/otelcol-audit/otelcol-audit/internal/masking"
	"github.com/otelcol-audit/otelcol-audit/processor/auditprocessor/internal/metadata"
)

// tags is everything the processor adds for one catalog action, prepared
// once at start so the per-record path only copies string headers.
type tags struct {
	action     *catalog.Action
	attrs      attrFilter
	newAttrs   int
	hasECSCat  bool
	hasECSType bool
}

// attrFilter is a group's metadata-only list. It is asked about every
// attribute of every record.
type attrFilter struct {
	keys   keySet // the allow list plus the core attributes, or the deny list
	allow  bool
	active bool
}

func (f attrFilter) drop(key string) bool { return f.active && f.keys.has(key) != f.allow }

// keySet is a small set of attribute keys. Most keys differ in length from
// every member, so a mask of the members' lengths answers before the map
// is hashed.
type keySet struct {
	lens uint64
	m    map[string]struct{}
}

func newKeySet(lists ...[]string) keySet {
	s := keySet{m: map[string]struct{}{}}
	for _, l := range lists {
		for _, k := range l {
			s.m[k] = struct{}{}
			s.lens |= lenBit(k)
		}
	}
	return s
}

// lenBit shares the top bit among keys of 63 bytes and more.
func lenBit(k string) uint64 { return 1 << min(len(k), 63) }

func (s keySet) has(k string) bool {
	if s.lens&lenBit(k) == 0 {
		return false
	}
	_, ok := s.m[k]
	return ok
}

type auditProcessor struct {
	cfg       *Config
	cat       *catalog.Catalog
	byName    map[string]*tags
	defFilter attrFilter
	masker    masking.Masker
	hmacPool  *sync.Pool
	scratch   sync.Pool // *scratch
	now       func() time.Time
	logger    *zap.Logger
	warns     warnLimit
	reasons   reasonCache

	tel                                                   *metadata.TelemetryBuilder
	quarantineAttr, dropAttr, duplicateAttr, reservedAttr metric.MeasurementOption
}

type scratch struct {
	ids    eventid.Deriver
	norm   []byte
	sum    []byte
	hex    [64]byte
	hashes map[string]string // address -> pseudonym
	dups   dupFinder
}

// batchCounts are added to the counters once per batch, not per record.
type batchCounts struct {
	processed, quarantined, dropped, masked, removed int64
	duplicates, reserved                             int64 // sender attributes rejected
	records                                          int
	// ids holds the batch's derived ids: one allocation per batch instead
	// of one per record. Strings point into it, so it is never reused.
	ids []byte
	// received stamps records that carry no time at all.
	received pcommon.Timestamp
}

// deriveID returns lr's derived id, backed by n.ids; d has been fed the
// record (see walk).
func (n *batchCounts) deriveID(d *eventid.Deriver, lr plog.LogRecord) string {
	if cap(n.ids)-len(n.ids) < eventid.Len {
		n.ids = make([]byte, 0, eventid.Len*max(n.records-int(n.processed)+1, 1))
	}
	start := len(n.ids)
	n.ids = d.Finish(n.ids, lr)
	return unsafe.String(&n.ids[start], eventid.Len)
}

func newProcessor(set processor.Settings, cfg *Config) (*auditProcessor, error) {
	cat, err := catalog.Load(catalogPaths(cfg.Catalogs)...)
	if err != nil {
		return nil, err
	}
	p := &auditProcessor{cfg: cfg, cat: cat, byName: make(map[string]*tags, cat.Len()), now: time.Now, logger: set.Logger}
	p.scratch.New = func() any { return &scratch{} }
	p.defFilter = newFilter(cfg.Attributes.Default)
	for _, a := range cat.Actions() {
		t := &tags{action: a, attrs: p.defFilter, hasECSCat: len(a.ECSCategory) > 0, hasECSType: len(a.ECSType) > 0}
		if r, ok := cfg.Attributes.Groups[a.Group]; ok {
			t.attrs = newFilter(r)
		}
		t.newAttrs = 4 // group, categories, kind, id
		if t.hasECSCat {
			t.newAttrs++
		}
		if t.hasECSType {
			t.newAttrs++
		}
		p.byName[a.Name] = t
	}
	if key := []byte(string(cfg.Pseudonym.Key)); len(key) > 0 {
		p.hmacPool = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	}

	if p.tel, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, err
	}
	p.quarantineAttr = metric.WithAttributeSet(attribute.NewSet(attribute.String("policy", PolicyQuarantine)))
	p.dropAttr = metric.WithAttributeSet(attribute.NewSet(attribute.String("policy", PolicyDrop)))
	p.duplicateAttr = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "duplicate")))
	p.reservedAttr = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "reserved")))
	return p, nil
}

func newFilter(r AttributeRule) attrFilter {
	switch {
	case len(r.Allow) > 0:
		return attrFilter{keys: newKeySet(r.Allow, fields.Core), allow: true, active: true}
	case len(r.Deny) > 0:
		return attrFilter{keys: newKeySet(r.Deny), active: true}
	}
	return attrFilter{}
}

func (p *auditProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	sc := p.scratch.Get().(*scratch)
	defer p.scratch.Put(sc)
	n := batchCounts{records: ld.LogRecordCount(), received: pcommon.NewTimestampFromTime(p.now())}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if p.cfg.MaskEmails {
			n.masked += int64(p.maskMap(rl.Resource().Attributes(), false))
			if s, c := p.masker.String(rl.SchemaUrl()); c > 0 {
				rl.SetSchemaUrl(s)
				n.masked += int64(c)
			}
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			if p.cfg.MaskEmails {
				n.masked += int64(p.maskScope(sl))
			}
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				return p.processRecord(lr, sc, &n)
			})
		}
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
	}
	rls.RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })

	p.tel.ProcessorAuditRecordsProcessed.Add(ctx, n.processed)
	if n.quarantined > 0 {
		p.tel.ProcessorAuditUnknownActions.Add(ctx, n.quarantined, p.quarantineAttr)
	}
	if n.dropped > 0 {
		p.tel.ProcessorAuditUnknownActions.Add(ctx, n.dropped, p.dropAttr)
		p.tel.ProcessorAuditRecordsDropped.Add(ctx, n.dropped)
	}
	if n.masked > 0 {
		p.tel.ProcessorAuditEmailsMasked.Add(ctx, n.masked)
	}
	if n.removed > 0 {
		p.tel.ProcessorAuditAttributesRemoved.Add(ctx, n.removed)
	}
	if n.duplicates > 0 {
		p.tel.ProcessorAuditAttributesRejected.Add(ctx, n.duplicates, p.duplicateAttr)
	}
	if n.reserved > 0 {
		p.tel.ProcessorAuditAttributesRejected.Add(ctx, n.reserved, p.reservedAttr)
	}
	if rls.Len() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

// known is what the pass over a record's attributes found. outcome stays
// valid only until the map is appended to or compacted.
type known struct {
	outcome                            pcommon.Value
	eventID, uid, userHash, senderHash string
	eventIDMasked, uidMasked           bool
	hasOutcome                         bool
	drops                              int // attributes f drops
	dups, reserved                     int // later copies of a key; keys only the processor sets
	keys                               int // keys that may hold an address
}

// walk makes the one pass over a record's attributes: it feeds the id
// derivation the record as sent, takes the pseudonym from the address
// before masking it, finds the attributes the processor reads, masks every
// value, and counts what f drops, what may need renaming, and what the
// sender may not send. Only the first copy of a key is read (see
// dupkeys.go); the later copies and the reserved keys are left for prune.
func (p *auditProcessor) walk(lr plog.LogRecord, f attrFilter, sc *scratch, n *batchCounts) known {
	var k known
	attrs := lr.Attributes()
	sc.ids.Begin(lr)
	sc.dups.begin()
	i := -1
	for key, v := range attrs.All() {
		i++
		sc.ids.Attr(key, v)
		if sc.dups.repeated(key, i) {
			k.dups++
			continue
		}
		if isReserved(key) {
			k.reserved++
			if key == fields.UserHash && p.cfg.Pseudonym.TrustSenderHash && v.Type() == pcommon.ValueTypeStr {
				k.senderHash = v.Str()
				if p.cfg.MaskEmails {
					var c int
					k.senderHash, c = p.masker.String(k.senderHash)
					n.masked += int64(c)
				}
			}
			continue
		}
		if key == fields.UserEmail && p.hmacPool != nil && v.Type() == pcommon.ValueTypeStr {
			// An already masked address (a re-imported export) has no pseudonym to give.
			if s := v.Str(); s != "" && !masking.IsMasked(s) {
				k.userHash = p.pseudonym(s, sc)
			}
		}
		c := 0
		if p.cfg.MaskEmails {
			if isAddress(key) {
				c = p.maskAddress(v)
			} else {
				c = p.maskValue(v)
			}
			n.masked += int64(c)
			if masking.MayContain(key) {
				k.keys++
			}
		}
		if f.drop(key) {
			k.drops++
		}
		switch key {
		case fields.EventID:
			if v.Type() == pcommon.ValueTypeStr {
				k.eventID, k.eventIDMasked = v.Str(), c > 0
			}
		case fields.LogRecordUID:
			if v.Type() == pcommon.ValueTypeStr {
				k.uid, k.uidMasked = v.Str(), c > 0
			}
		case fields.EventOutcome:
			k.outcome, k.hasOutcome = v, true
		}
	}
	sc.dups.end()
	return k
}

// isReserved reports whether only the processor may set key: one of
// fields.Reserved (a switch, not a set: it is asked about every key).
func isReserved(key string) bool {
	switch key {
	case fields.EventKind, fields.EventCategory, fields.EventType, fields.AuditGroup,
		fields.AuditCategories, fields.UserHash, fields.AuditRoute, fields.AuditInvalidReason:
		return true
	}
	return false
}

// isAddress reports whether key is one of fields.Address.
func isAddress(key string) bool { return key == fields.UserEmail }

// prune removes, in one pass, the later copies of keys (at the positions
// walk found, ascending) and every reserved key.
func prune(m pcommon.Map, later []int) {
	i, j := -1, 0
	m.RemoveIf(func(key string, _ pcommon.Value) bool {
		i++
		if j < len(later) && later[j] == i {
			j++
			return true
		}
		return isReserved(key)
	})
}

const (
	idNone = iota
	idFromEventID
	idFromUID // copied to event.id: the exporter reads only event.id
)

// id is the sender's id, or idNone when there is none or masking changed
// it: a masked id would be shared by every address of a domain, and the
// store keeps one event per id.
func (k *known) id() (string, int) {
	if k.eventID != "" {
		if k.eventIDMasked {
			return "", idNone
		}
		return k.eventID, idFromEventID
	}
	if k.uid != "" && !k.uidMasked {
		return k.uid, idFromUID
	}
	return "", idNone
}

// processRecord reports whether the record is to be dropped.
func (p *auditProcessor) processRecord(lr plog.LogRecord, sc *scratch, n *batchCounts) bool {
	n.processed++
	attrs := lr.Attributes()
	action := lr.EventName()
	if action == "" {
		for _, k := range p.cfg.ActionAttributes {
			if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
				action = v.Str()
				break
			}
		}
	}
	t := p.byName[action]
	if t == nil && p.cfg.UnknownActions == PolicyDrop {
		n.dropped++
		return true
	}

	var f attrFilter
	if t != nil {
		f = t.attrs
	}
	k := p.walk(lr, f, sc, n)
	if k.dups > 0 || k.reserved > 0 {
		prune(attrs, sc.dups.idx)
		n.duplicates += int64(k.dups)
		n.reserved += int64(k.reserved)
	}
	if k.keys > 0 {
		n.masked += int64(p.maskKeys(attrs))
		k.drops = 0
		for key := range attrs.All() {
			if f.drop(key) {
				k.drops++
			}
		}
	}
	if k.hasOutcome && (k.dups > 0 || k.reserved > 0 || k.keys > 0) {
		// Pruning and renaming move the map.
		k.outcome, k.hasOutcome = attrs.Get(fields.EventOutcome)
	}
	// A sender's pseudonym is kept only when trusted and none was computed.
	userHash := k.userHash
	if userHash == "" && k.senderHash != "" {
		userHash = k.senderHash
		n.reserved--
	}
	id, idSource := k.id()
	if idSource == idNone {
		id = n.deriveID(&sc.ids, lr)
	}
	// A record without a time gets the time it was received, once, here
	// before the exporter's queue: a retry then gives it the same
	// @timestamp, so the same index, where its _id refuses a second copy.
	if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
		lr.SetObservedTimestamp(n.received)
	}
	if p.cfg.MaskEmails {
		n.masked += int64(p.maskValue(lr.Body()))
		if s, c := p.masker.String(lr.SeverityText()); c > 0 {
			lr.SetSeverityText(s)
			n.masked += int64(c)
		}
	}

	if t == nil {
		n.quarantined++
		n.masked += int64(p.quarantine(lr, action))
		if idSource != idFromEventID {
			attrs.PutStr(fields.EventID, id)
		}
		if userHash != "" {
			attrs.PutStr(fields.UserHash, userHash)
		}
		return false
	}

	if k.hasOutcome {
		if o := normalizeOutcome(k.outcome); k.outcome.Type() != pcommon.ValueTypeStr || o != k.outcome.Str() {
			k.outcome.SetStr(o)
		}
	}
	if k.drops > 0 {
		attrs.RemoveIf(func(key string, _ pcommon.Value) bool { return f.drop(key) })
		n.removed += int64(k.drops)
	}

	lr.SetEventName(t.action.Name)
	t.put(attrs, id, idSource, userHash)
	return false
}

// put adds the catalog's tags for the action, the id unless the sender's
// event.id is kept, and the pseudonym. The attribute array grows once, to
// the exact size: it is most of the bytes a record costs.
func (t *tags) put(attrs pcommon.Map, id string, idSource int, userHash string) {
	n := t.newAttrs
	if idSource == idFromEventID {
		n--
	}
	if userHash != "" {
		n++
	}
	attrs.EnsureCapacity(attrs.Len() + n)
	if idSource != idFromEventID {
		attrs.PutStr(fields.EventID, id)
	}
	a := t.action
	attrs.PutStr(fields.AuditGroup, a.Group)
	putStrings(attrs, fields.AuditCategories, a.Categories)
	attrs.PutStr(fields.EventKind, fields.KindEvent)
	if t.hasECSCat {
		putStrings(attrs, fields.EventCategory, a.ECSCategory)
	}
	if t.hasECSType {
		putStrings(attrs, fields.EventType, a.ECSType)
	}
	if userHash != "" {
		attrs.PutStr(fields.UserHash, userHash)
	}
}

// quarantine marks lr invalid and returns the addresses it masked in the
// action.
func (p *auditProcessor) quarantine(lr plog.LogRecord, action string) int {
	attrs := lr.Attributes()
	var reason string
	masked := 0
	switch {
	case action == "":
		reason = fmt.Sprintf("no action: EventName is empty and none of the attributes %s is set", strings.Join(p.cfg.ActionAttributes, ", "))
	default:
		if p.cfg.MaskEmails {
			action, masked = p.masker.String(action)
			lr.SetEventName(action)
		}
		reason = p.reasons.get(action, p.unknownReason)
	}
	p.warnUnknown(action, reason)
	attrs.PutStr(fields.AuditRoute, fields.RouteQuarantine)
	attrs.PutStr(fields.AuditInvalidReason, reason)
	attrs.PutStr(fields.EventKind, fields.KindPipelineError)
	return masked
}

// unknownReason explains an action the catalog does not have, with the
// catalog name it most likely meant.
func (p *auditProcessor) unknownReason(action string) string {
	if s, ok := p.cat.Suggest(action); ok {
		return fmt.Sprintf("unknown action %q: not in the catalog; names must match exactly (did you mean %q?)", action, s)
	}
	return fmt.Sprintf("unknown action %q: not in the catalog (%s)", action, strings.Join(p.cfg.Catalogs, ", "))
}

// warnUnknown logs a quarantined action (already masked) and why, within
// warnLimit: the sender got a 202, so the log is where it shows.
func (p *auditProcessor) warnUnknown(action, reason string) {
	ok, suppressed := p.warns.allow(p.now())
	if !ok {
		return
	}
	// A sender chooses the action's length: the log gets a bounded copy.
	fs := []zap.Field{zap.String("action", clip(action)), zap.String("reason", clip(reason))}
	if suppressed > 0 {
		fs = append(fs, zap.Int64("not_logged_before", suppressed))
	}
	p.logger.Warn("Unknown action quarantined: add it to a catalog, or fix the sender", fs...)
}

// maxLogged bounds a sender's string in the collector's log.
const maxLogged = 512

func clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	return strings.ToValidUTF8(s[:maxLogged], "") + "…"
}

// putStrings writes one value as a string and several as an array, as ECS
// allows for keyword fields; a one-element array would cost three more
// allocations per record.
func putStrings(m pcommon.Map, key string, vals []string) {
	if len(vals) == 1 {
		m.PutStr(key, vals[0])
		return
	}
	s := m.PutEmptySlice(key)
	s.EnsureCapacity(len(vals))
	for _, v := range vals {
		s.AppendEmpty().SetStr(v)
	}
}

// normalizeOutcome maps what senders say to ECS event.outcome.
func normalizeOutcome(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return "success"
		}
		return "failure"
	case pcommon.ValueTypeStr:
	default:
		return "unknown"
	}
	s := v.Str()
	switch {
	case s == "success" || s == "failure" || s == "unknown":
		return s
	case oneOf(s, "succeeded", "successful", "ok", "allowed", "allow", "granted", "true", "pass", "passed", "completed"):
		return "success"
	case oneOf(s, "failed", "fail", "error", "denied", "deny", "rejected", "forbidden", "unauthorized", "false", "blocked"):
		return "failure"
	}
	return "unknown"
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if strings.EqualFold(s, o) {
			return true
		}
	}
	return false
}

// pseudonym is HMAC-SHA256 over the lower-cased, trimmed address. A user
// acts many times: results are cached per scratch, up to maxPseudonyms.
func (p *auditProcessor) pseudonym(addr string, sc *scratch) string {
	if h, ok := sc.hashes[addr]; ok {
		return h
	}
	norm := strings.TrimSpace(addr)
	sc.norm = sc.norm[:0]
	for i := 0; i < len(norm); i++ {
		c := norm[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		sc.norm = append(sc.norm, c)
	}
	h := p.hmacPool.Get().(hash.Hash)
	h.Reset()
	h.Write(sc.norm)
	sc.sum = h.Sum(sc.sum[:0])
	p.hmacPool.Put(h)
	hex.Encode(sc.hex[:], sc.sum)
	out := string(sc.hex[:])
	if sc.hashes == nil || len(sc.hashes) >= maxPseudonyms {
		sc.hashes = make(map[string]string, 64)
	}
	// The key is cloned: the address may point into a whole request's bytes.
	sc.hashes[strings.Clone(addr)] = out
	return out
}

// maxPseudonyms bounds each scratch's cache (about 150 bytes an entry).
const maxPseudonyms = 2048

func (p *auditProcessor) maskValue(v pcommon.Value) int {
	if s := v.Str(); s != "" {
		if ms, k := p.masker.String(s); k > 0 {
			v.SetStr(ms)
			return k
		}
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s, k := p.masker.String(v.Str()); k > 0 {
			v.SetStr(s)
			return k
		}
	case pcommon.ValueTypeMap:
		return p.maskMap(v.Map(), false)
	case pcommon.ValueTypeSlice:
		s, total := v.Slice(), 0
		for i := 0; i < s.Len(); i++ {
			total += p.maskValue(s.At(i))
		}
		return total
	}
	return 0
}

// maskAddress masks the value of an address field (fields.Address): every
// string in it, at any depth, is an address and is masked up to its last
// '@' (masking.Masker.Address). Bytes are read as text and become a string.
func (p *auditProcessor) maskAddress(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s, k := p.masker.Address(v.Str()); k > 0 {
			v.SetStr(s)
			return k
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes().AsRaw(); len(b) > 0 {
			s, _ := p.masker.Address(string(b))
			v.SetStr(s)
			return 1
		}
	case pcommon.ValueTypeMap:
		return p.maskMap(v.Map(), true)
	case pcommon.ValueTypeSlice:
		s, total := v.Slice(), 0
		for i := 0; i < s.Len(); i++ {
			total += p.maskAddress(s.At(i))
		}
		return total
	}
	return 0
}

// maskScope masks the scope's name, version, schema URL and attributes.
func (p *auditProcessor) maskScope(sl plog.ScopeLogs) int {
	sc := sl.Scope()
	total := p.maskMap(sc.Attributes(), false)
	if s, c := p.masker.String(sc.Name()); c > 0 {
		sc.SetName(s)
		total += c
	}
	if s, c := p.masker.String(sc.Version()); c > 0 {
		sc.SetVersion(s)
		total += c
	}
	if s, c := p.masker.String(sl.SchemaUrl()); c > 0 {
		sl.SetSchemaUrl(s)
		total += c
	}
	return total
}

// maskMap masks m's values (as addresses when addr) and keys.
func (p *auditProcessor) maskMap(m pcommon.Map, addr bool) int {
	total, keys := 0, 0
	for k, v := range m.All() {
		if addr {
			total += p.maskAddress(v)
		} else {
			total += p.maskValue(v)
		}
		if masking.MayContain(k) {
			keys++
		}
	}
	if keys > 0 {
		total += p.maskKeys(m)
	}
	return total
}

// maskKeys renames keys that hold an address; rare, so it may allocate.
// A key with only a '%' costs a wasted pass, no more.
func (p *auditProcessor) maskKeys(m pcommon.Map) int {
	renames := map[string]string{}
	for k := range m.All() {
		if nk, n := p.masker.String(k); n > 0 {
			renames[k] = nk
		}
	}
	total := 0
	for _, old := range sortedKeys(renames) {
		nk := renames[old]
		// Two addresses can mask to the same key; keep both values.
		for i := 2; ; i++ {
			if _, clash := m.Get(nk); !clash {
				break
			}
			nk = fmt.Sprintf("%s#%d", renames[old], i)
		}
		nv := m.PutEmpty(nk)
		v, _ := m.Get(old) // after PutEmpty, which may move the map
		v.CopyTo(nv)
		m.Remove(old)
		total++
	}
	return total
}
