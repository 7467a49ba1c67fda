package clickhouse

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
)

// outcome is how an inserter finished with a sealed batch's segments.
type outcome uint8

const (
	rowsStored   outcome = iota // its rows are in ClickHouse: record it
	deadLettered                // refused for good, rows in the dead-letter file: no record, durable
	abandoned                   // refused and the dead-letter file failed: no record, not durable
)

// recorder writes the ingest_batches rows of segments whose rows are
// stored, in each chain's seal order, and only then reports the segments
// durable.
//
// The inserters store batches in any order, and a batch holds segments of
// several chains; the ingest_batches rows must still form a gapless prefix
// of every chain (a chain's newest row is where Resume restarts). Keeping
// that order here, in one goroutine that waits for nothing but its own
// INSERT, means no inserter ever waits for another: an inserter that held
// a batch while waiting for the record of a chain predecessor, itself held
// by another inserter waiting the same way, stalled both for good.
type recorder struct {
	st *Store

	mu      sync.Mutex
	arrived []*segment
	closing bool
	kick    chan struct{}
	done    chan struct{}

	// Owned by run.
	waiting map[*Sink][]*segment
	conn    nativeConn
	table   recordRows
}

func newRecorder(st *Store) *recorder {
	return &recorder{st: st, kick: make(chan struct{}, 1), done: make(chan struct{}), waiting: map[*Sink][]*segment{}}
}

// finished hands over a segment an inserter is done with. It never blocks.
func (r *recorder) finished(seg *segment, o outcome) {
	seg.outcome = o
	r.mu.Lock()
	r.arrived = append(r.arrived, seg)
	r.mu.Unlock()
	r.wake()
}

// close lets run return once everything handed over that can be recorded
// is (call after the last finished).
func (r *recorder) close() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	r.wake()
}

func (r *recorder) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *recorder) run() {
	defer close(r.done)
	defer r.conn.close()
	for {
		<-r.kick
		r.mu.Lock()
		arrived, closing := r.arrived, r.closing
		r.arrived = nil
		r.mu.Unlock()
		for _, seg := range arrived {
			r.waiting[seg.owner] = append(r.waiting[seg.owner], seg)
			if seg.outcome == abandoned {
				seg.settle() // not durable; it stays in waiting, holding its chain
			}
		}
		for {
			record, settled := r.next()
			for _, seg := range settled {
				seg.settle()
			}
			if len(record) == 0 {
				break
			}
			r.record(record)
		}
		if closing {
			return
		}
	}
}

// next takes, from every chain, the segments that follow its last recorded
// one without a gap: those whose rows are stored are to be recorded (in
// one INSERT), dead-lettered ones are settled at once. An abandoned segment
// stops its chain: a record after it would tell Resume that its events
// are stored.
func (r *recorder) next() (record, settled []*segment) {
	for s, segs := range r.waiting {
		slices.SortFunc(segs, func(a, b *segment) int { return compareSeq(a.seq, b.seq) })
		k := 0
		for k < len(segs) && segs[k].seq == s.recordedSeq+1 && segs[k].outcome != abandoned {
			switch segs[k].outcome {
			case rowsStored:
				record = append(record, segs[k])
			case deadLettered:
				settled = append(settled, segs[k])
			}
			s.recordedSeq = segs[k].seq
			k++
		}
		if k == len(segs) {
			delete(r.waiting, s)
		} else {
			r.waiting[s] = segs[k:]
		}
	}
	return record, settled
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// record inserts the segments' ingest_batches rows as one block, retrying
// with the same rows and token until ClickHouse takes them, then reports
// the segments durable. Their rows are stored whatever happens here: a
// refusal no retry can fix is logged and counted, and the segments are
// still reported durable (Verify shows the missing records).
func (r *recorder) record(segs []*segment) {
	st := r.st
	ids := make([]*segment, len(segs))
	copy(ids, segs)
	token := batchToken(ids) + "-batch"
	at := time.Now().UTC()
	r.table.reset()
	for _, seg := range segs {
		r.table.add(seg, at)
	}
	retry := delivery.NewBackoff(100*time.Millisecond, time.Duration(st.cfg.MaxRetryBackoff))
	for attempt := 0; ; attempt++ {
		err := r.conn.insert(context.Background(), st.cfg, "ingest_batches", &r.table, token)
		if err == nil {
			break
		}
		r.conn.close()
		if !Retriable(err) {
			st.m.failures.WithLabelValues("false").Inc()
			st.log.Error().Err(err).Int("batches", len(segs)).
				Msg("clickhouse refused the ingest_batches rows; the batches' rows are stored but their hash chain records are missing")
			break
		}
		st.m.failures.WithLabelValues("true").Inc()
		if attempt == 0 || attempt%20 == 0 {
			st.log.Warn().Err(err).Int("batches", len(segs)).Int("attempt", attempt+1).
				Msg("clickhouse insert of ingest_batches rows failed; retrying the same rows")
		}
		retry.Wait()
	}
	st.m.rows.WithLabelValues("ingest_batches").Add(float64(len(segs)))
	for _, seg := range segs {
		st.m.latency.Observe(time.Since(seg.sealedAt).Seconds())
		seg.settle()
	}
}
