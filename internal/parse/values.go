package parse

import (
	"math"
	"net/netip"
	"unsafe"
)

type addr = netip.Addr

// parseIPv4 parses a dotted quad without allocating.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	part, n, digitsInPart := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digitsInPart == 0 || n == 4 {
				return netip.Addr{}, false
			}
			out[n] = byte(part)
			n++
			part, digitsInPart = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || digitsInPart == 3 || (digitsInPart > 0 && part == 0) {
			return netip.Addr{}, false
		}
		part = part*10 + int(c-'0')
		if part > 255 {
			return netip.Addr{}, false
		}
		digitsInPart++
	}
	if n != 4 {
		return netip.Addr{}, false
	}
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
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
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

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseUUID reads the canonical 8-4-4-4-12 form.
func parseUUID(b []byte) (UUID, bool) {
	var u UUID
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(b[i])
		lo, ok2 := unhex(b[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
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
// lookups onto PERMIT and DENY.
func normaliseAction(b []byte) Action {
	switch {
	case len(b) == 0:
		return ActionNone
	case equalFold(b, "permit"), equalFold(b, "allow"), equalFold(b, "accept"), equalFold(b, "pass"):
		return ActionPermit
	case equalFold(b, "deny"), equalFold(b, "drop"), equalFold(b, "block"), equalFold(b, "reject"):
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
