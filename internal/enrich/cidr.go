package enrich

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// u128 is an address in the IPv6 space (IPv4 mapped as ::ffff:a.b.c.d).
type u128 struct{ hi, lo uint64 }

func addr128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) inc() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, false // past the last address
		}
	}
	return u128{hi, lo}, true
}

// prefixRange returns the first and last address of p in the IPv6 space.
func prefixRange(p netip.Prefix) (first, last u128) {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	first = addr128(p.Addr())
	host := 128 - bits
	switch {
	case host == 0:
		last = first
	case host < 64:
		last = u128{first.hi, first.lo | (1<<host - 1)}
	case host == 64:
		last = u128{first.hi, ^uint64(0)}
	default:
		last = u128{first.hi | (1<<(host-64) - 1), ^uint64(0)}
	}
	return first, last
}

// addrIndex maps an address to the names of the SmartGroups that hold it,
// most specific prefix first. The prefixes are flattened into sorted,
// disjoint intervals, each with its precomputed list of names, so a lookup
// is one binary search and returns a shared slice: no allocation.
type addrIndex struct {
	starts []u128
	names  [][]string // names[i] applies from starts[i] up to starts[i+1]
}

type prefixEntry struct {
	first, last u128
	bits        int // in the IPv6 space
	group       int
}

// buildAddrIndex flattens (prefix, group) pairs. Prefixes nest or are
// disjoint, so a stack of the prefixes open at each boundary gives the
// holders of every interval, innermost on top.
func buildAddrIndex(entries []prefixEntry, groupNames []string) addrIndex {
	slices.SortFunc(entries, func(a, b prefixEntry) int {
		if a.first != b.first {
			if a.first.less(b.first) {
				return -1
			}
			return 1
		}
		if a.bits != b.bits {
			return a.bits - b.bits // outer first
		}
		return b.group - a.group // equal prefixes: the first-defined group on top
	})
	var bounds []u128
	for _, e := range entries {
		bounds = append(bounds, e.first)
		if next, ok := e.last.inc(); ok {
			bounds = append(bounds, next)
		}
	}
	slices.SortFunc(bounds, func(a, b u128) int {
		if a == b {
			return 0
		}
		if a.less(b) {
			return -1
		}
		return 1
	})
	bounds = slices.Compact(bounds)

	var ix addrIndex
	interned := map[string][]string{}
	var stack []prefixEntry
	var key strings.Builder
	i := 0
	for _, b := range bounds {
		for len(stack) > 0 && stack[len(stack)-1].last.less(b) {
			stack = stack[:len(stack)-1]
		}
		for i < len(entries) && entries[i].first == b {
			stack = append(stack, entries[i])
			i++
		}
		// Innermost first, each group once (a group may hold nested prefixes).
		key.Reset()
		var names []string
		seen := map[int]bool{}
		for k := len(stack) - 1; k >= 0; k-- {
			g := stack[k].group
			if seen[g] {
				continue
			}
			seen[g] = true
			names = append(names, groupNames[g])
			key.WriteString(strconv.Itoa(g))
			key.WriteByte(',')
		}
		if len(names) > 0 {
			if shared, ok := interned[key.String()]; ok {
				names = shared
			} else {
				names = slices.Clip(names)
				interned[key.String()] = names
			}
		}
		if n := len(ix.names); n > 0 && sameSlice(ix.names[n-1], names) {
			continue // same holders as the interval before: merge
		}
		ix.starts = append(ix.starts, b)
		ix.names = append(ix.names, names)
	}
	return ix
}

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// lookup returns the SmartGroups holding a, or nil.
func (ix *addrIndex) lookup(a netip.Addr) []string {
	if !a.IsValid() || len(ix.starts) == 0 {
		return nil
	}
	x := addr128(a)
	// The last interval starting at or before x.
	lo, hi := 0, len(ix.starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s := ix.starts[m]; s.hi < x.hi || (s.hi == x.hi && s.lo <= x.lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return nil
	}
	return ix.names[lo-1]
}
