package delivery

import (
	"sync"
	"time"
)

// Watermark turns durable reports that arrive in any order into in-order
// progress. Positions are added in source order (a spool batch's end, a
// Kafka offset); once every position up to one is durable, advance is
// called with it. A source commits only what advance gives it, so a crash
// never skips an event that was not stored.
//
// It also says how long the oldest position not yet durable has waited,
// which is what a stall looks like from outside: records read, nothing
// getting past them.
type Watermark[P any] struct {
	advance func(P)

	mu      sync.Mutex
	marks   []*Mark[P] // added and not yet passed, oldest first
	added   uint64
	last    time.Time  // when the watermark last moved
	advMu   sync.Mutex // advance calls, in order
	advDone uint64
}

// Mark is one added position.
type Mark[P any] struct {
	w       *Watermark[P]
	pos     P
	n       uint64
	addedAt time.Time
	durable bool
}

// NewWatermark calls advance, outside its lock and never with an older
// position than before, each time the durable prefix grows.
func NewWatermark[P any](advance func(P)) *Watermark[P] {
	return &Watermark[P]{advance: advance, last: time.Now()}
}

// Add appends the next position in source order.
func (w *Watermark[P]) Add(pos P) *Mark[P] {
	now := time.Now()
	w.mu.Lock()
	w.added++
	m := &Mark[P]{w: w, pos: pos, n: w.added, addedAt: now}
	w.marks = append(w.marks, m)
	w.mu.Unlock()
	return m
}

// Durable reports the mark's position durable; call it once.
func (m *Mark[P]) Durable() {
	w := m.w
	w.mu.Lock()
	m.durable = true
	k := 0
	for k < len(w.marks) && w.marks[k].durable {
		k++
	}
	if k == 0 {
		w.mu.Unlock()
		return
	}
	newest := w.marks[k-1]
	n := copy(w.marks, w.marks[k:])
	clear(w.marks[n:])
	w.marks = w.marks[:n]
	w.last = time.Now()
	w.mu.Unlock()

	w.advMu.Lock()
	if newest.n > w.advDone {
		w.advDone = newest.n
		w.advance(newest.pos)
	}
	w.advMu.Unlock()
}

// Oldest is the position of the oldest mark not yet durable.
func (w *Watermark[P]) Oldest() (P, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.marks) == 0 {
		var zero P
		return zero, false
	}
	return w.marks[0].pos, true
}

// Pending is the number of marks not yet passed.
func (w *Watermark[P]) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.marks)
}

// Waiting is how long the oldest mark not yet durable has waited since it
// was added, and since the watermark last moved: the smaller of the two,
// so a mark added to an idle source does not look old. Zero when nothing
// waits.
func (w *Watermark[P]) Waiting(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.marks) == 0 {
		return 0
	}
	return max(min(now.Sub(w.marks[0].addedAt), now.Sub(w.last)), 0)
}
