// Inserting: sealed batches handed to the inserters, retried with backoff
// until the server has them, and the writers told which events are durable.

package clickhouse

import (
	"context"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
)

// ticker seals a batch that has waited flush_interval.
func (st *Store) ticker() {
	defer st.bg.Done()
	iv := time.Duration(st.cfg.FlushInterval)
	t := time.NewTicker(max(iv/4, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-st.quit:
			return
		case <-t.C:
			st.mu.Lock()
			if !st.closed && st.open.rows() > 0 && time.Since(st.opened) >= iv {
				st.sealLocked()
			}
			st.mu.Unlock()
		}
	}
}

// inserter sends sealed batches, one at a time, over a native connection
// of its own.
func (st *Store) inserter() {
	defer st.ins.Done()
	var c nativeConn
	defer c.close()
	for b := range st.pending {
		st.insert(&c, b)
	}
}

// insert stores the batch's rows, retrying retriable failures with capped
// exponential backoff and jitter until they succeed, and hands its
// segments to the recorder; the batch is then free for reuse. A batch that
// ClickHouse refuses for good goes to the dead-letter directory.
func (st *Store) insert(c *nativeConn, b *batch) {
	retry := delivery.NewBackoff(100*time.Millisecond, time.Duration(st.cfg.MaxRetryBackoff))
	for attempt := 0; ; attempt++ {
		err := st.insertOnce(c, b)
		if err == nil {
			st.finish(b, rowsStored)
			return
		}
		c.close() // a failed INSERT leaves the connection in an unknown state
		if !Retriable(err) {
			st.m.failures.WithLabelValues("false").Inc()
			if st.deadLetter(b, err) {
				st.finish(b, deadLettered)
			} else {
				st.finish(b, abandoned)
			}
			return
		}
		st.m.failures.WithLabelValues("true").Inc()
		if attempt == 0 || attempt%20 == 0 {
			st.log.Warn().Err(err).Int("rows", b.rows()).Int("chains", len(b.segs)).Int("attempt", attempt+1).
				Msg("clickhouse insert failed; retrying the same batch")
		}
		retry.Wait()
	}
}

// finish hands the batch's segments to the recorder and the batch back
// for reuse.
func (st *Store) finish(b *batch, o outcome) {
	for _, seg := range b.segs {
		st.rec.finished(seg, o)
	}
	st.m.pending.Dec()
	b.reset()
	select {
	case st.free <- b:
	default:
	}
}

func (st *Store) insertOnce(c *nativeConn, b *batch) error {
	steps := []struct {
		name string
		t    tableRows
	}{{"dcf_events", &b.events}, {"raw_unparsed", &b.unparsed}}
	for b.done < len(steps) {
		step := steps[b.done]
		if step.t.rows() > 0 {
			start := time.Now()
			if err := c.insert(context.Background(), st.cfg, step.name, step.t, b.token+"-"+step.name); err != nil {
				return err
			}
			st.m.insertDuration.WithLabelValues(step.name).Observe(time.Since(start).Seconds())
			st.m.rows.WithLabelValues(step.name).Add(float64(step.t.rows()))
		}
		b.done++
	}
	return nil
}

// settle ends the segment's part in its sink's shutdown accounting and,
// unless it was abandoned, runs the durable callbacks of the writes it
// completes.
func (seg *segment) settle() {
	if seg.outcome != abandoned {
		for _, w := range seg.waiters {
			w.release()
		}
	}
	seg.waiters = nil
	seg.owner.inflight.Done()
}
