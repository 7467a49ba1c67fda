package clickhouse

import (
	"net/netip"
	"time"
	"unsafe"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// colKind is the Go shape a column's values take, as clickhouse-go accepts
// them for the column's type: []string for String and LowCardinality,
// [][]byte of 16 bytes for FixedString(16) and IPv6, []time.Time for
// DateTime64, []*uint8 for Nullable(UInt8).
type colKind uint8

const (
	kString colKind = iota
	kBytes16
	kU8
	kU16
	kU32
	kU64
	kI64
	kTime
	kNullU8
	kStrings
)

// colData holds one column of a batch.
type colData struct {
	name string
	kind colKind
	str  []string
	b16  [][]byte
	u8   []uint8
	u16  []uint16
	u32  []uint32
	u64  []uint64
	i64  []int64
	t    []time.Time
	nu8  []*uint8
	strs [][]string
}

func (c *colData) values() any {
	switch c.kind {
	case kString:
		return c.str
	case kBytes16:
		return c.b16
	case kU8:
		return c.u8
	case kU16:
		return c.u16
	case kU32:
		return c.u32
	case kU64:
		return c.u64
	case kI64:
		return c.i64
	case kTime:
		return c.t
	case kNullU8:
		return c.nu8
	default:
		return c.strs
	}
}

// arena copies the bytes a batch keeps out of the pooled receive buffers.
// Chunks never move, so the strings handed out stay valid until the batch
// is dropped.
type arena struct{ cur []byte }

const arenaChunk = 1 << 20

func (a *arena) bytes(b []byte) []byte {
	if cap(a.cur)-len(a.cur) < len(b) {
		a.cur = make([]byte, 0, max(arenaChunk, len(b)))
	}
	start := len(a.cur)
	a.cur = append(a.cur, b...)
	return a.cur[start:len(a.cur):len(a.cur)]
}

func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	c := a.bytes(b)
	return unsafe.String(unsafe.SliceData(c), len(c))
}

func (a *arena) ip(addr netip.Addr) []byte {
	v := addr.As16() // the zero Addr gives ::, which reads back as "no address"
	if !addr.IsValid() {
		return zero16
	}
	return a.bytes(v[:])
}

var zero16 = make([]byte, 16)

// field fills one column from an event.
type field struct {
	name string
	kind colKind
	put  func(c *colData, e *parse.Event, a *arena)
}

func strField(name string, f func(*parse.Event) []byte) field {
	return field{name, kString, func(c *colData, e *parse.Event, a *arena) { c.str = append(c.str, a.str(f(e))) }}
}

// constField is for values from a small fixed set: no copy.
func constField(name string, f func(*parse.Event) string) field {
	return field{name, kString, func(c *colData, e *parse.Event, _ *arena) { c.str = append(c.str, f(e)) }}
}

func ipField(name string, f func(*parse.Event) netip.Addr) field {
	return field{name, kBytes16, func(c *colData, e *parse.Event, a *arena) { c.b16 = append(c.b16, a.ip(f(e))) }}
}

func u8Field(name string, f func(*parse.Event) uint8) field {
	return field{name, kU8, func(c *colData, e *parse.Event, _ *arena) { c.u8 = append(c.u8, f(e)) }}
}

func u16Field(name string, f func(*parse.Event) uint16) field {
	return field{name, kU16, func(c *colData, e *parse.Event, _ *arena) { c.u16 = append(c.u16, f(e)) }}
}

func u32Field(name string, f func(*parse.Event) uint32) field {
	return field{name, kU32, func(c *colData, e *parse.Event, _ *arena) { c.u32 = append(c.u32, f(e)) }}
}

func u64Field(name string, f func(*parse.Event) uint64) field {
	return field{name, kU64, func(c *colData, e *parse.Event, _ *arena) { c.u64 = append(c.u64, f(e)) }}
}

func i64Field(name string, f func(*parse.Event) int64) field {
	return field{name, kI64, func(c *colData, e *parse.Event, _ *arena) { c.i64 = append(c.i64, f(e)) }}
}

