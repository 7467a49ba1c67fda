package clickhouse

import (
	"slices"
	"sync"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
)

// outcome is how an inserter finished with a sealed batch.
type outcome uint8

const (
	rowsStored   outcome = iota // its rows are in ClickHouse: record it
	deadLettered                // refused for good, rows in the dead-letter file: no record, durable
	abandoned                   // refused and the dead-letter file failed: no record, not durable
)

// recorder writes the ingest_batches rows of batches whose rows are stored,
// in each chain's seal order, and only then reports the batches durable.
//
// The inserters store the rows of sealed batches in any order and in groups
// that mix chains; the ingest_batches rows must still form a gapless prefix
// of every chain (a chain's newest row is where Resume restarts). Keeping
// that order here, in one goroutine that waits for nothing but its own
// INSERT, means no inserter ever waits for another: an inserter that held
// a batch while waiting for the record of its chain predecessor, itself
// held by another inserter waiting the same way, stalled both for good.
type recorder struct {
	st *Store

	mu      sync.Mutex
	arrived []*batch
	closing bool
	kick    chan struct{}
	done    chan struct{}

	// Owned by run.
	waiting map[*Sink][]*batch
}

func newRecorder(st *Store) *recorder {
	return &recorder{st: st, kick: make(chan struct{}, 1), done: make(chan struct{}), waiting: map[*Sink][]*batch{}}
}

// finished hands over a batch an inserter is done with. It never blocks.
func (r *recorder) finished(b *batch, o outcome) {
	b.outcome = o
	r.mu.Lock()
	r.arrived = append(r.arrived, b)
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
	for {
		<-r.kick
		r.mu.Lock()
		arrived, closing := r.arrived, r.closing
		r.arrived = nil
		r.mu.Unlock()
		for _, b := range arrived {
			r.waiting[b.owner] = append(r.waiting[b.owner], b)
			if b.outcome == abandoned {
				b.settle() // not durable; it stays in waiting, holding its chain
			}
		}
		for {
			record, settled := r.next()
			for _, b := range settled {
				b.settle()
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

// next takes, from every chain, the batches that follow its last recorded
// one without a gap: those whose rows are stored are to be recorded (in
// one INSERT), dead-lettered ones are settled at once. An abandoned batch
// stops its chain: a record after it would tell Resume that its events
// are stored.
func (r *recorder) next() (record, settled []*batch) {
	for s, bs := range r.waiting {
		slices.SortFunc(bs, func(a, b *batch) int { return compareSeq(a.seq, b.seq) })
		k := 0
		for k < len(bs) && bs[k].seq == s.recordedSeq+1 && bs[k].outcome != abandoned {
			switch bs[k].outcome {
			case rowsStored:
				record = append(record, bs[k])
			case deadLettered:
				settled = append(settled, bs[k])
			}
			s.recordedSeq = bs[k].seq
			k++
		}
		if k == len(bs) {
			delete(r.waiting, s)
		} else {
			r.waiting[s] = bs[k:]
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

// record inserts the batches' ingest_batches rows as one block, retrying
// with the same rows and token until ClickHouse takes them, then reports
// the batches durable. Their rows are stored whatever happens here: a
// refusal no retry can fix is logged and counted, and the batches are
// still reported durable (Verify shows the missing records).
func (r *recorder) record(bs []*batch) {
	st := r.st
	token := newGroup(bs).token + "-batch"
	at := time.Now().UTC()
	retry := delivery.NewBackoff(100*time.Millisecond, time.Duration(st.cfg.MaxRetryBackoff))
	for attempt := 0; ; attempt++ {
		err := st.insertBatchRecords(bs, token, at)
		if err == nil {
			break
		}
		if !Retriable(err) {
			st.m.failures.WithLabelValues("false").Inc()
			st.log.Error().Err(err).Int("batches", len(bs)).
				Msg("clickhouse refused the ingest_batches rows; the batches' rows are stored but their hash chain records are missing")
			break
		}
		st.m.failures.WithLabelValues("true").Inc()
		if attempt == 0 || attempt%20 == 0 {
			st.log.Warn().Err(err).Int("batches", len(bs)).Int("attempt", attempt+1).
				Msg("clickhouse insert of ingest_batches rows failed; retrying the same rows")
		}
		retry.Wait()
	}
	for _, b := range bs {
		st.m.latency.Observe(time.Since(b.sealedAt).Seconds())
		b.settle()
	}
}
