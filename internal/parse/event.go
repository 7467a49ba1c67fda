// Package parse turns one raw syslog message from an Aviatrix gateway into a
// typed Event: the syslog envelope (RFC3164 as rsyslog forwards it, RFC5424,
// RFC3339 headers, the pre-7.0.1726 relay wrapper and the double header of a
// relay), the DCF bodies (L4 AviatrixGwMicrosegPacket key=value, L7
// traffic_server JSON, legacy AviatrixFQDNRule) and Suricata's EVE JSON IDS
// alerts. Anything else keeps its
// envelope and becomes kind "other"; anything that does not parse keeps its
// raw line and says why in ParseStatus and the parse error.
//
// The L4 and L7 paths allocate nothing: byte-slice fields point into the raw
// message (or into the event's own scratch arena for unescaped JSON strings),
// so an Event is valid only as long as the buffer it was parsed from.
package parse

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"
)

// Kind is the message family.
type Kind uint8

const (
	KindOther Kind = iota
	KindL4
	KindL7
	KindFQDN
	// KindAlert is a Suricata IDS alert (EVE JSON event_type "alert"): a
	// detection, not a policy decision; it names a signature, not a rule.
	KindAlert
)

var kindNames = [...]string{"other", "l4", "l7", "fqdn", "alert"}

// Kinds is the number of kinds, for tables indexed by Kind.
const Kinds = len(kindNames)

func (k Kind) String() string { return kindNames[k] }

// Status says how much of a message was understood.
type Status uint8

const (
	// StatusOK: envelope and body (if any DCF body) parsed completely.
	StatusOK Status = iota
	// StatusPartial: the family was recognised and fields were extracted, but
	// something was truncated, missing or malformed; ParseError says what.
	StatusPartial
	// StatusFailed: not even the syslog envelope parsed; only the raw line and
	// the receive metadata are known.
	StatusFailed
)

var statusNames = [...]string{"ok", "partial", "failed"}

func (s Status) String() string { return statusNames[s] }

// Format is the shape of the syslog header.
type Format uint8

const (
	FormatUnknown Format = iota
	FormatRFC3164        // <PRI>Mmm dd hh:mm:ss HOST TAG MSG (rsyslog forward format)
	FormatRFC5424        // <PRI>1 TS HOST APP PROCID MSGID SD MSG
	FormatRFC3339        // <PRI>TS HOST TAG MSG with an RFC3339 timestamp and no version
	FormatRelay          // pre-7.0.1726: HOST syslog <RFC3339> HOST prog[pid]: MSG
	FormatDouble         // relay header around a controller header
)

var formatNames = [...]string{"unknown", "rfc3164", "rfc5424", "rfc3339", "relay", "double"}

func (f Format) String() string { return formatNames[f] }

// TimeSource says where EventTime came from, most trusted first.
type TimeSource uint8

const (
	TimeReceived TimeSource = iota // no usable time in the message
	TimeHeader                     // the syslog header (year inferred for RFC3164)
	TimeBody                       // the L4 inner timestamp or the L7 JSON timestamp
)

var timeSourceNames = [...]string{"received", "header", "body"}

func (t TimeSource) String() string { return timeSourceNames[t] }

// Action is the decision, normalised across spellings (Permit, PERMIT,
// allow, DROP, Deny, ...). ActionOther keeps the value in ActionRaw.
type Action uint8

const (
	ActionNone Action = iota
	ActionPermit
	ActionDeny
	ActionOther
)

// Flag marks something notable about a message that is not an error.
type Flag uint8

const (
	// FlagUnverifiedHeader: an L4 body behind the "microseg:" tag, a header
	// only ever seen in a planning document, never in a capture.
	FlagUnverifiedHeader Flag = 1 << iota
	// FlagListenerTruncated: the listener cut the message at its size limit.
	FlagListenerTruncated
	// FlagRepeated: rsyslog's "message repeated N times: [...]" wrapper.
	FlagRepeated
	// FlagLegacyKeys: L4 keys in an older or alias spelling (SPT, ACTION,
	// SESSION_PACKET_COUNT ...).
	FlagLegacyKeys
)

var flagNames = [...]string{"unverified_header", "listener_truncated", "repeated", "legacy_keys"}

