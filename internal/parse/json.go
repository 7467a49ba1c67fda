package parse

import (
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// Timestamps are written in UTC with microseconds, a form ClickHouse's
// JSONEachRow and every JSON tool read.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// AppendJSON appends the event as one JSON object (no newline) whose keys are
// the audit store's column names. Absent optional fields are omitted. The raw
// line is always written; when it is not valid UTF-8 it is also written as
// raw_base64, so the exact bytes survive.
func (e *Event) AppendJSON(dst []byte) []byte {
	w := jsonWriter{b: append(dst, '{')}
	w.str("event_id", AppendUUID(w.scratch[:0], e.EventID))
	w.receipt(e)
	w.header(e)
	w.rule(e)
	w.flow(e)
	w.session(e)
	w.l7(e)
	w.fqdn(e)
	w.extraAndRaw(e)
	return append(w.b, '}')
}

// receipt: the times, where the event came in and how it parsed.
func (w *jsonWriter) receipt(e *Event) {
	w.time("received_at", e.ReceivedAt)
	w.time("event_time", e.EventTime)
	w.strs("time_source", e.TimeSource.String())
	w.strs("listener", e.Listener)
	w.strs("transport", e.Transport)
	if e.Peer.IsValid() {
		w.addr("peer_ip", e.Peer.Addr())
		w.uint("peer_port", uint64(e.Peer.Port()))
	}
	w.strs("kind", e.Kind.String())
	w.strs("parse_status", e.Status.String())
	if e.Reason != ReasonNone {
		w.str("parse_error", e.AppendError(w.scratch[:0]))
	}
	if e.Flags != 0 {
		w.key("flags")
		w.b = append(w.b, '[')
		first := true
		for i, name := range flagNames {
			if e.Flags&(1<<i) != 0 {
				if !first {
					w.b = append(w.b, ',')
				}
				first = false
				w.b = appendQuoted(w.b, name)
			}
		}
		w.b = append(w.b, ']')
	}
}

// header: the syslog envelope.
func (w *jsonWriter) header(e *Event) {
	w.strs("syslog_format", e.Format.String())
	if e.Has&HasPRI != 0 {
		w.uint("facility", uint64(e.Facility))
		w.uint("severity", uint64(e.Severity))
	}
	w.str("hostname", e.Hostname)
	w.str("gateway", e.Gateway)
	w.addr("gateway_ip", e.GatewayIP)
	w.str("app", e.App)
	w.str("proc_id", e.ProcID)
	w.str("msg_id", e.MsgID)
}

// rule: the DCF rule and what the catalog says of it.
func (w *jsonWriter) rule(e *Event) {
	if e.Has&HasRuleUUID != 0 {
		w.str("rule_uuid", AppendUUID(w.scratch[:0], e.RuleUUID))
	}
	if x := &e.Enriched; x.CatalogVersion != "" {
		w.strs("rule_name", x.RuleName)
		if x.RulePriority != 0 {
			w.uint("rule_priority", uint64(x.RulePriority))
		}
		w.strs("rule_action", x.RuleAction)
		w.strs("scenario", x.Scenario)
		w.list("rule_tags", x.Tags)
		w.list("src_groups", x.SrcGroups)
		w.strs("src_workload", x.SrcWorkload)
		w.list("dst_groups", x.DstGroups)
		w.strs("web_group", x.WebGroup)
		w.strs("admitting_web_group", x.AdmittingWebGroup)
		if x.WouldBeDenied {
			w.bool("would_be_denied", true)
		}
		w.strs("catalog_version", x.CatalogVersion)
	}
}

// flow: the decision and the packet's addresses, ports and TLS names.
func (w *jsonWriter) flow(e *Event) {
	if e.Has&HasDecryptedBy != 0 {
		w.str("decrypted_by", AppendUUID(w.scratch[:0], e.DecryptedBy))
	}
	switch e.Action {
	case ActionPermit:
		w.strs("action", "PERMIT")
	case ActionDeny:
		w.strs("action", "DENY")
	case ActionOther:
		w.str("action", e.ActionRaw)
	}
	w.str("action_raw", e.ActionRaw)
	if e.Has&HasEnforced != 0 {
		w.bool("enforced", e.Enforced)
	}
	w.str("proto", e.Proto)
	w.addr("src_ip", e.SrcIP)
	if e.Has&HasSrcPort != 0 {
		w.uint("src_port", uint64(e.SrcPort))
	}
	w.addr("dst_ip", e.DstIP)
	if e.Has&HasDstPort != 0 {
		w.uint("dst_port", uint64(e.DstPort))
	}
	w.str("src_mac", e.SrcMAC)
	w.str("dst_mac", e.DstMAC)
	if e.Has&HasIPSize != 0 {
		w.uint("ip_size", uint64(e.IPSize))
	}
	w.str("payload", e.Payload)
	w.str("sni", e.SNI)
	w.str("url", e.URL)
}

// session: the L4 session fields.
func (w *jsonWriter) session(e *Event) {
	if e.Has&HasSessionID != 0 {
		w.uint("session_id", e.SessionID)
	}
	w.str("session_uuid", e.SessionUUID)
	if e.Has&HasSessionEvent != 0 {
		w.uint("session_event", uint64(e.SessionEvent))
	}
	if e.Has&HasSessionEndReason != 0 {
		w.uint("session_end_reason", uint64(e.SessionEndReason))
	}
	if e.Has&HasSessionPkts != 0 {
		w.uint("session_pkts", e.SessionPkts)
	}
	if e.Has&HasSessionBytes != 0 {
		w.uint("session_bytes", e.SessionBytes)
	}
	if e.Has&HasSessionDuration != 0 {
		w.uint("session_duration", e.SessionDuration)
	}
	if e.Has&HasSessionStart != 0 {
		w.int("session_start_ns", e.SessionStart)
	}
	if e.Has&HasSessionTime != 0 {
		w.int("session_time_ns", e.SessionTime)
	}
	w.str("session_stage", e.SessionStage)
}

// l7: the L7 (TLS inspection, IDS) and Suricata fields.
func (w *jsonWriter) l7(e *Event) {
	w.str("l7_reason", e.L7Reason)
	w.str("l7_stage", e.L7Stage)
	if e.Has&HasIDS != 0 {
		w.bool("ids", e.IDS)
	}
	w.str("signature_id", e.SignatureID)
	w.str("l7_priority", e.L7Priority)
	w.str("l7_message", e.L7Message)
	if e.Has&HasRequestBytes != 0 {
		w.uint("request_bytes", e.RequestBytes)
	}
	if e.Has&HasResponseBytes != 0 {
		w.uint("response_bytes", e.ResponseBytes)
	}
	if e.Has&HasFlowID != 0 {
		w.uint("flow_id", e.FlowID)
	}
	w.str("app_proto", e.AppProto)
	w.str("alert_signature", e.AlertSignature)
	w.str("alert_category", e.AlertCategory)
	if e.Has&HasAlertSeverity != 0 {
		w.uint("alert_severity", uint64(e.AlertSeverity))
	}
}

// fqdn: the legacy FQDN filter's fields.
func (w *jsonWriter) fqdn(e *Event) {
	w.str("fqdn_gateway", e.FQDNGateway)
	w.str("fqdn_state", e.FQDNState)
	w.str("fqdn_drop_reason", e.FQDNDropReason)
	w.str("fqdn_rule", e.FQDNRule)
	if e.Has&HasRepeatCount != 0 {
		w.uint("repeat_count", uint64(e.RepeatCount))
	}
}

// extraAndRaw: fields no column holds, and the line as received.
func (w *jsonWriter) extraAndRaw(e *Event) {
	if len(e.Extra) > 0 {
		w.key("extra")
		w.b = append(w.b, '{')
		for i, f := range e.Extra {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendQuotedBytes(w.b, f.Key)
			w.b = append(w.b, ':')
			w.b = appendQuotedBytes(w.b, f.Value)
		}
		w.b = append(w.b, '}')
	}
	w.key("raw")
	w.b = appendQuotedBytes(w.b, e.Raw)
	if !utf8.Valid(e.Raw) {
		w.key("raw_base64")
		w.b = append(w.b, '"')
		w.b = base64.StdEncoding.AppendEncode(w.b, e.Raw)
		w.b = append(w.b, '"')
	}
}

type jsonWriter struct {
	b       []byte
	n       int
	scratch [96]byte
}

func (w *jsonWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) str(k string, v []byte) {
	if v == nil {
		return
	}
	w.key(k)
	w.b = appendQuotedBytes(w.b, v)
}

func (w *jsonWriter) strs(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendQuoted(w.b, v)
}

func (w *jsonWriter) list(k string, v []string) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendQuoted(w.b, s)
	}
	w.b = append(w.b, ']')
}

func (w *jsonWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) time(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, timeLayout)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) addr(k string, a netip.Addr) {
	if !a.IsValid() {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = a.AppendTo(w.b)
	w.b = append(w.b, '"')
}

func appendQuoted(dst []byte, s string) []byte {
	return appendQuotedBytes(dst, []byte(s))
}

// appendQuotedBytes writes a JSON string. Invalid UTF-8 becomes U+FFFD (the
// exact bytes of the raw line are preserved separately in raw_base64).
func appendQuotedBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time (most of a raw line).
		if i+8 <= len(s) {
			w := binary.LittleEndian.Uint64(s[i:])
			if jsonSpecial(w)|w&0x8080808080808080 == 0 {
				i += 8
				continue
			}
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
