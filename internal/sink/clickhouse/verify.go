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
	// Problems lists every mismatch, first one first; empty means the chain
	// verified.
	Problems []string
}

// OK reports whether the chain verified.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// Verify walks the chain's ingest_batches rows in order, checks that each
// links to the one before, and recomputes each batch's content hash from the
// rows dcf_events and raw_unparsed hold for it (each event_id once, so
// replayed inserts do not count twice). A removed, added or altered row or
// batch shows up as a problem.
func Verify(ctx context.Context, conn driver.Conn, database, chainID string) (ChainReport, error) {
	db := quoteIdent(database)
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT seq, batch_id, rows + unparsed_rows, content_sha256, prev_sha256, chain_sha256
FROM %s.ingest_batches FINAL WHERE chain_id = ? ORDER BY seq`, db), chainID)
	if err != nil {
		return ChainReport{}, err
	}
	type rec struct {
		seq                   uint64
		id                    string
		rows                  uint64
		content, prev, linked string
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.seq, &r.id, &r.rows, &r.content, &r.prev, &r.linked); err != nil {
			rows.Close()
			return ChainReport{}, err
		}
		recs = append(recs, r)
	}
	rows.Close()
	var rep ChainReport
	var prev [32]byte
	for i, r := range recs {
		rep.Batches++
		if i > 0 && r.seq != recs[i-1].seq+1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batches %d..%d are missing", recs[i-1].seq+1, r.seq-1))
		}
		if i > 0 && r.prev != string(prev[:]) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d does not link to batch %d", r.seq, recs[i-1].seq))
		}
		var content, p [32]byte
		copy(content[:], r.content)
		copy(p[:], r.prev)
		if chainHash(p, content) != [32]byte([]byte(r.linked)) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d: chain_sha256 does not match its content and predecessor", r.seq))
		}
		copy(prev[:], r.linked)
		got, n, err := storedContentHash(ctx, conn, db, r.id)
		if err != nil {
			return rep, err
		}
		rep.Rows += n
		if n != r.rows {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d: %d rows recorded, %d stored", r.seq, r.rows, n))
		}
		if got != content {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d (%s): stored rows do not hash to content_sha256", r.seq, hex.EncodeToString([]byte(r.id))))
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
