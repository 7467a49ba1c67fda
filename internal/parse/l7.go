package parse

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
)

// Field names the parse error can refer to, kept as package variables so
// recording an error does not allocate.
var (
	fieldPOLICY   = []byte("POLICY")
	fieldState    = []byte("state")
	fieldRepeated = []byte("repeated message")
	fieldJSONEnd  = []byte("JSON object")
)

// jsonValue is one scanned value: its kind and its bytes (string contents
// already unescaped, numbers and literals as written, nested objects raw).
type jsonValue struct {
	kind byte // '"', 'n' number, 't', 'f', 'z' null, '{' or '[' raw
	b    []byte
}

// l7 parses a traffic_server JSON object. Keys this parser knows are typed;
// unknown keys are kept. A JSON line that is not an Aviatrix DCF record
// (another product's traffic_server, Suricata EVE) reverts to kind "other".
//
// tagged says the keyword traffic_server stood in the header (or in front of
// the object), so an object with an action is taken as Aviatrix's.
func (p *Parser) l7(b []byte, ev *Event, tagged bool) {
	ev.Kind = KindL7
	s := jsonScanner{buf: b, out: &ev.arena}
	s.pos = 1
	aviatrix := false
	members := 0
	for {
		s.ws()
		if s.pos >= len(s.buf) {
			p.l7Truncated(b, ev, tagged)
			return
		}
		if s.buf[s.pos] == '}' {
			s.pos++
			break
		}
		if members > 0 {
			if s.buf[s.pos] != ',' {
				p.l7Broken(b, ev, &s, tagged)
				return
			}
			s.pos++
			s.ws()
		}
		members++
		key, ok := s.str()
		if !ok {
			p.l7Broken(b, ev, &s, tagged)
			return
		}
		s.ws()
		if s.pos >= len(s.buf) || s.buf[s.pos] != ':' {
			p.l7Broken(b, ev, &s, tagged)
			return
		}
		s.pos++
		s.ws()
		v, ok := s.value()
		if !ok {
			p.l7Broken(b, ev, &s, tagged)
			return
		}
		switch string(key) {
		case "decided_by", "session_stage":
			aviatrix = true
		case "action":
			aviatrix = aviatrix || tagged
		}
		p.l7Field(key, v, ev)
	}
	if !aviatrix {
		p.revertToOther(ev)
		return
	}
	if s.ws(); s.pos < len(s.buf) {
		ev.fail(StatusPartial, ReasonBadJSON, s.buf[s.pos:min(len(s.buf), s.pos+16)])
	}
}

// l7Truncated handles an object that ends before its closing brace: the
// fields read so far stay, the event is partial.
func (p *Parser) l7Truncated(b []byte, ev *Event, tagged bool) {
	if !tagged && !looksAviatrixJSON(b) {
		p.revertToOther(ev)
		return
	}
	ev.fail(StatusPartial, ReasonTruncated, fieldJSONEnd)
}

func (p *Parser) l7Broken(b []byte, ev *Event, s *jsonScanner, tagged bool) {
	if s.pos >= len(s.buf) {
		p.l7Truncated(b, ev, tagged)
		return
	}
	if !tagged && !looksAviatrixJSON(b) {
		p.revertToOther(ev)
		return
	}
	ev.fail(StatusPartial, ReasonBadJSON, s.buf[s.pos:min(len(s.buf), s.pos+16)])
}

