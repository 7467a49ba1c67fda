package parse

import (
	"math"
	"net/netip"
	"unsafe"
)

type addr = netip.Addr

// parseIPv4 parses a dotted quad without allocating. Octets have one to
// three digits and no leading zero, as netip.ParseAddr demands.
func parseIPv4(b []byte) (netip.Addr, bool) {
	if len(b) < 7 || len(b) > 15 {
		return netip.Addr{}, false
	}
	var out [4]byte
	n, v, digits := 0, 0, 0
	for _, c := range b {
		if c == '.' {
			if digits == 0 || n == 3 {
				return netip.Addr{}, false
			}
			out[n] = byte(v)
			n, v, digits = n+1, 0, 0
			continue
		}
		c -= '0'
		// A fourth digit makes v exceed 255 unless the octet began with 0,
		// which is refused on its own.
		if c > 9 || (digits > 0 && v == 0) {
			return netip.Addr{}, false
		}
		v = v*10 + int(c)
		digits++
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	if digits == 0 || n != 3 {
		return netip.Addr{}, false
	}
	out[3] = byte(v)
	return netip.AddrFrom4(out), true
}

// parseIP parses IPv4 or IPv6. Zones are refused: netip would allocate for
// them, and a gateway has no reason to log one.
func parseIP(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	if len(b) < 2 || len(b) > 45 {
		return netip.Addr{}, false
	}
	for _, c := range b {
		if c == '%' {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(bytesString(b))
	return a, err == nil
}

// bytesString views b as a string for read-only calls that do not retain it.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	// Nineteen digits cannot overflow a uint64; only the twentieth needs a check.
	head := b
	if len(b) == 20 {
		head = b[:19]
	}
	for _, c := range head {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	if len(b) == 20 {
		d := uint64(b[19] - '0')
		if d > 9 || v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, v <= max
}

func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := parseUint(b, math.MaxInt64)
	if !ok {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// hexValue maps an ASCII hex digit to its value and every other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := byte(0); i < 10; i++ {
		t['0'+i] = i
	}
	for i := byte(0); i < 6; i++ {
		t['a'+i], t['A'+i] = 10+i, 10+i
	}
	return t
}()

func unhex(c byte) (byte, bool) {
	v := hexValue[c]
	return v, v != 0xff
}

// uuidHexAt lists where the 16 byte pairs of the 8-4-4-4-12 form start.
var uuidHexAt = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseUUID reads the canonical 8-4-4-4-12 form.
func parseUUID(b []byte) (UUID, bool) {
	var u UUID
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return u, false
	}
	bad := byte(0)
	for j, i := range uuidHexAt {
		hi, lo := hexValue[b[i]], hexValue[b[i+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo
	}
	return u, bad&0xf0 == 0
}

const hexDigits = "0123456789abcdef"

// AppendUUID appends the canonical lower-case text form.
func AppendUUID(dst []byte, u UUID) []byte {
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

func (u UUID) String() string { return string(AppendUUID(nil, u)) }

// ParseUUID parses the canonical text form.
func ParseUUID(s string) (UUID, bool) { return parseUUID([]byte(s)) }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[:len(s)], s)
}

// normaliseAction maps the spellings seen across gateway versions and SIEM
// lookups, and Suricata's alert actions (allowed, blocked), onto PERMIT and
// DENY.
func normaliseAction(b []byte) Action {
	switch {
	case len(b) == 0:
		return ActionNone
	case equalFold(b, "permit"), equalFold(b, "allow"), equalFold(b, "accept"), equalFold(b, "pass"), equalFold(b, "allowed"):
		return ActionPermit
	case equalFold(b, "deny"), equalFold(b, "drop"), equalFold(b, "block"), equalFold(b, "reject"), equalFold(b, "blocked"):
		return ActionDeny
	}
	return ActionOther
}

func parseBool(b []byte) (v, ok bool) {
	switch {
	case equalFold(b, "true"), len(b) == 1 && b[0] == '1':
		return true, true
	case equalFold(b, "false"), len(b) == 1 && b[0] == '0':
		return false, true
	}
	return false, false
}
