// The ingest hash chain: the ids and content hashes that make a batch
// idempotent on retry and link it to the chain's previous batch.

package clickhouse

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// segmentID is deterministic in the rows the segment holds, so the same
// rows retried carry the same id (and the same insert_deduplication_token).
func segmentID(seg *segment) [16]byte {
	h := sha256.New()
	h.Write(seg.first[:])
	h.Write(seg.last[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(seg.rows()))
	h.Write(n[:])
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id
}

// batchToken names a batch's INSERTs for deduplication: its segment's id
// when it has one, else a hash of its segments' ids in order.
func batchToken(segs []*segment) string {
	if len(segs) == 1 {
		return hex.EncodeToString(segs[0].id[:])
	}
	h := sha256.New()
	for _, seg := range segs {
		h.Write(seg.id[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// contentHashes sets each segment's content hash: SHA-256 over its rows in
// event_id order, for each row its event_id (16 bytes), the length of its
// raw line (8 bytes, big endian) and the raw line. Verify recomputes it
// from what ClickHouse holds. Each table holds a chain's rows in the order
// written, which is event_id order: merging the two is enough.
func contentHashes(b *batch) {
	type cursor struct {
		ids  *fixed16
		raw  *strCol
		segs []uint16
		i    int
	}
	evID, evRaw := b.events.idAndRaw()
	unID, unRaw := b.unparsed.idAndRaw()
	for k, seg := range b.segs {
		tables := [2]cursor{{evID, evRaw, b.eventSeg, 0}, {unID, unRaw, b.unparsedSeg, 0}}
		next := func(c *cursor) bool {
			for c.i < len(c.segs) && int(c.segs[c.i]) != k {
				c.i++
			}
			return c.i < len(c.segs)
		}
		h := sha256.New()
		var n [8]byte
		write := func(c *cursor) {
			id := c.ids.Row(c.i)
			raw := c.raw.RowBytes(c.i)
			h.Write(id[:])
			binary.BigEndian.PutUint64(n[:], uint64(len(raw)))
			h.Write(n[:])
			h.Write(raw)
			c.i++
		}
		a, u := &tables[0], &tables[1]
		for {
			ha, hu := next(a), next(u)
			if !ha && !hu {
				break
			}
			switch {
			case !hu:
				write(a)
			case !ha:
				write(u)
			default:
				ia, iu := a.ids.Row(a.i), u.ids.Row(u.i)
				if bytes.Compare(ia[:], iu[:]) <= 0 {
					write(a)
				} else {
					write(u)
				}
			}
		}
		copy(seg.content[:], h.Sum(nil))
	}
}

func chainHash(prev, content [32]byte) [32]byte {
	return sha256.Sum256(append(prev[:], content[:]...))
}