func looksAviatrixJSON(b []byte) bool {
	return contains(b, `"decided_by"`) || contains(b, `"session_stage"`)
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// revertToOther clears body fields from a JSON line that turned out not to
// be a DCF record.
func (p *Parser) revertToOther(ev *Event) {
	keep := *ev
	ev.reset()
	ev.Raw, ev.Format, ev.Facility, ev.Severity = keep.Raw, keep.Format, keep.Facility, keep.Severity
	ev.EventTime, ev.TimeSource, ev.Hostname, ev.Gateway, ev.GatewayIP = keep.EventTime, keep.TimeSource, keep.Hostname, keep.Gateway, keep.GatewayIP
	ev.App, ev.ProcID, ev.MsgID, ev.Has = keep.App, keep.ProcID, keep.MsgID, keep.Has&HasPRI
	ev.Flags = keep.Flags &^ (FlagLegacyKeys | FlagRepeated)
	ev.Kind = KindOther
}

func (p *Parser) l7Field(k []byte, v jsonValue, ev *Event) {
	ok := true
	switch string(k) {
	case "priority":
		ev.L7Priority, ok = v.text()
	case "action":
		ev.ActionRaw, ok = v.text()
		ev.Action = normaliseAction(ev.ActionRaw)
	case "reason":
		ev.L7Reason, ok = v.text()
	case "src":
		var t []byte
		if t, ok = v.text(); ok {
			ev.SrcIP, ok = parseIP(t)
		}
	case "dest":
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
	case "enforced":
		if ev.Enforced, ok = v.bool(); ok {
			ev.Has |= HasEnforced
		}
	case "ids":
		if ev.IDS, ok = v.bool(); ok {
			ev.Has |= HasIDS
		}
	case "stage":
		ev.L7Stage, ok = v.text()
	case "sni_hostname":
		ev.SNI, ok = v.text()
	case "url":
		ev.URL, ok = v.text()
	case "decided_by":
		var t []byte
		if t, ok = v.text(); ok {
			if ev.RuleUUID, ok = parseUUID(t); ok {
				ev.Has |= HasRuleUUID
			}
		}
	case "decrypted_by":
		var t []byte
		if t, ok = v.text(); ok {
			if ev.DecryptedBy, ok = parseUUID(t); ok {
				ev.Has |= HasDecryptedBy
			}
		}
	case "session_id":
		ev.SessionUUID, ok = v.text()
	case "session_stage":
		ev.SessionStage, ok = v.text()
	case "session_start":
		if ev.SessionStart, ok = v.int(); ok {
			ev.Has |= HasSessionStart
		}
	case "session_time":
		if ev.SessionTime, ok = v.int(); ok {
			ev.Has |= HasSessionTime
		}
	case "request_bytes":
		if ev.RequestBytes, ok = v.uint(math.MaxUint64); ok {
			ev.Has |= HasRequestBytes
		}
	case "response_bytes":
		if ev.ResponseBytes, ok = v.uint(math.MaxUint64); ok {
			ev.Has |= HasResponseBytes
		}
	case "sid":
		ev.SignatureID, ok = v.text()
	case "message":
		ev.L7Message, ok = v.text()
	case "timestamp":
		if sec, nsec, good := v.epoch(); good {
			ev.EventTime = epochTime(sec, nsec)
			ev.TimeSource = TimeBody
		} else {
			ok = false
		}
	default:
		ev.addExtra(k, v.b)
	}
	if !ok {
		ev.fail(StatusPartial, ReasonBadValue, k)
	}
}

// text accepts strings, and numbers or literals where a string was expected.
func (v jsonValue) text() ([]byte, bool) {
	switch v.kind {
	case '"', 'n', 't', 'f':
		return v.b, true
	case 'z':
		return nil, true
	}
	return nil, false
}

// uint accepts an integer, or a string holding one.
func (v jsonValue) uint(max uint64) (uint64, bool) {
	if v.kind != 'n' && v.kind != '"' {
		return 0, false
	}
	return parseUint(v.b, max)
}

func (v jsonValue) int() (int64, bool) {
	if v.kind != 'n' && v.kind != '"' {
		return 0, false
	}
	return parseInt(v.b)
}

func (v jsonValue) bool() (bool, bool) {
	switch v.kind {
	case 't':
		return true, true
	case 'f':
		return false, true
	case '"', 'n':
		return parseBool(v.b)
	}
	return false, false
}

// epoch reads a Unix time given in seconds (integer or decimal), or in
// milli-, micro- or nanoseconds, judged by magnitude.
func (v jsonValue) epoch() (sec int64, nsec int64, ok bool) {
	if v.kind != 'n' && v.kind != '"' {
		return 0, 0, false
	}
	b := v.b
	dot := len(b)
	for i, c := range b {
		if c == '.' {
			dot = i
			break
		}
	}
	n, ok := parseInt(b[:dot])
	if !ok {
		return 0, 0, false
	}
	if dot < len(b) {
		f, cnt := fraction(b[dot+1:])
		if cnt != len(b)-dot-1 {
			return 0, 0, false
		}
		return n, int64(f), true
	}
	switch {
	case n > 1e17 || n < -1e17:
		return n / 1e9, n % 1e9, true
	case n > 1e14 || n < -1e14:
		return n / 1e6, n % 1e6 * 1e3, true
	case n > 1e11 || n < -1e11:
		return n / 1e3, n % 1e3 * 1e6, true
	}
	return n, 0, true
}

// jsonScanner reads one flat JSON object; nested values are kept raw.
// Strings with escapes are decoded into *out.
type jsonScanner struct {
	buf []byte
	pos int
	out *[]byte
}

func (s *jsonScanner) ws() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// str reads a JSON string at pos. Without escapes it returns a sub-slice of
// the input; with escapes it decodes into *s.out.
func (s *jsonScanner) str() ([]byte, bool) {
	buf := s.buf
	if s.pos >= len(buf) || buf[s.pos] != '"' {
		return nil, false
	}
	start := s.pos + 1
	escaped := false
	i := start
	for i < len(buf) {
		// Skip eight plain bytes at a time; stop at the first that may matter.
		if i+8 <= len(buf) {
			if t := jsonSpecial(binary.LittleEndian.Uint64(buf[i:])); t == 0 {
				i += 8
				continue
			} else {
				i += bits.TrailingZeros64(t) / 8
			}
		}
		c := buf[i]
		if c == '\\' {
			escaped = true
			i += 2
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return nil, false
		}
		i++
	}
	if i >= len(buf) {
		s.pos = len(buf)
		return nil, false
	}
	s.pos = i + 1
	if !escaped {
		return buf[start:i], true
	}
	return s.unescape(buf[start:i])
}

// jsonSpecial flags, in the high bit of each byte, the bytes of w that are a
// quote, a backslash or a control character. The lowest flag is exact;
// flags above it may be false.
func jsonSpecial(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w) & highs
}

