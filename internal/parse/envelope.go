package parse

import (
	"bytes"
	"time"
)

// Options configure a Parser.
type Options struct {
	// Location is the zone of timestamps that carry none (RFC3164 headers,
	// the L4 inner timestamp). Gateways log in UTC; nil means UTC.
	Location *time.Location
}

// Parser is safe for concurrent use; it holds only configuration.
type Parser struct {
	loc *time.Location
}

// NewParser returns a Parser with the given options.
func NewParser(o Options) *Parser {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{loc: loc}
}

// Parse fills ev from one message. ev.ReceivedAt (used to infer the year of
// RFC3164 timestamps) and the other receive metadata must be set by the
// caller; everything else is overwritten. Parse never fails: problems are
// recorded in ev.Status and ev.Reason, and the raw line is always kept.
func (p *Parser) Parse(raw []byte, ev *Event) {
	ev.reset()
	ev.Raw = raw
	ev.EventTime = ev.ReceivedAt
	line := trimTrailer(raw)
	if len(line) == 0 {
		ev.fail(StatusFailed, ReasonEmpty, nil)
		return
	}
	msg, ok := p.envelope(line, ev)
	if !ok {
		return
	}
	p.body(msg, ev)
}

// trimTrailer strips the CR, LF and NUL bytes some senders leave at the end.
func trimTrailer(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}

// envelope parses the syslog header and returns the message body.
func (p *Parser) envelope(line []byte, ev *Event) ([]byte, bool) {
	rest := line
	if rest[0] == '<' {
		pri, n, ok := parsePRI(rest)
		if !ok {
			ev.fail(StatusFailed, ReasonBadPRI, nil)
			return nil, false
		}
		ev.Facility, ev.Severity = uint8(pri>>3), uint8(pri&7)
		ev.Has |= HasPRI
		rest = rest[n:]
		if len(rest) >= 2 && rest[0] == '1' && rest[1] == ' ' {
			return p.rfc5424(line, rest[2:], ev)
		}
	}
	var n int
	var ok bool
	if ev.EventTime, n, ok = p.stamp3164(rest, ev.ReceivedAt, ev.memo()); ok {
		ev.Format = FormatRFC3164
	} else if ev.EventTime, n, ok = parseRFC3339(rest); ok {
		ev.Format = FormatRFC3339
	} else {
		ev.EventTime = ev.ReceivedAt
		ev.fail(StatusFailed, ReasonBadTimestamp, nil)
		return nil, false
	}
	ev.TimeSource = TimeHeader
	rest = skipSpaces(rest[n:])
	afterStamp := rest
	host, rest := token(rest)
	if len(host) == 0 {
		ev.fail(StatusFailed, ReasonNoHostname, nil)
		return nil, false
	}
	hostName, hostIPv4 := ev.memo().hostKinds(host)
	if !hostName {
		// No hostname was sent ("app: msg", as some senders do), or the word
		// holds bytes no hostname may (RFC3164/5424: printable US-ASCII).
		return p.tag(afterStamp, ev), true
	}
	if rest == nil {
		// A lone word after the time is not a hostname (RFC3164 puts a
		// space after it): it is a tag when it looks like one ("app[1]",
		// "app:"), else the message.
		if i := bytes.IndexByte(host, '['); i > 0 || host[len(host)-1] == ':' {
			return p.tag(afterStamp, ev), true
		}
		return host, true
	}
	if len(host) != 1 || host[0] != '-' { // "-": syslog's nil value, no hostname
		ev.Hostname = host
	}
	rest = skipSpaces(rest)

	// H2: pre-7.0.1726 gateways re-sent file lines, tagged with the file name,
	// each carrying the original RFC3339 time and host.
	if tag, after := token(rest); string(tag) == "syslog" || string(tag) == "auth.log" {
		after = skipSpaces(after)
		if t, n, ok := parseRFC3339(after); ok {
			if inner, rest2 := token(skipSpaces(after[n:])); len(inner) > 0 {
				ev.Format, ev.EventTime, ev.Hostname = FormatRelay, t, inner
				rest = skipSpaces(rest2)
			}
		}
	}
	// H3: a relay's header (its own IP as host) around a second RFC3164 header.
	if ev.Format == FormatRFC3164 && hostIPv4 {
		if t, n, ok := p.stamp3164(rest, ev.ReceivedAt, ev.memo()); ok {
			if inner, rest2 := token(skipSpaces(rest[n:])); len(inner) > 0 {
				ev.Format, ev.EventTime, ev.Hostname = FormatDouble, t, inner
				rest = skipSpaces(rest2)
			}
		}
	}
	ev.Gateway, ev.GatewayIP = ev.memo().gateway(ev.Hostname)
	return p.tag(rest, ev), true
}

