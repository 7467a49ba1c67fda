package clickhouse

import (
	"encoding/hex"
	"math"
	"net/netip"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
)

// wireCol is one column of a batch in ClickHouse's native wire format,
// filled row by row and sent as is (ch-go encodes it into the INSERT's
// data block). The types below hold plain typed slices: appending a value
// copies it once and converts nothing at send time, and Reset keeps the
// memory for the next batch.
type wireCol interface {
	proto.ColInput
	Reset()
	// value renders row i for the dead-letter file.
	value(i int) any
}

// fixed16 is FixedString(16): event and batch ids.
type fixed16 struct{ proto.ColFixedStr16 }

func (c *fixed16) value(i int) any { v := c.Row(i); return hex.EncodeToString(v[:]) }

// ipCol is IPv6, IPv4 addresses mapped (::ffff:a.b.c.d); the zero address
// (::) stands for no address.
type ipCol struct{ proto.ColIPv6 }

func (c *ipCol) add(a netip.Addr) {
	if !a.IsValid() {
		c.Append(proto.IPv6{})
		return
	}
	c.Append(proto.IPv6(a.As16()))
}

func (c *ipCol) value(i int) any {
	v := c.Row(i)
	if v == (proto.IPv6{}) {
		return ""
	}
	return netip.AddrFrom16(v).Unmap().String()
}

// dt64 is DateTime64(3, 'UTC') as epoch milliseconds.
type dt64 struct{ ms proto.ColInt64 }

func (c *dt64) add(t time.Time)              { c.ms.Append(t.UnixMilli()) }
func (c *dt64) Type() proto.ColumnType       { return "DateTime64(3, 'UTC')" }
func (c *dt64) Rows() int                    { return c.ms.Rows() }
func (c *dt64) EncodeColumn(b *proto.Buffer) { c.ms.EncodeColumn(b) }
func (c *dt64) Reset()                       { c.ms.Reset() }
func (c *dt64) value(i int) any              { return time.UnixMilli(c.ms.Row(i)).UTC() }

// strCol is String.
type strCol struct{ proto.ColStr }

func (c *strCol) value(i int) any { return c.Row(i) }

// Plain numbers.
type (
	u8Col  struct{ proto.ColUInt8 }
	u16Col struct{ proto.ColUInt16 }
	u32Col struct{ proto.ColUInt32 }
	u64Col struct{ proto.ColUInt64 }
	i64Col struct{ proto.ColInt64 }
)

func (c *u8Col) value(i int) any  { return c.Row(i) }
func (c *u16Col) value(i int) any { return c.Row(i) }
func (c *u32Col) value(i int) any { return c.Row(i) }
func (c *u64Col) value(i int) any { return c.Row(i) }
func (c *i64Col) value(i int) any { return c.Row(i) }

// nullU8 is Nullable(UInt8): a null map, then the values (0 under a null).
type nullU8 struct{ nulls, values proto.ColUInt8 }

func (c *nullU8) add(v uint8, ok bool) {
	if !ok {
		c.nulls.Append(1)
		c.values.Append(0)
		return
	}
	c.nulls.Append(0)
	c.values.Append(v)
}

func (c *nullU8) Type() proto.ColumnType { return "Nullable(UInt8)" }
func (c *nullU8) Rows() int              { return c.values.Rows() }
func (c *nullU8) EncodeColumn(b *proto.Buffer) {
	c.nulls.EncodeColumn(b)
	c.values.EncodeColumn(b)
}
func (c *nullU8) Reset() { c.nulls.Reset(); c.values.Reset() }
func (c *nullU8) value(i int) any {
	if c.nulls.Row(i) == 1 {
		return nil
	}
	return c.values.Row(i)
}

// lcStr is LowCardinality(String), dictionary-encoded as it is filled:
// each distinct value is copied once into the dictionary, each row adds a
// key. A value is looked up by its bytes, without copying them; the empty
// string is key 0 without a lookup (most optional fields are empty).
type lcStr struct {
	dict  map[string]uint32
	index proto.ColStr
	keys  []uint32
	// The last string added and its key: values from a fixed set (kinds,
	// statuses, catalog names) repeat the same string, found by its
	// address without hashing it.
	last    string
	lastKey uint32
	// The key columns the wire wants, in the narrowest width that holds the
	// dictionary; kept for reuse.
	keys8  proto.ColUInt8
	keys16 proto.ColUInt16
	keys32 proto.ColUInt32
}

func (c *lcStr) init() {
	if c.dict == nil {
		c.dict = make(map[string]uint32, 64)
		c.index.Append("")
	}
}

func (c *lcStr) addBytes(v []byte) {
	if len(v) == 0 {
		c.keys = append(c.keys, 0)
		return
	}
	k, ok := c.dict[string(v)]
	if !ok {
		k = c.insert(string(v))
	}
	c.keys = append(c.keys, k)
}

func (c *lcStr) add(v string) {
	if v == "" {
		c.keys = append(c.keys, 0)
		return
	}
	if len(v) == len(c.last) && unsafe.StringData(v) == unsafe.StringData(c.last) {
		c.keys = append(c.keys, c.lastKey)
		return
	}
	k, ok := c.dict[v]
	if !ok {
		k = c.insert(v)
	}
	c.last, c.lastKey = v, k
	c.keys = append(c.keys, k)
}