// Field is a key and value kept as sent, for keys this parser does not know
// (newer gateway versions): they are preserved, never rejected.
type Field struct {
	Key, Value []byte
}

// UUID is a rule, SmartGroup or WebGroup identifier as 16 bytes, and the
// layout of an event's id (see NewEventID).
type UUID [16]byte

// NewEventID is an event's id: the 8-byte origin it was accepted into (a
// spool's id, or for a Kafka writer the partition's id) followed by its
// position there (the spool sequence number or the Kafka offset), big
// endian, so ids of one origin sort in the order they were accepted and a
// sink can say how far it got with one position.
func NewEventID(origin [8]byte, seq uint64) UUID {
	var u UUID
	copy(u[:8], origin[:])
	binary.BigEndian.PutUint64(u[8:], seq)
	return u
}

// Origin is the first half of an id made by NewEventID.
func (u UUID) Origin() [8]byte { return [8]byte(u[:8]) }

// Seq is the position half of an id made by NewEventID.
func (u UUID) Seq() uint64 { return binary.BigEndian.Uint64(u[8:]) }

// Presence bits for optional scalar fields: absent is not the same as zero.
type Has uint32

const (
	HasPRI Has = 1 << iota
	HasEnforced
	HasSrcPort
	HasDstPort
	HasIPSize
	HasSessionID
	HasSessionEvent
	HasSessionEndReason
	HasSessionPkts
	HasSessionBytes
	HasSessionDuration
	HasSessionStart
	HasSessionTime
	HasIDS
	HasRequestBytes
	HasResponseBytes
	HasRuleUUID
	HasDecryptedBy
	HasRepeatCount
	HasFlowID
	HasAlertSeverity
)

const maxInlineExtra = 12

// Event is one normalised gateway message. JSON field names (see AppendJSON)
// are the audit store's column names.
type Event struct {
	// Receive metadata, set by the caller before Parse.
	EventID    UUID
	ReceivedAt time.Time
	Listener   string
	Transport  string
	Peer       netip.AddrPort

	// Envelope.
	Format     Format
	Facility   uint8
	Severity   uint8
	EventTime  time.Time
	TimeSource TimeSource
	Hostname   []byte
	Gateway    []byte
	GatewayIP  netip.Addr
	App        []byte
	ProcID     []byte
	MsgID      []byte

	Kind        Kind
	Status      Status
	Reason      Reason
	ErrField    []byte // the key or token a Reason refers to, if any
	Flags       Flag
	Has         Has
	RepeatCount uint32

	// Decision.
	RuleUUID    UUID
	DecryptedBy UUID
	Action      Action
	ActionRaw   []byte
	Enforced    bool

	// Five-tuple and packet.
	Proto   []byte
	SrcIP   netip.Addr
	DstIP   netip.Addr
	SrcPort uint16
	DstPort uint16
	SrcMAC  []byte
	DstMAC  []byte
	IPSize  uint32
	Payload []byte

	// L7 / FQDN destination names.
	SNI []byte
	URL []byte

	// Session.
	SessionID        uint64
	SessionUUID      []byte
	SessionEvent     uint8
	SessionEndReason uint8
	SessionPkts      uint64
	SessionBytes     uint64
	SessionDuration  uint64
	SessionStart     int64 // epoch nanoseconds (L7)
	SessionTime      int64 // nanoseconds since SessionStart (L7)
	SessionStage     []byte

	// L7 detail.
	L7Reason      []byte
	L7Stage       []byte
	IDS           bool
	SignatureID   []byte
	L7Priority    []byte
	L7Message     []byte
	RequestBytes  uint64
	ResponseBytes uint64

	// IDS alert (SignatureID, Action, the five-tuple, SNI and URL are shared
	// with the DCF kinds: an L7 IDS verdict's sid is the alert's signature id).
	FlowID         uint64
	AppProto       []byte
	AlertSignature []byte
	AlertCategory  []byte
	AlertSeverity  uint8 // 1 high ... 3 low

	// Legacy FQDN filter.
	FQDNGateway    []byte
	FQDNState      []byte
	FQDNDropReason []byte
	FQDNRule       []byte

	// Enriched is filled from the policy catalog after parsing.
	Enriched Enrichment

	// Extra holds keys this parser does not know, in wire order.
	Extra []Field
	// Raw is the message as received, trailing CR/LF/NUL included.
	Raw []byte

	extraInline [maxInlineExtra]Field
	arena       []byte
	memoBuf     *memo
}

