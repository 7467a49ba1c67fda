package parse

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
)

const (
	l4Keyword     = "AviatrixGwMicrosegPacket" // matched case-insensitively
	fqdnKeyword   = "AviatrixFQDNRule"         // followed by a queue number
	l7Tag         = "traffic_server"
	repeatedIntro = "message repeated "
)

// body classifies the message by keyword, not by tag (tags get truncated and
// wrapped), and parses the DCF families. The keyword is looked for at the
// start of the message (behind the L4 inner timestamp) and, where a header
// parser took it for the tag, in the RFC 3164 tag or the RFC 5424 APP-NAME
// or MSGID: "AviatrixFQDNRule1[CRIT]func() ..." reads as tag
// "AviatrixFQDNRule1", pid "CRIT" and a message that no longer starts with
// the keyword, and "AviatrixGwMicrosegPacket: POLICY=..." after the
// hostname reads as a tag too.
func (p *Parser) body(msg []byte, ev *Event) {
	rest := msg
	innerTime, n, hasInner := p.parseInnerStamp(rest, ev.memo())
	if hasInner {
		rest = skipSpaces(rest[n:])
	}
	if after, ok := l4Intro(rest); ok {
		ev.Kind = KindL4
		if hasInner {
			ev.EventTime, ev.TimeSource = innerTime, TimeBody
		}
		p.l4(after, ev)
		return
	}
	switch {
	case string(ev.App) == "microseg" && hasPrefix(rest, "POLICY="):
		ev.Kind = KindL4
		ev.Flags |= FlagUnverifiedHeader
		p.l4(rest, ev)
	case len(rest) > 0 && rest[0] == '{' && (ev.taggedAs(eveTag) || !ev.taggedAs(l7Tag) && contains(rest, `"event_type"`)):
		p.eve(rest, ev)
	case len(rest) > 0 && rest[0] == '{':
		p.l7(rest, ev, ev.taggedAs(l7Tag))
	case hasPrefix(rest, fqdnKeyword), hasPrefix(rest, repeatedIntro):
		p.fqdn(rest, ev)
	case hasPrefix(rest, l7Tag):
		// A relay's own tag in front of the gateway's "traffic_server[pid]:".
		if json := skipTag(rest); len(json) > 0 && json[0] == '{' {
			p.l7(json, ev, true)
		}
	case hasPrefix(rest, eveTag):
		if json := skipTag(rest); len(json) > 0 && json[0] == '{' {
			p.eve(json, ev)
		}
	case ev.taggedAs(l4Keyword):
		ev.Kind = KindL4
		if hasInner {
			ev.EventTime, ev.TimeSource = innerTime, TimeBody
		}
		p.l4(rest, ev)
	case isFQDNKeyword(ev.App) || isFQDNKeyword(ev.MsgID):
		p.fqdn(rest, ev)
	}
}

// l4Intro matches the L4 keyword and its colon (or a space, as a template
// may write it) at the start of b and returns what follows.
func l4Intro(b []byte) ([]byte, bool) {
	if !hasPrefix(b, l4Keyword) && !hasPrefixFold(b, l4Keyword) {
		return nil, false
	}
	b = b[len(l4Keyword):]
	if len(b) == 0 || (b[0] != ':' && b[0] != ' ') {
		return nil, false
	}
	return skipSpaces(b[1:]), true
}

// taggedAs reports whether the header parser took the keyword for the tag
// (RFC 3164), the APP-NAME or the MSGID (RFC 5424).
func (e *Event) taggedAs(keyword string) bool {
	return equalFold(e.App, keyword) || equalFold(e.MsgID, keyword)
}

