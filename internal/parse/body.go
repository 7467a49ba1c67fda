package parse

import "math"

const l4Keyword = "AviatrixGwMicrosegPacket:" // matched case-insensitively

// body classifies the message by keyword, not by tag (tags get truncated and
// wrapped), and parses the DCF families.
func (p *Parser) body(msg []byte, ev *Event) {
	rest := msg
	innerTime, n, hasInner := p.parseInnerStamp(rest)
	if hasInner {
		rest = skipSpaces(rest[n:])
	}
	switch {
	case hasPrefixFold(rest, l4Keyword):
		ev.Kind = KindL4
		if hasInner {
			ev.EventTime, ev.TimeSource = innerTime, TimeBody
		}
		p.l4(skipSpaces(rest[len(l4Keyword):]), ev)
	case string(ev.App) == "microseg" && hasPrefix(rest, "POLICY="):
		ev.Kind = KindL4
		ev.Flags |= FlagUnverifiedHeader
		p.l4(rest, ev)
	case len(rest) > 0 && rest[0] == '{':
		p.l7(rest, ev)
	case hasPrefix(rest, "AviatrixFQDNRule"), hasPrefix(rest, "message repeated "):
		p.fqdn(rest, ev)
	}
}

// l4 parses the space-separated KEY=VALUE list of an AviatrixGwMicrosegPacket.
func (p *Parser) l4(b []byte, ev *Event) {
	for len(b) > 0 {
		var tok []byte
		tok, b = token(b)
		b = skipSpaces(b)
		if len(tok) == 0 {
			continue
		}
		eq := -1
		for i, c := range tok {
			if c == '=' {
				eq = i
				break
			}
		}
		if eq <= 0 {
			if len(b) == 0 {
				ev.fail(StatusPartial, ReasonTruncated, tok)
			} else {
				ev.fail(StatusPartial, ReasonBadToken, tok)
			}
			continue
		}
		p.l4Field(tok[:eq], tok[eq+1:], ev)
	}
	if ev.Has&HasRuleUUID == 0 && !ev.SrcIP.IsValid() {
		ev.fail(StatusPartial, ReasonMissingField, fieldPOLICY)
	}
}

func (p *Parser) l4Field(k, v []byte, ev *Event) {
	ok := true
	var u uint64
	switch string(k) {
	case "POLICY":
		ev.RuleUUID, ok = parseUUID(v)
		if ok {
			ev.Has |= HasRuleUUID
		}
	case "SRC_MAC":
		ev.SrcMAC = v
	case "DST_MAC":
		ev.DstMAC = v
	case "IP_SZ":
		if u, ok = parseUint(v, math.MaxUint32); ok {
			ev.IPSize, ev.Has = uint32(u), ev.Has|HasIPSize
		}
	case "SRC_IP":
		ev.SrcIP, ok = parseIP(v)
	case "DST_IP":
		ev.DstIP, ok = parseIP(v)
	case "PROTO":
		ev.Proto = v
	case "SPT", "SRC_PORT":
		if u, ok = parseUint(v, math.MaxUint16); ok {
			ev.SrcPort, ev.Has = uint16(u), ev.Has|HasSrcPort
		}
		p.noteAlias(k, "SPT", ev)
	case "DPT", "DST_PORT":
		if u, ok = parseUint(v, math.MaxUint16); ok {
			ev.DstPort, ev.Has = uint16(u), ev.Has|HasDstPort
		}
		p.noteAlias(k, "DPT", ev)
	case "DATA":
		ev.Payload = v
	case "ACT", "ACTION":
		ev.ActionRaw = v
		ev.Action = normaliseAction(v)
		p.noteAlias(k, "ACTION", ev)
	case "ENFORCED":
		if ev.Enforced, ok = parseBool(v); ok {
			ev.Has |= HasEnforced
		}
	case "SESSION_ID":
		if ev.SessionID, ok = parseUint(v, math.MaxUint64); ok {
			ev.Has |= HasSessionID
		}
	case "SESSION_EVENT":
		if u, ok = parseUint(v, math.MaxUint8); ok {
			ev.SessionEvent, ev.Has = uint8(u), ev.Has|HasSessionEvent
		}
	case "SESSION_END_REASON":
		if u, ok = parseUint(v, math.MaxUint8); ok {
			ev.SessionEndReason, ev.Has = uint8(u), ev.Has|HasSessionEndReason
		}
	case "SESSION_PKT_CNT", "SESSION_PACKET_COUNT":
		if ev.SessionPkts, ok = parseUint(v, math.MaxUint64); ok {
			ev.Has |= HasSessionPkts
		}
		p.noteAlias(k, "SESSION_PACKET_COUNT", ev)
	case "SESSION_BYTE_CNT", "SESSION_BYTE_COUNT":
		if ev.SessionBytes, ok = parseUint(v, math.MaxUint64); ok {
			ev.Has |= HasSessionBytes
		}
		p.noteAlias(k, "SESSION_BYTE_COUNT", ev)
	case "SESSION_DUR", "SESSION_DURATION":
		if ev.SessionDuration, ok = parseUint(v, math.MaxUint64); ok {
			ev.Has |= HasSessionDuration
		}
		p.noteAlias(k, "SESSION_DURATION", ev)
	default:
		ev.addExtra(k, v)
	}
	if !ok {
		ev.fail(StatusPartial, ReasonBadValue, k)
	}
}