// timeField fills a DateTime64(3).
func timeField(name string, f func(*parse.Event) time.Time) field {
	return field{name, kTime, func(c *colData, e *parse.Event, _ *arena) { c.t = append(c.t, f(e).UTC()) }}
}

func idField(name string, f func(*parse.Event) *parse.UUID) field {
	return field{name, kBytes16, func(c *colData, e *parse.Event, a *arena) { c.b16 = append(c.b16, a.bytes(f(e)[:])) }}
}

var (
	u8Zero, u8One = uint8(0), uint8(1)
)

func receivedAt(e *parse.Event) time.Time { return e.ReceivedAt }
func eventTime(e *parse.Event) time.Time  { return e.EventTime }

// batchIDField is filled when the batch is sealed; rows get a placeholder.
var batchIDField = field{"batch_id", kBytes16, func(c *colData, _ *parse.Event, _ *arena) { c.b16 = append(c.b16, zero16) }}

var flagsField = field{"flags", kStrings, func(c *colData, e *parse.Event, _ *arena) {
	if e.Flags == 0 {
		c.strs = append(c.strs, nil)
		return
	}
	c.strs = append(c.strs, e.Flags.AppendNames(nil))
}}

// catalogStrings fills an array column from the catalog's immutable
// slices: no copy.
func catalogStrings(name string, f func(*parse.Event) []string) field {
	return field{name, kStrings, func(c *colData, e *parse.Event, _ *arena) { c.strs = append(c.strs, f(e)) }}
}

func extraField(name string, value bool) field {
	return field{name, kStrings, func(c *colData, e *parse.Event, a *arena) {
		if len(e.Extra) == 0 {
			c.strs = append(c.strs, nil)
			return
		}
		out := make([]string, len(e.Extra))
		for i, f := range e.Extra {
			if value {
				out[i] = a.str(f.Value)
			} else {
				out[i] = a.str(f.Key)
			}
		}
		c.strs = append(c.strs, out)
	}}
}

func actionName(e *parse.Event) []byte {
	switch e.Action {
	case parse.ActionPermit:
		return permit
	case parse.ActionDeny:
		return deny
	}
	return e.ActionRaw
}

var permit, deny = []byte("PERMIT"), []byte("DENY")

