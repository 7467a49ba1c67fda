package clickhouse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ChainReport is what Verify found for one chain.
type ChainReport struct {
	Batches int
	Rows    uint64
	// Records are the batches checked, in sequence order.
	Records []BatchRecord
	// Problems lists every mismatch, first one first; empty means the chain
	// verified.
	Problems []string
}

// BatchRecord is one ingest_batches row.
type BatchRecord struct {
	Seq          uint64 `json:"seq"`
	BatchID      string `json:"batch_id"` // hex
	Rows         uint64 `json:"rows"`     // parsed and unparsed
	ContentSHA   string `json:"content_sha256"`
	PrevSHA      string `json:"prev_sha256"`
	ChainSHA     string `json:"chain_sha256"`
	InsertedAtMs int64  `json:"inserted_at_ms"`
}

// OK reports whether the chain verified.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// Verify walks the chain's ingest_batches rows in order, checks that each
// links to the one before, and recomputes each batch's content hash from the
// rows dcf_events and raw_unparsed hold for it (each event_id once, so
// replayed inserts do not count twice). A removed, added or altered row or
// batch shows up as a problem.
func Verify(ctx context.Context, conn driver.Conn, database, chainID string) (ChainReport, error) {
	return VerifyRange(ctx, conn, database, chainID, 0, ^uint64(0))
}

// VerifyRange is Verify for the batches first..last of the chain; the
// batch before first, when there is one, anchors the link of the first.
func VerifyRange(ctx context.Context, conn driver.Conn, database, chainID string, first, last uint64) (ChainReport, error) {
	db := quoteIdent(database)
	anchor := first
	if anchor > 0 {
		anchor--
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT seq, batch_id, rows + unparsed_rows, content_sha256, prev_sha256, chain_sha256, toInt64(toUnixTimestamp(inserted_at)) * 1000
FROM %s.ingest_batches WHERE chain_id = ? AND seq >= ? AND seq <= ? ORDER BY seq`, db), chainID, anchor, last)
	if err != nil {
		return ChainReport{}, err
	}
	type rec struct {
		BatchRecord
		id                    string
		content, prev, linked string
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.Seq, &r.id, &r.Rows, &r.content, &r.prev, &r.linked, &r.InsertedAtMs); err != nil {
			rows.Close()
			return ChainReport{}, err
		}
		r.BatchID, r.ContentSHA, r.PrevSHA, r.ChainSHA = hex.EncodeToString([]byte(r.id)), hex.EncodeToString([]byte(r.content)),
			hex.EncodeToString([]byte(r.prev)), hex.EncodeToString([]byte(r.linked))
		recs = append(recs, r)
	}
	rows.Close()
	var rep ChainReport
	var prev [32]byte
	havePrev := false
	if len(recs) > 0 && recs[0].Seq < first { // the anchor: only its link counts
		copy(prev[:], recs[0].linked)
		havePrev = true
		recs = recs[1:]
	}
	for i, r := range recs {
		rep.Batches++
		rep.Records = append(rep.Records, r.BatchRecord)
		if i > 0 && r.Seq != recs[i-1].Seq+1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batches %d..%d are missing", recs[i-1].Seq+1, r.Seq-1))
		}
		if i == 0 && first > 0 && r.Seq != first {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batches %d..%d are missing", first, r.Seq-1))
		}
		if (i > 0 || havePrev) && r.prev != string(prev[:]) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d does not link to batch %d", r.Seq, r.Seq-1))
		}
		var content, p [32]byte
		copy(content[:], r.content)
		copy(p[:], r.prev)
		if chainHash(p, content) != [32]byte([]byte(r.linked)) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d: chain_sha256 does not match its content and predecessor", r.Seq))
		}
		copy(prev[:], r.linked)
		got, n, err := storedContentHash(ctx, conn, db, r.id)
		if err != nil {
			return rep, err
		}
		rep.Rows += n
		if n != r.Rows {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d: %d rows recorded, %d stored", r.Seq, r.Rows, n))
		}
		if got != content {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d (%s): stored rows do not hash to content_sha256", r.Seq, r.BatchID))
		}
	}
	return rep, nil
}

func storedContentHash(ctx context.Context, conn driver.Conn, db, batchID string) ([32]byte, uint64, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT event_id, any(raw) FROM (
  SELECT event_id, raw FROM %[1]s.dcf_events WHERE batch_id = ?
  UNION ALL
  SELECT event_id, raw FROM %[1]s.raw_unparsed WHERE batch_id = ?
) GROUP BY event_id ORDER BY event_id`, db), batchID, batchID)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer rows.Close()
	h := sha256.New()
	var n uint64
	var lenBuf [8]byte
	var last []byte
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return [32]byte{}, 0, err
		}
		if last != nil && bytes.Compare([]byte(id), last) <= 0 {
			return [32]byte{}, 0, fmt.Errorf("rows of batch %x not in event_id order", batchID)
		}
		last = []byte(id)
		h.Write([]byte(id))
		binary.BigEndian.PutUint64(lenBuf[:], uint64(len(raw)))
		h.Write(lenBuf[:])
		h.Write([]byte(raw))
		n++
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, n, rows.Err()
}
