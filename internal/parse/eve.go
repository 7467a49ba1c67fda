package parse

import "math"

const eveTag = "suricata"

var fieldEventType = []byte("event_type")

// eve parses a Suricata EVE JSON record, which IDS-enabled gateways send
// under the suricata tag. An "alert" record becomes KindAlert: the
// signature, its category and severity, the alert's action, the flow id,
// the five-tuple, the application protocol and the TLS SNI or HTTP host
// and URL are typed; every other key is kept in Extra, those inside the
// alert, http and tls objects as "alert.rev", "http.http_user_agent" ...
// Any other event type (stats, flow, dns ...) reverts to kind "other", the
// raw line kept as for any neighbouring message.
func (p *Parser) eve(b []byte, ev *Event) {
	ev.Kind = KindAlert
	headerTime, headerSource := ev.EventTime, ev.TimeSource
	s := jsonScanner{buf: b, out: &ev.arena, pos: 1}
	alert := false
	defer func() {
		if ev.Kind == KindOther { // not an alert: dated like any neighbouring line
			ev.EventTime, ev.TimeSource = headerTime, headerSource
		}
	}()
	for first := true; ; first = false {
		key, v, state := s.member(first)
		if state == memberEnd {
			break
		}
		if state != memberOK {
			p.eveBroken(ev, alert, state)
			return
		}
		switch string(key) {
		case "event_type":
			alert = v.kind == '"' && string(v.b) == "alert"
		case "alert", "http", "tls":
			if v.kind != '{' || v.b[0] != '{' {
				ev.fail(StatusPartial, ReasonBadValue, key)
				continue
			}
			p.eveObject(key, v.b, ev)
		default:
			p.eveField(key, v, ev)
		}
	}
	if !alert {
		p.revertToOther(ev)
		return
	}
	if s.ws(); s.pos < len(s.buf) {
		ev.fail(StatusPartial, ReasonBadJSON, s.buf[s.pos:min(len(s.buf), s.pos+16)])
	}
	if ev.SignatureID == nil {
		ev.fail(StatusPartial, ReasonMissingField, fieldSignatureID)
	}
}

var fieldSignatureID = []byte("alert.signature_id")

// eveBroken ends a record that is cut short or malformed: an alert keeps
// what was read and is partial, anything else is "other".
func (p *Parser) eveBroken(ev *Event, alert bool, state memberState) {
	if !alert {
		p.revertToOther(ev)
		return
	}
	if state == memberTruncated {
		ev.fail(StatusPartial, ReasonTruncated, fieldJSONEnd)
	} else {
		ev.fail(StatusPartial, ReasonBadJSON, fieldEventType)
	}
}

func (p *Parser) eveField(k []byte, v jsonValue, ev *Event) {
	ok := true
	switch string(k) {
	case "timestamp":
		t, n, good := parseRFC3339(v.b)
		if ok = v.kind == '"' && good && n == len(v.b); ok {
			ev.EventTime, ev.TimeSource = t, TimeBody
		}
	case "flow_id":
		if ev.FlowID, ok = v.uint(math.MaxUint64); ok {
			ev.Has |= HasFlowID
		}
	case "src_ip":
		var t []byte
		if t, ok = v.text(); ok {
			ev.SrcIP, ok = parseIP(t)
		}
	case "dest_ip":
		var t []byte
		if t, ok = v.text(); ok {
			ev.DstIP, ok = parseIP(t)
		}
	case "src_port":
		var u uint64
		if u, ok = v.uint(math.MaxUint16); ok {
			ev.SrcPort, ev.Has = uint16(u), ev.Has|HasSrcPort
		}
	case "dest_port":
		var u uint64
		if u, ok = v.uint(math.MaxUint16); ok {
			ev.DstPort, ev.Has = uint16(u), ev.Has|HasDstPort
		}
	case "proto":
		ev.Proto, ok = v.text()
	case "app_proto":
		ev.AppProto, ok = v.text()
	default:
		ev.addExtra(k, v.b)
	}
	if !ok {
		ev.fail(StatusPartial, ReasonBadValue, k)
	}
}

// eveObject reads the alert, http or tls object of an EVE record.
func (p *Parser) eveObject(obj, b []byte, ev *Event) {
	s := jsonScanner{buf: b, out: &ev.arena, pos: 1}
	for first := true; ; first = false {
		key, v, state := s.member(first)
		if state == memberEnd {
			return
		}
		if state != memberOK {
			ev.fail(StatusPartial, ReasonBadJSON, obj)
			return
		}
		ok, known := true, true
		switch string(obj) + "." + string(key) {
		case "alert.signature_id":
			var t []byte
			if t, ok = v.text(); ok {
				_, ok = parseUint(t, math.MaxUint32)
				ev.SignatureID = t
			}
		case "alert.signature":
			ev.AlertSignature, ok = v.text()
		case "alert.category":
			ev.AlertCategory, ok = v.text()
		case "alert.severity":
			var u uint64
			if u, ok = v.uint(math.MaxUint8); ok {
				ev.AlertSeverity, ev.Has = uint8(u), ev.Has|HasAlertSeverity
			}
		case "alert.action":
			ev.ActionRaw, ok = v.text()
			ev.Action = normaliseAction(ev.ActionRaw)
		case "tls.sni":
			ev.SNI, ok = v.text()
		case "http.hostname":
			if ev.SNI == nil {
				ev.SNI, ok = v.text()
			}
			known = false // kept as well: the tls SNI may have taken its place
		case "http.url":
			ev.URL, ok = v.text()
		default:
			known = false
		}
		if !ok {
			ev.fail(StatusPartial, ReasonBadValue, key)
		}
		if !known {
			ev.addExtra(s.dotted(obj, key), v.b)
		}
	}
}

// memberState is what jsonScanner.member found.
type memberState uint8

const (
	memberOK        memberState = iota
	memberEnd                   // the closing brace
	memberTruncated             // the input ended inside the object
	memberBroken                // not JSON
)

// member reads the next "key": value of an object whose opening brace has
// been consumed; first says no member has been read yet.
func (s *jsonScanner) member(first bool) ([]byte, jsonValue, memberState) {
	s.ws()
	if s.pos >= len(s.buf) {
		return nil, jsonValue{}, memberTruncated
	}
	if s.buf[s.pos] == '}' {
		s.pos++
		return nil, jsonValue{}, memberEnd
	}
	if !first {
		if s.buf[s.pos] != ',' {
			return nil, jsonValue{}, memberBroken
		}
		s.pos++
		s.ws()
	}
	key, ok := s.str()
	if ok {
		s.ws()
		ok = s.pos < len(s.buf) && s.buf[s.pos] == ':'
	}
	var v jsonValue
	if ok {
		s.pos++
		s.ws()
		v, ok = s.value()
	}
	switch {
	case ok:
		return key, v, memberOK
	case s.pos >= len(s.buf):
		return nil, jsonValue{}, memberTruncated
	}
	return nil, jsonValue{}, memberBroken
}

// dotted writes "obj.key" into the scratch arena.
func (s *jsonScanner) dotted(obj, key []byte) []byte {
	from := len(*s.out)
	*s.out = append(*s.out, obj...)
	*s.out = append(*s.out, '.')
	*s.out = append(*s.out, key...)
	return (*s.out)[from:len(*s.out):len(*s.out)]
}