// reset clears everything Parse fills, keeping the receive metadata and the
// scratch memory for reuse.
func (e *Event) reset() {
	keep := struct {
		id   UUID
		rx   time.Time
		l, t string
		peer netip.AddrPort
	}{e.EventID, e.ReceivedAt, e.Listener, e.Transport, e.Peer}
	arena, m := e.arena[:0], e.memoBuf
	*e = Event{}
	e.memoBuf = m
	e.EventID, e.ReceivedAt, e.Listener, e.Transport, e.Peer = keep.id, keep.rx, keep.l, keep.t, keep.peer
	e.arena = arena
	e.Extra = e.extraInline[:0]
}

// Clone returns a deep copy that owns its memory, for callers that must keep
// an event beyond the life of the buffer it was parsed from.
func (e *Event) Clone() *Event {
	c := new(Event)
	*c = *e
	c.arena, c.memoBuf = nil, nil
	c.Extra = nil
	raw := append([]byte(nil), e.Raw...)
	c.Raw = raw
	rebase := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		if off, ok := offsetIn(e.Raw, b); ok {
			return raw[off : off+len(b) : off+len(b)]
		}
		return append([]byte(nil), b...)
	}
	for _, p := range []*[]byte{&c.Hostname, &c.Gateway, &c.App, &c.ProcID, &c.MsgID, &c.ErrField,
		&c.ActionRaw, &c.Proto, &c.SrcMAC, &c.DstMAC, &c.Payload, &c.SNI, &c.URL, &c.SessionUUID,
		&c.SessionStage, &c.L7Reason, &c.L7Stage, &c.SignatureID, &c.L7Priority, &c.L7Message,
		&c.FQDNGateway, &c.FQDNState, &c.FQDNDropReason, &c.FQDNRule,
		&c.AppProto, &c.AlertSignature, &c.AlertCategory} {
		*p = rebase(*p)
	}
	for _, f := range e.Extra {
		c.Extra = append(c.Extra, Field{Key: rebase(f.Key), Value: rebase(f.Value)})
	}
	return c
}

// offsetIn reports where sub starts inside buf, if sub is a sub-slice of it.
func offsetIn(buf, sub []byte) (int, bool) {
	if len(sub) == 0 || len(buf) == 0 {
		return 0, false
	}
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
	if off < 0 || off+len(sub) > len(buf) {
		return 0, false
	}
	return off, true
}

// addExtra keeps an unknown key; past the inline capacity it allocates,
// which only very unusual lines reach.
func (e *Event) addExtra(k, v []byte) {
	e.Extra = append(e.Extra, Field{Key: k, Value: v})
}

// fail records the first problem found and lowers the status accordingly.
func (e *Event) fail(s Status, r Reason, field []byte) {
	if s > e.Status {
		e.Status = s
	}
	if e.Reason == ReasonNone {
		e.Reason, e.ErrField = r, field
	}
}

// AppendNames appends the names of the set flags, in a fixed order.
func (f Flag) AppendNames(dst []string) []string {
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			dst = append(dst, name)
		}
	}
	return dst
}

// Enrichment is what the policy catalog says about an event. Its strings
// and slices belong to the immutable catalog that produced them: they stay
// valid after a reload and must not be modified.
type Enrichment struct {
	CatalogVersion string
	RuleName       string // empty when the rule UUID is unknown
	RulePriority   uint32
	RuleAction     string // the action the catalog declares for the rule
	Scenario       string
	Tags           []string // OWASP LLM Top 10 and MITRE ATLAS ids
	SrcGroups      []string // SmartGroups holding the source, most specific first
	// SrcWorkload is the Kubernetes workload a source SmartGroup selects
	// ("k8s:CLUSTER/NAMESPACE[/pod/NAME|/service/NAME]").
	SrcWorkload string
	DstGroups   []string
	WebGroup    string // the WebGroup the SNI matched, preferring the rule's own
	// AdmittingWebGroup is, for a denied name, a WebGroup an allow rule
	// uses that matches it: the allow-list that would have admitted it.
	AdmittingWebGroup string
	// WouldBeDenied marks a DENY decision logged in monitor mode.
	WouldBeDenied bool
}