// tag splits "app[pid]: msg", "app: msg", "app[pid] msg" and rsyslog's
// 32-character truncation, which leaves "/usr/local/bin/avx-gw-state-sync msg"
// with neither pid nor colon.
func (p *Parser) tag(b []byte, ev *Event) []byte {
	i := 0
	for i < len(b) && !tagStop[b[i]] {
		i++
	}
	ev.App = b[:i]
	if i < len(b) && b[i] == '[' {
		j := i + 1
		for j < len(b) && b[j] != ']' && b[j] != ' ' && b[j] != '[' {
			j++
		}
		if j < len(b) && b[j] == ']' {
			ev.ProcID = b[i+1 : j]
			i = j + 1
		}
	}
	if i < len(b) && b[i] == ':' {
		i++
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	return b[i:]
}

// rfc5424 parses "TS HOST APP PROCID MSGID SD MSG" after "<PRI>1 ".
func (p *Parser) rfc5424(line, b []byte, ev *Event) ([]byte, bool) {
	ev.Format = FormatRFC5424
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	} else if t, n, ok := parseRFC3339(b); ok {
		ev.EventTime, ev.TimeSource = t, TimeHeader
		b = b[n:]
	} else {
		return p.rfc5424Fallback(line, ev)
	}
	var host, app, proc, msgid []byte
	if len(b) == 0 || b[0] != ' ' {
		return p.rfc5424Fallback(line, ev)
	}
	host, b = token(b[1:])
	app, b = token(skipOne(b))
	proc, b = token(skipOne(b))
	msgid, b = token(skipOne(b))
	if len(msgid) == 0 {
		return p.rfc5424Fallback(line, ev)
	}
	ev.Hostname, ev.App, ev.ProcID, ev.MsgID = nilDash(host), nilDash(app), nilDash(proc), nilDash(msgid)
	b = skipOne(b)
	if n, ok := skipStructuredData(b); ok {
		b = b[n:]
	} else {
		return p.rfc5424Fallback(line, ev)
	}
	b = skipOne(b)
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = b[3:] // UTF-8 BOM
	}
	ev.Gateway, ev.GatewayIP = ev.memo().gateway(ev.Hostname)
	return b, true
}

func nilDash(b []byte) []byte {
	if len(b) == 1 && b[0] == '-' {
		return nil
	}
	return b
}

func skipOne(b []byte) []byte {
	if len(b) > 0 && b[0] == ' ' {
		return b[1:]
	}
	return b
}

// skipStructuredData returns the length of "-" or of one or more
// "[id k="v" ...]" elements, honouring \" \] \\ inside values.
func skipStructuredData(b []byte) (int, bool) {
	if len(b) > 0 && b[0] == '-' {
		return 1, true
	}
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		inQuote := false
		for ; i < len(b); i++ {
			c := b[i]
			if inQuote {
				if c == '\\' {
					i++
				} else if c == '"' {
					inQuote = false
				}
				continue
			}
			if c == '"' {
				inQuote = true
			} else if c == ']' {
				break
			}
		}
		if i >= len(b) {
			return 0, false
		}
		i++
	}
	return i, i > 0
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// token returns the bytes up to the next space and what follows it.
func token(b []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i:]
	}
	return b, nil
}

func parsePRI(b []byte) (pri int, n int, ok bool) {
	// b[0] == '<'
	for n = 1; n < len(b) && n <= 4; n++ {
		c := b[n]
		if c == '>' {
			return pri, n + 1, n > 1 && pri <= 191
		}
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		pri = pri*10 + int(c-'0')
	}
	return 0, 0, false
}

// splitGatewayHost reads "GW-<name>-<ipv4>[-sink]" (names contain hyphens, so
// the address is anchored at the end) and "Controller-<ipv4>".
func splitGatewayHost(h []byte) ([]byte, addr) {
	if len(h) > 5 && string(h[len(h)-5:]) == "-sink" && hasPrefix(h, "GW-") {
		h = h[:len(h)-5]
	}
	var name []byte
	switch {
	case hasPrefix(h, "GW-"):
		name = h[3:]
	case hasPrefix(h, "Controller-"):
		name = h[:10]
		if ip, ok := parseIPv4(h[11:]); ok {
			return name, ip
		}
		return nil, addr{}
	default:
		return nil, addr{}
	}
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '-' {
			if ip, ok := parseIPv4(name[i+1:]); ok {
				return name[:i], ip
			}
			break
		}
	}
	return nil, addr{}
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

func isIPv4Literal(b []byte) bool {
	_, ok := parseIPv4(b)
	return ok
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// futureSkew is how far after its receipt a message may claim to have been
// sent: clock skew and a wrong zone, not more.
const futureSkew = 26 * time.Hour

// stamp3164 parses "Mmm dd hh:mm:ss" (day space-padded or not) and infers
// the year from the receive time.
func (p *Parser) stamp3164(b []byte, rx time.Time, m *memo) (time.Time, int, bool) {
	if len(b) < 14 || b[3] != ' ' {
		return time.Time{}, 0, false
	}
	if rx.IsZero() {
		rx = time.Now()
	}
	// The result depends on the bytes, the zone and (for the year) the
	// receive second; fractional stamps are not remembered.
	rxSec := rx.Unix()
	plain := len(b) == 15 || (len(b) > 15 && b[15] != '.')
	if plain && m.stampSet && m.stampRx == rxSec && m.stampLoc == p.loc && string(b[:15]) == string(m.stamp[:]) {
		return m.stampT, 15, true
	}
	t, n, ok := p.decodeStamp3164(b, rx)
	if ok && n == 15 && plain {
		copy(m.stamp[:], b)
		m.stampSet, m.stampRx, m.stampLoc, m.stampT = true, rxSec, p.loc, t
	}
	return t, n, ok
}

func (p *Parser) decodeStamp3164(b []byte, rx time.Time) (time.Time, int, bool) {
	mon := 0
	for i, m := range months {
		if string(b[:3]) == m {
			mon = i + 1
			break
		}
	}
	if mon == 0 {
		return time.Time{}, 0, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	day, ok := digits(b, i, 2)
	if ok {
		i += 2
	} else if day, ok = digits(b, i, 1); ok {
		i++
	} else {
		return time.Time{}, 0, false
	}
	if i >= len(b) || b[i] != ' ' {
		return time.Time{}, 0, false
	}
	i++
	hh, mm, ss, ok := clock(b, i)
	if !ok || day < 1 || day > 31 {
		return time.Time{}, 0, false
	}
	i += 8
	ns := 0
	if i < len(b) && b[i] == '.' {
		// Some forwarders add sub-seconds to the traditional stamp.
		var n int
		ns, n = fraction(b[i+1:])
		i += 1 + n
	}
	// The year is the latest that does not put the message more than
	// futureSkew after its receipt: messages arrive late (queues, relays),
	// never months early. "Dec 31 23:59:59" received on 1 January stays in
	// the old year; "Jan  1 00:00:01" from a fast clock on 31 December
	// moves to the new one.
	if p.loc == time.UTC {
		limit := rx.Add(futureSkew)
		limSec, limNs := limit.Unix(), limit.Nanosecond()
		rxYear := rx.UTC().Year()
		y := rxYear + 1
		for {
			s := unixFromCivil(y, mon, day, hh, mm, ss)
			if s < limSec || (s == limSec && ns <= limNs) || y <= rxYear-2 {
				return time.Unix(s, int64(ns)).UTC(), i, true
			}
			y--
		}
	}
	rx = rx.In(p.loc)
	limit := rx.Add(futureSkew)
	y := rx.Year() + 1
	best := time.Date(y, time.Month(mon), day, hh, mm, ss, ns, p.loc)
	for best.After(limit) && y > rx.Year()-2 {
		y--
		best = time.Date(y, time.Month(mon), day, hh, mm, ss, ns, p.loc)
	}
	return best.UTC(), i, true
}

// clock parses "hh:mm:ss" at b[i:].
func clock(b []byte, i int) (hh, mm, ss int, ok bool) {
	if len(b) < i+8 || b[i+2] != ':' || b[i+5] != ':' {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	hh, ok1 = digits(b, i, 2)
	mm, ok2 = digits(b, i+3, 2)
	ss, ok3 = digits(b, i+6, 2)
	return hh, mm, ss, ok1 && ok2 && ok3 && hh < 24 && mm < 60 && ss <= 60
}

// digits parses exactly n ASCII digits at b[i:].
func digits(b []byte, i, n int) (int, bool) {
	if len(b) < i+n {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// fraction parses up to 9 significant fractional digits into nanoseconds and
// returns how many digit bytes it consumed.
func fraction(b []byte) (ns, n int) {
	scale := 100000000
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		if scale > 0 {
			ns += int(b[n]-'0') * scale
			scale /= 10
		}
		n++
	}
	return ns, n
}

// parseRFC3339 parses "YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm|±hhmm)" into UTC. A
// missing zone is read as UTC.
func parseRFC3339(b []byte) (time.Time, int, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') {
		return time.Time{}, 0, false
	}
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	hh, mm, ss, ok4 := clock(b, 11)
	if !(ok1 && ok2 && ok3 && ok4) || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, 0, false
	}
	i := 19
	ns := 0
	if i < len(b) && b[i] == '.' {
		var n int
		ns, n = fraction(b[i+1:])
		if n == 0 {
			return time.Time{}, 0, false
		}
		i += 1 + n
	}
	t := time.Unix(unixFromCivil(y, mo, d, hh, mm, ss), int64(ns)).UTC()
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			// ±hh:mm, or ISO 8601's ±hhmm, which Suricata writes.
			oh, ok1 := digits(b, i+1, 2)
			colon := 1
			if len(b) >= i+4 && b[i+3] != ':' {
				colon = 0
			}
			if !ok1 || len(b) < i+5+colon {
				return time.Time{}, 0, false
			}
			om, ok2 := digits(b, i+3+colon, 2)
			if !ok2 {
				return time.Time{}, 0, false
			}
			off := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
			if b[i] == '+' {
				off = -off
			}
			t = t.Add(off)
			i += 5 + colon
		}
	}
	if i < len(b) && b[i] != ' ' {
		return time.Time{}, 0, false
	}
	return t, i, true
}