func (p *Parser) noteAlias(k []byte, alias string, ev *Event) {
	if string(k) == alias {
		ev.Flags |= FlagLegacyKeys
	}
}

// fqdn parses the legacy egress FQDN filter line, unwrapping rsyslog's
// "message repeated N times: [ ... ]".
func (p *Parser) fqdn(b []byte, ev *Event) {
	if hasPrefix(b, "message repeated ") {
		r := b[len("message repeated "):]
		num, r := token(r)
		n, ok := parseUint(num, math.MaxUint32)
		if !ok || !hasPrefix(r, " times: [") {
			return // some other repeated message: stays "other"
		}
		r = skipSpaces(r[len(" times: ["):])
		if !hasPrefix(r, "AviatrixFQDNRule") {
			return
		}
		ev.RepeatCount = uint32(n)
		ev.Has |= HasRepeatCount
		ev.Flags |= FlagRepeated
		if len(r) > 0 && r[len(r)-1] == ']' {
			r = r[:len(r)-1]
		} else {
			ev.fail(StatusPartial, ReasonTruncated, fieldRepeated)
		}
		b = r
	}
	ev.Kind = KindFQDN
	// Skip "AviatrixFQDNRule<N>[CRIT]func() L#n": the key=value list follows.
	for len(b) > 0 {
		var tok []byte
		tok, b = fqdnToken(b)
		eq := -1
		for i, c := range tok {
			if c == '=' {
				eq = i
				break
			}
		}
		if eq <= 0 {
			continue
		}
		k, v := tok[:eq], tok[eq+1:]
		ok := true
		switch string(k) {
		case "Gateway":
			ev.FQDNGateway = v
			if ev.Gateway == nil {
				ev.Gateway = v
			}
		case "S_IP":
			ev.SrcIP, ok = parseIP(v)
		case "D_IP":
			ev.DstIP, ok = parseIP(v)
		case "hostname":
			ev.SNI = v
		case "state":
			ev.FQDNState = v
		case "drop_reason":
			ev.FQDNDropReason = v
		case "Rule":
			ev.FQDNRule = v
		default:
			ev.addExtra(k, v)
		}
		if !ok {
			ev.fail(StatusPartial, ReasonBadValue, k)
		}
	}
	switch {
	case ev.FQDNState == nil:
		ev.fail(StatusPartial, ReasonMissingField, fieldState)
	case ev.FQDNDropReason != nil || string(ev.FQDNState) == "NO_MATCH":
		ev.Action = ActionDeny
	case string(ev.FQDNState) == "MATCHED":
		ev.Action = ActionPermit
	}
	ev.ActionRaw = ev.FQDNState
}

// fqdnToken splits on runs of spaces, tabs and rsyslog's "#011" TAB escape.
func fqdnToken(b []byte) (tok, rest []byte) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for i := 0; i < len(b); i++ {
		if b[i] == ' ' || b[i] == '\t' {
			return b[:i], b[i:]
		}
		if b[i] == '#' && i+3 < len(b) && b[i+1] == '0' && b[i+2] == '1' && b[i+3] == '1' {
			return b[:i], b[i+4:]
		}
	}
	return b, nil
}