// insert adds a new distinct value (a copy: v may point into a receive
// buffer) and returns its key.
func (c *lcStr) insert(v string) uint32 {
	c.init()
	k := uint32(c.index.Rows())
	c.index.Append(v)
	c.dict[c.index.Row(int(k))] = k
	return k
}

// row is the value of row i.
func (c *lcStr) row(i int) string {
	if c.keys[i] == 0 {
		return ""
	}
	return c.index.Row(int(c.keys[i]))
}

func (c *lcStr) Type() proto.ColumnType { return "LowCardinality(String)" }
func (c *lcStr) Rows() int              { return len(c.keys) }
func (c *lcStr) value(i int) any        { return c.row(i) }

func (c *lcStr) Reset() {
	c.last, c.lastKey = "", 0
	if c.dict != nil {
		clear(c.dict)
		c.index.Reset()
		c.index.Append("")
	}
	c.keys = c.keys[:0]
}

// EncodeState writes the key serialization version (shared dictionaries
// with additional keys, the only one the native protocol uses).
func (c *lcStr) EncodeState(b *proto.Buffer) { b.PutInt64(1) }

// EncodeColumn writes the dictionary as additional keys and the rows as
// keys of the narrowest width.
func (c *lcStr) EncodeColumn(b *proto.Buffer) { c.encode(b, c.keys) }

func (c *lcStr) encode(b *proto.Buffer, keys []uint32) {
	if len(keys) == 0 {
		return
	}
	c.init()
	const (
		hasAdditionalKeys = 1 << 9
		updateDictionary  = 1 << 10
	)
	n := c.index.Rows()
	var width proto.CardinalityKey
	switch {
	case n <= math.MaxUint8+1:
		width = proto.KeyUInt8
	case n <= math.MaxUint16+1:
		width = proto.KeyUInt16
	default:
		width = proto.KeyUInt32
	}
	b.PutInt64(int64(width) | hasAdditionalKeys | updateDictionary)
	b.PutInt64(int64(n))
	c.index.EncodeColumn(b)
	b.PutInt64(int64(len(keys)))
	switch width {
	case proto.KeyUInt8:
		c.keys8 = c.keys8[:0]
		for _, k := range keys {
			c.keys8 = append(c.keys8, uint8(k))
		}
		c.keys8.EncodeColumn(b)
	case proto.KeyUInt16:
		c.keys16 = c.keys16[:0]
		for _, k := range keys {
			c.keys16 = append(c.keys16, uint16(k))
		}
		c.keys16.EncodeColumn(b)
	default:
		c.keys32 = append(c.keys32[:0], keys...)
		c.keys32.EncodeColumn(b)
	}
}

// lcArr is Array(LowCardinality(String)): per row the end offset of its
// elements, then the elements as one LowCardinality column.
type lcArr struct {
	offsets proto.ColUInt64
	elems   lcStr
}

// add appends a row of strings (the catalog's immutable slices).
func (c *lcArr) add(vs []string) {
	for _, v := range vs {
		c.elems.add(v)
	}
	c.offsets.Append(uint64(len(c.elems.keys)))
}

func (c *lcArr) Type() proto.ColumnType      { return "Array(LowCardinality(String))" }
func (c *lcArr) Rows() int                   { return c.offsets.Rows() }
func (c *lcArr) EncodeState(b *proto.Buffer) { c.elems.EncodeState(b) }
func (c *lcArr) EncodeColumn(b *proto.Buffer) {
	c.offsets.EncodeColumn(b)
	c.elems.EncodeColumn(b)
}
func (c *lcArr) Reset() { c.offsets.Reset(); c.elems.Reset() }

func (c *lcArr) value(i int) any {
	start := uint64(0)
	if i > 0 {
		start = c.offsets.Row(i - 1)
	}
	out := []string{}
	for k := start; k < c.offsets.Row(i); k++ {
		out = append(out, c.elems.row(int(k)))
	}
	return out
}

// strArr is Array(String): per row the end offset of its elements, then
// the elements.
type strArr struct {
	offsets proto.ColUInt64
	elems   proto.ColStr
}

func (c *strArr) endRow() { c.offsets.Append(uint64(c.elems.Rows())) }

func (c *strArr) Type() proto.ColumnType { return "Array(String)" }
func (c *strArr) Rows() int              { return c.offsets.Rows() }
func (c *strArr) EncodeColumn(b *proto.Buffer) {
	c.offsets.EncodeColumn(b)
	c.elems.EncodeColumn(b)
}
func (c *strArr) Reset() { c.offsets.Reset(); c.elems.Reset() }

func (c *strArr) value(i int) any {
	start := uint64(0)
	if i > 0 {
		start = c.offsets.Row(i - 1)
	}
	out := []string{}
	for k := start; k < c.offsets.Row(i); k++ {
		out = append(out, c.elems.Row(int(k)))
	}
	return out
}

// WriteColumn is EncodeColumn for ch-go's uncompressed path.
func (c *dt64) WriteColumn(w *proto.Writer)   { w.ChainBuffer(c.EncodeColumn) }
func (c *nullU8) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }
func (c *lcStr) WriteColumn(w *proto.Writer)  { w.ChainBuffer(c.EncodeColumn) }
func (c *lcArr) WriteColumn(w *proto.Writer)  { w.ChainBuffer(c.EncodeColumn) }
func (c *strArr) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }
