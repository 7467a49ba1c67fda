package parse

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestEventIDLayout(t *testing.T) {
	origin := [8]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}
	for _, tc := range []struct {
		seq  uint64
		want string
	}{
		{0, "deadbeef010203040000000000000000"},
		{1, "deadbeef010203040000000000000001"},
		{0x0102030405060708, "deadbeef010203040102030405060708"},
		{^uint64(0), "deadbeef01020304ffffffffffffffff"},
	} {
		id := NewEventID(origin, tc.seq)
		if hex.EncodeToString(id[:]) != tc.want {
			t.Errorf("NewEventID(%x, %d) = %x, want %s", origin, tc.seq, id[:], tc.want)
		}
		if id.Origin() != origin || id.Seq() != tc.seq {
			t.Errorf("NewEventID(%x, %d): Origin %x Seq %d", origin, tc.seq, id.Origin(), id.Seq())
		}
	}
	// Ids of one origin sort as their positions do: ClickHouse orders and
	// resumes by them.
	if a, b := NewEventID(origin, 255), NewEventID(origin, 256); bytes.Compare(a[:], b[:]) >= 0 {
		t.Errorf("id of 255 (%x) does not sort before id of 256 (%x)", a[:], b[:])
	}
}
