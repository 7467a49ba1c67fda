package delivery

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestWatermarkAdvancesOverTheDurablePrefix(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       int
		durable []int // indexes, in the order they become durable
		want    []int // positions advance is called with
		pending int
	}{
		{"in order", 3, []int{0, 1, 2}, []int{0, 1, 2}, 0},
		{"reversed", 3, []int{2, 1, 0}, []int{2}, 0},
		{"a gap holds back", 4, []int{1, 3, 0}, []int{1}, 2},
		{"gap filled", 4, []int{1, 3, 0, 2}, []int{1, 3}, 0},
		{"nothing durable", 2, nil, nil, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			w := NewWatermark(func(p int) { got = append(got, p) })
			marks := make([]*Mark[int], tt.n)
			for i := range marks {
				marks[i] = w.Add(i)
			}
			for _, i := range tt.durable {
				marks[i].Durable()
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("advanced to %v, want %v", got, tt.want)
			}
			if got := w.Pending(); got != tt.pending {
				t.Errorf("%d pending, want %d", got, tt.pending)
			}
		})
	}
}

// Concurrent durable reports never move the watermark backwards.
func TestWatermarkAdvanceIsMonotonic(t *testing.T) {
	var mu sync.Mutex
	last := -1
	w := NewWatermark(func(p int) {
		mu.Lock()
		defer mu.Unlock()
		if p <= last {
			t.Errorf("advanced to %d after %d", p, last)
		}
		last = p
	})
	const n = 2000
	marks := make([]*Mark[int], n)
	for i := range marks {
		marks[i] = w.Add(i)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				marks[i].Durable()
			}
		}()
	}
	wg.Wait()
	if last != n-1 || w.Pending() != 0 {
		t.Fatalf("advanced to %d with %d pending, want %d and 0", last, w.Pending(), n-1)
	}
}

func TestWatermarkWaiting(t *testing.T) {
	w := NewWatermark(func(int) {})
	now := time.Now()
	if d := w.Waiting(now.Add(time.Hour)); d != 0 {
		t.Fatalf("nothing added, waiting %v", d)
	}
	a := w.Add(1)
	w.Add(2)
	if d := w.Waiting(now.Add(time.Minute)); d < 59*time.Second || d > 61*time.Second {
		t.Fatalf("a minute later: waiting %v", d)
	}
	a.Durable() // the watermark moved: the wait starts again from here
	if d := w.Waiting(time.Now()); d > time.Second {
		t.Fatalf("right after progress: waiting %v", d)
	}
	if p, ok := w.Oldest(); !ok || p != 2 {
		t.Fatalf("oldest = %d %v, want 2", p, ok)
	}
}
