// Package delivery holds what every path that hands events on shares: the
// capped exponential backoff its retries wait with, the in-order
// watermark that turns durable reports arriving in any order into a
// position that may be committed, and the dead-letter directory where
// records a destination refused for good are set aside.
package delivery

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with jitter: each wait is drawn
// from [d/2, d], and d doubles up to max. Jitter keeps collectors that
// lost the same server from retrying in step.
type Backoff struct {
	next, max time.Duration
}

// NewBackoff starts at first and never bases a wait on more than limit.
func NewBackoff(first, limit time.Duration) Backoff {
	return Backoff{next: first, max: max(first, limit)}
}

// Next returns the wait before the next attempt and doubles the base.
func (b *Backoff) Next() time.Duration {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(b.next*2, b.max)
	return d
}

// Wait sleeps for Next.
func (b *Backoff) Wait() { time.Sleep(b.Next()) }

// WaitContext sleeps for Next, or until ctx ends; it reports whether the
// full wait passed.
func (b *Backoff) WaitContext(ctx context.Context) bool {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