// eventFields fills dcf_events; the names match eventColumns.
var eventFields = []field{
	idField("event_id", func(e *parse.Event) *parse.UUID { return &e.EventID }),
	batchIDField,
	timeField("received_at", receivedAt),
	timeField("event_time", eventTime),
	constField("time_source", func(e *parse.Event) string { return e.TimeSource.String() }),
	constField("listener", func(e *parse.Event) string { return e.Listener }),
	constField("transport", func(e *parse.Event) string { return e.Transport }),
	ipField("peer_ip", func(e *parse.Event) netip.Addr { return e.Peer.Addr() }),
	u16Field("peer_port", func(e *parse.Event) uint16 { return e.Peer.Port() }),
	constField("kind", func(e *parse.Event) string { return e.Kind.String() }),
	constField("parse_status", func(e *parse.Event) string { return e.Status.String() }),
	parseErrorField,
	flagsField,
	constField("syslog_format", func(e *parse.Event) string { return e.Format.String() }),
	u8Field("facility", func(e *parse.Event) uint8 { return e.Facility }),
	u8Field("severity", func(e *parse.Event) uint8 { return e.Severity }),
	strField("hostname", func(e *parse.Event) []byte { return e.Hostname }),
	strField("gateway", func(e *parse.Event) []byte { return e.Gateway }),
	ipField("gateway_ip", func(e *parse.Event) netip.Addr { return e.GatewayIP }),
	strField("app", func(e *parse.Event) []byte { return e.App }),
	strField("proc_id", func(e *parse.Event) []byte { return e.ProcID }),
	strField("msg_id", func(e *parse.Event) []byte { return e.MsgID }),
	uuidTextField("rule_uuid", parse.HasRuleUUID, func(e *parse.Event) *parse.UUID { return &e.RuleUUID }),
	constField("rule_name", func(e *parse.Event) string { return e.Enriched.RuleName }),
	u32Field("rule_priority", func(e *parse.Event) uint32 { return e.Enriched.RulePriority }),
	constField("scenario", func(e *parse.Event) string { return e.Enriched.Scenario }),
	catalogStrings("src_groups", func(e *parse.Event) []string { return e.Enriched.SrcGroups }),
	catalogStrings("dst_groups", func(e *parse.Event) []string { return e.Enriched.DstGroups }),
	constField("web_group", func(e *parse.Event) string { return e.Enriched.WebGroup }),
	uuidTextField("decrypted_by", parse.HasDecryptedBy, func(e *parse.Event) *parse.UUID { return &e.DecryptedBy }),
	strField("action", actionName),
	strField("action_raw", func(e *parse.Event) []byte { return e.ActionRaw }),
	field{"enforced", kNullU8, func(c *colData, e *parse.Event, _ *arena) {
		switch {
		case e.Has&parse.HasEnforced == 0:
			c.nu8 = append(c.nu8, nil)
		case e.Enforced:
			c.nu8 = append(c.nu8, &u8One)
		default:
			c.nu8 = append(c.nu8, &u8Zero)
		}
	}},
	strField("proto", func(e *parse.Event) []byte { return e.Proto }),
	ipField("src_ip", func(e *parse.Event) netip.Addr { return e.SrcIP }),
	u16Field("src_port", func(e *parse.Event) uint16 { return e.SrcPort }),
	ipField("dst_ip", func(e *parse.Event) netip.Addr { return e.DstIP }),
	u16Field("dst_port", func(e *parse.Event) uint16 { return e.DstPort }),
	strField("src_mac", func(e *parse.Event) []byte { return e.SrcMAC }),
	strField("dst_mac", func(e *parse.Event) []byte { return e.DstMAC }),
	u32Field("ip_size", func(e *parse.Event) uint32 { return e.IPSize }),
	strField("payload", func(e *parse.Event) []byte { return e.Payload }),
	strField("sni", func(e *parse.Event) []byte { return e.SNI }),
	strField("url", func(e *parse.Event) []byte { return e.URL }),
	u64Field("session_id", func(e *parse.Event) uint64 { return e.SessionID }),
	strField("session_uuid", func(e *parse.Event) []byte { return e.SessionUUID }),
	u8Field("session_event", func(e *parse.Event) uint8 { return e.SessionEvent }),
	u8Field("session_end_reason", func(e *parse.Event) uint8 { return e.SessionEndReason }),
	u64Field("session_pkts", func(e *parse.Event) uint64 { return e.SessionPkts }),
	u64Field("session_bytes", func(e *parse.Event) uint64 { return e.SessionBytes }),
	u64Field("session_duration", func(e *parse.Event) uint64 { return e.SessionDuration }),
	i64Field("session_start_ns", func(e *parse.Event) int64 { return e.SessionStart }),
	i64Field("session_time_ns", func(e *parse.Event) int64 { return e.SessionTime }),
	strField("session_stage", func(e *parse.Event) []byte { return e.SessionStage }),
	strField("l7_reason", func(e *parse.Event) []byte { return e.L7Reason }),
	strField("l7_stage", func(e *parse.Event) []byte { return e.L7Stage }),
	u8Field("ids", func(e *parse.Event) uint8 {
		if e.IDS {
			return 1
		}
		return 0
	}),
	strField("signature_id", func(e *parse.Event) []byte { return e.SignatureID }),
	strField("l7_priority", func(e *parse.Event) []byte { return e.L7Priority }),
	strField("l7_message", func(e *parse.Event) []byte { return e.L7Message }),
	u64Field("request_bytes", func(e *parse.Event) uint64 { return e.RequestBytes }),
	u64Field("response_bytes", func(e *parse.Event) uint64 { return e.ResponseBytes }),
	strField("fqdn_gateway", func(e *parse.Event) []byte { return e.FQDNGateway }),
	strField("fqdn_state", func(e *parse.Event) []byte { return e.FQDNState }),
	strField("fqdn_drop_reason", func(e *parse.Event) []byte { return e.FQDNDropReason }),
	strField("fqdn_rule", func(e *parse.Event) []byte { return e.FQDNRule }),
	u32Field("repeat_count", func(e *parse.Event) uint32 { return e.RepeatCount }),
	extraField("extra_keys", false),
	extraField("extra_values", true),
	strField("raw", func(e *parse.Event) []byte { return e.Raw }),
	constField("rule_action", func(e *parse.Event) string { return e.Enriched.RuleAction }),
	catalogStrings("rule_tags", func(e *parse.Event) []string { return e.Enriched.Tags }),
	constField("admitting_web_group", func(e *parse.Event) string { return e.Enriched.AdmittingWebGroup }),
	u8Field("would_be_denied", func(e *parse.Event) uint8 {
		if e.Enriched.WouldBeDenied {
			return 1
		}
		return 0
	}),
	constField("catalog_version", func(e *parse.Event) string { return e.Enriched.CatalogVersion }),
}