// isFQDNKeyword: "AviatrixFQDNRule" and the queue number (0-3 seen), or
// the same with the "[CRIT]..." a tag-less parse leaves attached.
func isFQDNKeyword(b []byte) bool {
	if !hasPrefix(b, fqdnKeyword) {
		return false
	}
	for _, c := range b[len(fqdnKeyword):] {
		if c == '[' {
			return true
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// skipTag skips "name[pid]: " or "name: " at the start of b.
func skipTag(b []byte) []byte {
	i := 0
	for i < len(b) && !tagStop[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '[' {
		for i < len(b) && b[i] != ']' && b[i] != ' ' {
			i++
		}
		if i < len(b) && b[i] == ']' {
			i++
		}
	}
	if i < len(b) && b[i] == ':' {
		i++
	}
	return skipSpaces(b[i:])
}

// l4Key names an L4 key; aliases have their own ids so the legacy spelling
// can be flagged.
type l4Key uint8

const (
	keyUnknown l4Key = iota
	keyPolicy
	keySrcMAC
	keyDstMAC
	keyIPSize
	keySrcIP
	keyDstIP
	keyProto
	keySrcPort
	keyDstPort
	keySPT
	keyDPT
	keyData
	keyAct
	keyAction
	keyEnforced
	keySessionID
	keySessionEvent
	keySessionEndReason
	keySessionPktCnt
	keySessionPacketCount
	keySessionByteCnt
	keySessionByteCount
	keySessionDur
	keySessionDuration
)

// l4Order is the key order 8.x gateways write. The scanner predicts the next
// key from it (one word compare instead of a scan and a lookup) and falls
// back to lookupL4Key when a gateway writes something else.
var l4Order = func() (o [18]l4Prefix) {
	keys := [...]struct {
		text string
		key  l4Key
	}{
		{"POLICY=", keyPolicy}, {"SRC_MAC=", keySrcMAC}, {"DST_MAC=", keyDstMAC},
		{"IP_SZ=", keyIPSize}, {"SRC_IP=", keySrcIP}, {"DST_IP=", keyDstIP},
		{"PROTO=", keyProto}, {"SRC_PORT=", keySrcPort}, {"DST_PORT=", keyDstPort},
		{"DATA=", keyData}, {"ACT=", keyAct}, {"ENFORCED=", keyEnforced},
		{"SESSION_ID=", keySessionID}, {"SESSION_EVENT=", keySessionEvent},
		{"SESSION_END_REASON=", keySessionEndReason}, {"SESSION_PKT_CNT=", keySessionPktCnt},
		{"SESSION_BYTE_CNT=", keySessionByteCnt}, {"SESSION_DUR=", keySessionDur},
	}
	for i, k := range keys {
		var text [24]byte
		n := copy(text[:], k.text)
		o[i] = l4Prefix{prefix: k.text, key: k.key}
		for w := 0; w*8 < n; w++ {
			o[i].words[w] = binary.LittleEndian.Uint64(text[w*8:])
			o[i].masks[w] = ^uint64(0)
			if rem := n - w*8; rem < 8 {
				o[i].masks[w] >>= 64 - 8*rem
			}
		}
	}
	return o
}()

// l4Prefix is a key with '=' and its bytes as masked little-endian words.
type l4Prefix struct {
	prefix       string
	key          l4Key
	words, masks [3]uint64
}

// match reports whether b starts with the prefix.
func (o *l4Prefix) match(b []byte) bool {
	if len(b) < 24 {
		return hasPrefix(b, o.prefix)
	}
	return binary.LittleEndian.Uint64(b)&o.masks[0] == o.words[0] &&
		binary.LittleEndian.Uint64(b[8:])&o.masks[1] == o.words[1] &&
		binary.LittleEndian.Uint64(b[16:])&o.masks[2] == o.words[2]
}

func lookupL4Key(k []byte) (l4Key, int) {
	for i, o := range l4Order {
		if string(k) == o.prefix[:len(o.prefix)-1] {
			return o.key, i + 1
		}
	}
	switch string(k) {
	case "SPT":
		return keySPT, 0
	case "DPT":
		return keyDPT, 0
	case "ACTION":
		return keyAction, 0
	case "SESSION_PACKET_COUNT":
		return keySessionPacketCount, 0
	case "SESSION_BYTE_COUNT":
		return keySessionByteCount, 0
	case "SESSION_DURATION":
		return keySessionDuration, 0
	}
	return keyUnknown, 0
}

// l4 parses the space-separated KEY=VALUE list of an AviatrixGwMicrosegPacket.
// Numbers and addresses are decoded as they are scanned; a value that does
// not end where its type does is a bad value.
func (p *Parser) l4(b []byte, ev *Event) {
	i, n, next := 0, len(b), 0
	for i < n {
		if b[i] == ' ' {
			i++
			continue
		}
		start := i
		var key l4Key
		var keyEnd int
		if next < len(l4Order) && l4Order[next].match(b[i:]) {
			o := &l4Order[next]
			key, keyEnd = o.key, i+len(o.prefix)-1
			next++
		} else {
			for i < n && b[i] != '=' && b[i] != ' ' {
				i++
			}
			if i == n || b[i] == ' ' || i == start {
				// A token without a key: skip it whole and say why.
				for i < n && b[i] != ' ' {
					i++
				}
				if len(bytes.TrimLeft(b[i:], " ")) == 0 {
					ev.fail(StatusPartial, ReasonTruncated, b[start:i])
				} else {
					ev.fail(StatusPartial, ReasonBadToken, b[start:i])
				}
				continue
			}
			var after int
			if key, after = lookupL4Key(b[start:i]); after > 0 {
				next = after
			}
			keyEnd = i
		}
		i = keyEnd + 1
		if l4Numeric[key] {
			var u uint64
			end := i
			lim := min(n, i+19)
			for end < lim && b[end]-'0' <= 9 {
				u = u*10 + uint64(b[end]-'0')
				end++
			}
			ok := true
			if end-i == 19 && end < n && b[end]-'0' <= 9 {
				// The twentieth digit is the only one that can overflow.
				d := uint64(b[end] - '0')
				ok = u <= (math.MaxUint64-d)/10
				u = u*10 + d
				end++
			}
			if end == i || (end < n && b[end] != ' ') {
				// A sign, junk or more than twenty digits: take the careful path.
				end = scanValue(b, i)
				u, ok = parseUint(b[i:end], math.MaxUint64)
			}
			if !ok || !ev.setL4Uint(key, u) {
				ev.fail(StatusPartial, ReasonBadValue, b[start:keyEnd])
			}
			i = end
			continue
		}
		var end int
		if key == keyPolicy && i+36 <= n && (i+36 == n || b[i+36] == ' ') {
			end = i + 36 // the common case needs no scan
		} else {
			end = scanValue(b, i)
		}
		v := b[i:end]
		ok := true
		switch key {
		case keyPolicy:
			if ev.RuleUUID, ok = parseUUID(v); ok {
				ev.Has |= HasRuleUUID
			}
		case keySrcIP:
			ev.SrcIP, ok = parseIP(v)
		case keyDstIP:
			ev.DstIP, ok = parseIP(v)
		case keySrcMAC:
			ev.SrcMAC = v
		case keyDstMAC:
			ev.DstMAC = v
		case keyProto:
			ev.Proto = v
		case keyData:
			ev.Payload = v
		case keyAct, keyAction:
			ev.ActionRaw = v
			ev.Action = normaliseAction(v)
			if key == keyAction {
				ev.Flags |= FlagLegacyKeys
			}
		case keyEnforced:
			if ev.Enforced, ok = parseBool(v); ok {
				ev.Has |= HasEnforced
			}
		default:
			ev.addExtra(b[start:keyEnd], v)
		}
		if !ok {
			ev.fail(StatusPartial, ReasonBadValue, b[start:keyEnd])
		}
		i = end
	}
	if ev.Has&HasRuleUUID == 0 && !ev.SrcIP.IsValid() {
		ev.fail(StatusPartial, ReasonMissingField, fieldPOLICY)
	}
}

// l4Numeric marks the keys whose values are unsigned decimal numbers.
var l4Numeric = func() (t [keySessionDuration + 1]bool) {
	for _, k := range []l4Key{keyIPSize, keySrcPort, keyDstPort, keySPT, keyDPT, keySessionID,
		keySessionEvent, keySessionEndReason, keySessionPktCnt, keySessionPacketCount,
		keySessionByteCnt, keySessionByteCount, keySessionDur, keySessionDuration} {
		t[k] = true
	}
	return t
}()

// setL4Uint stores a decoded number, refusing values too wide for the field.
func (ev *Event) setL4Uint(key l4Key, u uint64) bool {
	switch key {
	case keyIPSize:
		if u > math.MaxUint32 {
			return false
		}
		ev.IPSize, ev.Has = uint32(u), ev.Has|HasIPSize
	case keySrcPort, keySPT:
		if u > math.MaxUint16 {
			return false
		}
		ev.SrcPort, ev.Has = uint16(u), ev.Has|HasSrcPort
	case keyDstPort, keyDPT:
		if u > math.MaxUint16 {
			return false
		}
		ev.DstPort, ev.Has = uint16(u), ev.Has|HasDstPort
	case keySessionID:
		ev.SessionID, ev.Has = u, ev.Has|HasSessionID
	case keySessionEvent:
		if u > math.MaxUint8 {
			return false
		}
		ev.SessionEvent, ev.Has = uint8(u), ev.Has|HasSessionEvent
	case keySessionEndReason:
		if u > math.MaxUint8 {
			return false
		}
		ev.SessionEndReason, ev.Has = uint8(u), ev.Has|HasSessionEndReason
	case keySessionPktCnt, keySessionPacketCount:
		ev.SessionPkts, ev.Has = u, ev.Has|HasSessionPkts
	case keySessionByteCnt, keySessionByteCount:
		ev.SessionBytes, ev.Has = u, ev.Has|HasSessionBytes
	case keySessionDur, keySessionDuration:
		ev.SessionDuration, ev.Has = u, ev.Has|HasSessionDuration
	}
	switch key {
	case keySPT, keyDPT, keySessionPacketCount, keySessionByteCount, keySessionDuration:
		ev.Flags |= FlagLegacyKeys
	}
	return true
}

// scanValue returns the index of the space that ends the value at b[i:],
// eight bytes at a time.
func scanValue(b []byte, i int) int {
	const ones, highs, spaces = 0x0101010101010101, 0x8080808080808080, 0x2020202020202020
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:]) ^ spaces
		// The lowest high bit marks the first byte that was a space.
		if t := (x - ones) &^ x & highs; t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
		i += 8
	}
	for i < len(b) && b[i] != ' ' {
		i++
	}
	return i
}

// fqdn parses the legacy egress FQDN filter line, unwrapping rsyslog's
// "message repeated N times: [ ... ]".
func (p *Parser) fqdn(b []byte, ev *Event) {
	if hasPrefix(b, repeatedIntro) {
		r := b[len(repeatedIntro):]
		num, r := token(r)
		n, ok := parseUint(num, math.MaxUint32)
		if !ok || !hasPrefix(r, " times: [") {
			return // some other repeated message: stays "other"
		}
		r = skipSpaces(r[len(" times: ["):])
		if !hasPrefix(r, fqdnKeyword) {
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