// parseInnerStamp parses the Go log prefix "YYYY/MM/DD hh:mm:ss" that the L4
// daemon writes before its keyword.
func (p *Parser) parseInnerStamp(b []byte, m *memo) (time.Time, int, bool) {
	if len(b) < 19 || b[4] != '/' || b[7] != '/' || b[10] != ' ' {
		return time.Time{}, 0, false
	}
	if m.innerSet && m.innerLoc == p.loc && string(b[:19]) == string(m.inner[:]) {
		return m.innerT, 19, true
	}
	t, n, ok := p.decodeInnerStamp(b)
	if ok {
		copy(m.inner[:], b)
		m.innerSet, m.innerLoc, m.innerT = true, p.loc, t
	}
	return t, n, ok
}

func (p *Parser) decodeInnerStamp(b []byte) (time.Time, int, bool) {
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	hh, mm, ss, ok4 := clock(b, 11)
	if !(ok1 && ok2 && ok3 && ok4) || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, 0, false
	}
	return p.date(y, mo, d, hh, mm, ss, 0), 19, true
}

// isHostname accepts printable US-ASCII without ':' (which marks a tag),
// except for IPv6 literals.
func isHostname(b []byte) bool {
	if len(b) > 255 {
		return false
	}
	var seen byte
	for _, c := range b {
		seen |= hostByte[c]
	}
	switch {
	case seen&hostBad != 0:
		return false
	case seen&hostColon != 0:
		_, ok := parseIP(b)
		return ok
	}
	return true
}

// tagStop marks the bytes that end an app name.
var tagStop = [256]bool{' ': true, ':': true, '[': true}

const (
	hostBad   = 1
	hostColon = 2
)

// hostByte classifies bytes for isHostname so its loop has no branches.
var hostByte = func() (t [256]byte) {
	for c := range t {
		if c < 33 || c > 126 {
			t[c] = hostBad
		}
	}
	t[':'] = hostColon
	return t
}()