var parseErrorField = field{"parse_error", kString, func(c *colData, e *parse.Event, a *arena) {
	if e.Reason == parse.ReasonNone {
		c.str = append(c.str, "")
		return
	}
	var buf [256]byte
	c.str = append(c.str, a.str(e.AppendError(buf[:0])))
}}

func uuidTextField(name string, has parse.Has, f func(*parse.Event) *parse.UUID) field {
	return field{name, kString, func(c *colData, e *parse.Event, a *arena) {
		if e.Has&has == 0 {
			c.str = append(c.str, "")
			return
		}
		var buf [36]byte
		c.str = append(c.str, a.str(parse.AppendUUID(buf[:0], *f(e))))
	}}
}

// unparsedFields fills raw_unparsed; the names match unparsedColumns.
var unparsedFields = []field{
	idField("event_id", func(e *parse.Event) *parse.UUID { return &e.EventID }),
	batchIDField,
	timeField("received_at", receivedAt),
	constField("listener", func(e *parse.Event) string { return e.Listener }),
	constField("transport", func(e *parse.Event) string { return e.Transport }),
	ipField("peer_ip", func(e *parse.Event) netip.Addr { return e.Peer.Addr() }),
	u16Field("peer_port", func(e *parse.Event) uint16 { return e.Peer.Port() }),
	constField("parse_status", func(e *parse.Event) string { return e.Status.String() }),
	parseErrorField,
	flagsField,
	strField("hostname", func(e *parse.Event) []byte { return e.Hostname }),
	strField("raw", func(e *parse.Event) []byte { return e.Raw }),
}

// table is the columns of one table in a batch, ready to append.
type table struct {
	name   string
	fields []field
	cols   []colData
	rows   int
}

// reserve sizes the column slices for n rows, so that filling a large batch
// does not copy them over and over as they grow.
func (c *colData) reserve(n int) {
	switch c.kind {
	case kString:
		c.str = make([]string, 0, n)
	case kBytes16:
		c.b16 = make([][]byte, 0, n)
	case kU8:
		c.u8 = make([]uint8, 0, n)
	case kU16:
		c.u16 = make([]uint16, 0, n)
	case kU32:
		c.u32 = make([]uint32, 0, n)
	case kU64:
		c.u64 = make([]uint64, 0, n)
	case kI64:
		c.i64 = make([]int64, 0, n)
	case kTime:
		c.t = make([]time.Time, 0, n)
	case kNullU8:
		c.nu8 = make([]*uint8, 0, n)
	default:
		c.strs = make([][]string, 0, n)
	}
}

func newTable(name string, fields []field, schema []column, rows int) *table {
	t := &table{name: name}
	want := map[string]bool{}
	for _, n := range insertColumns(schema) {
		want[n] = true
	}
	for _, f := range fields {
		if want[f.name] {
			t.fields = append(t.fields, f)
			c := colData{name: f.name, kind: f.kind}
			c.reserve(rows)
			t.cols = append(t.cols, c)
		}
	}
	return t
}

func (t *table) add(e *parse.Event, a *arena) {
	for i := range t.fields {
		t.fields[i].put(&t.cols[i], e, a)
	}
	t.rows++
}

func (t *table) column(name string) *colData {
	for i := range t.cols {
		if t.cols[i].name == name {
			return &t.cols[i]
		}
	}
	return nil
}

func (t *table) columnNames() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}