func (s *jsonScanner) unescape(b []byte) ([]byte, bool) {
	out := *s.out
	from := len(out)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b[i+1:])
			if !ok {
				return nil, false
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				if lo, ok := hex4(b[i+3:]); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	*s.out = out
	return out[from:len(out):len(out)], true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func (s *jsonScanner) value() (jsonValue, bool) {
	if s.pos >= len(s.buf) {
		return jsonValue{}, false
	}
	switch c := s.buf[s.pos]; {
	case c == '"':
		b, ok := s.str()
		return jsonValue{'"', b}, ok
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.pos
		for s.pos < len(s.buf) {
			c := s.buf[s.pos]
			if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				s.pos++
				continue
			}
			break
		}
		if s.pos >= len(s.buf) {
			return jsonValue{}, false // cannot know the number was complete
		}
		return jsonValue{'n', s.buf[start:s.pos]}, true
	case c == 't':
		return s.literal("true", 't')
	case c == 'f':
		return s.literal("false", 'f')
	case c == 'n':
		return s.literal("null", 'z')
	case c == '{' || c == '[':
		return s.nested()
	}
	return jsonValue{}, false
}

func (s *jsonScanner) literal(word string, kind byte) (jsonValue, bool) {
	if len(s.buf)-s.pos < len(word) || string(s.buf[s.pos:s.pos+len(word)]) != word {
		return jsonValue{}, false
	}
	v := jsonValue{kind, s.buf[s.pos : s.pos+len(word)]}
	s.pos += len(word)
	return v, true
}

// nested skips a balanced object or array, respecting strings.
func (s *jsonScanner) nested() (jsonValue, bool) {
	start, depth := s.pos, 0
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case '"':
			if _, ok := s.str(); !ok {
				return jsonValue{}, false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos++
				return jsonValue{'{', s.buf[start:s.pos]}, true
			}
		}
		s.pos++
	}
	return jsonValue{}, false
}
