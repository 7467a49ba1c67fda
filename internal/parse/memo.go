package parse

import "time"

// memo remembers what the previous message of the same event buffer decoded
// from fields that repeat from line to line: a gateway sends its hostname on
// every line and many lines a second share their timestamps. It hangs off the
// Event, which each worker reuses, so the shared Parser stays free of state.
// Every entry is keyed by the exact bytes (and whatever else the result
// depends on), so a hit returns what decoding would have returned.
type memo struct {
	host     [maxMemoHost]byte
	hostLen  int
	hostName bool // isHostname
	hostIPv4 bool // isIPv4Literal

	gw        [maxMemoHost]byte
	gwLen     int
	gwNameEnd int // name is gw[gwNameStart:gwNameEnd]; 0 when not a gateway
	gwNameAt  int
	gwIP      addr

	stamp    [15]byte
	stampSet bool
	stampLoc *time.Location
	stampRx  int64
	stampT   time.Time

	inner    [19]byte
	innerSet bool
	innerLoc *time.Location
	innerT   time.Time
}

const maxMemoHost = 64

func (e *Event) memo() *memo {
	if e.memoBuf == nil {
		e.memoBuf = new(memo)
	}
	return e.memoBuf
}

// hostKinds reports isHostname and isIPv4Literal of a header word.
func (m *memo) hostKinds(h []byte) (name, ipv4 bool) {
	if m.hostLen == len(h) && len(h) > 0 && string(m.host[:len(h)]) == string(h) {
		return m.hostName, m.hostIPv4
	}
	name = isHostname(h)
	ipv4 = name && isIPv4Literal(h)
	if len(h) <= maxMemoHost {
		m.hostLen = copy(m.host[:], h)
		m.hostName, m.hostIPv4 = name, ipv4
	}
	return name, ipv4
}

// gateway is splitGatewayHost through the memo.
func (m *memo) gateway(h []byte) ([]byte, addr) {
	if m.gwLen == len(h) && len(h) > 0 && string(m.gw[:len(h)]) == string(h) {
		if m.gwNameEnd == 0 {
			return nil, addr{}
		}
		return h[m.gwNameAt:m.gwNameEnd], m.gwIP
	}
	name, ip := splitGatewayHost(h)
	if len(h) <= maxMemoHost {
		m.gwLen = copy(m.gw[:], h)
		m.gwNameAt, m.gwNameEnd, m.gwIP = 0, 0, ip
		if name != nil {
			at, _ := offsetIn(h, name)
			m.gwNameAt, m.gwNameEnd = at, at+len(name)
		}
	}
	return name, ip
}
