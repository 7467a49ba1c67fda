// Package sink defines where parsed events go. Each destination (the JSON
// lines file here; ClickHouse and Kafka beside it) implements Sink; the
// pipeline hands every sink the same events, in spool order, and commits
// the spool position only when every sink reported them durable.
package sink

import (
	"context"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Sink stores batches of events.
type Sink interface {
	// Name identifies the sink in metrics and logs.
	Name() string
	// Write takes the events: it returns once the sink has copied them
	// (the events and their byte slices are valid only during the call)
	// and calls durable, exactly once, when they are stored for good:
	// written to the file, inserted into ClickHouse, or, when the
	// destination refused them for good, set aside in a
	// delivery.DeadLetter. That may happen before Write returns or long
	// after. When Write returns an error, durable is not called and the
	// caller retries the same events. durable may be nil.
	Write(ctx context.Context, events []parse.Event, durable func()) error
	// Close flushes and releases resources.
	Close() error
}

// Resumer is implemented by sinks that can tell, after a restart, which
// events of a spool they already hold, so that the replay skips them.
type Resumer interface {
	// Resume returns the sequence number of the last event with the given
	// spool id that the sink holds, and whether it holds any; every event
	// of that spool up to it is held too.
	Resume(ctx context.Context, spoolID [8]byte) (last uint64, ok bool, err error)
}

// Shutdowner is implemented by sinks that hold accepted events in memory
// (sealed batches, in-flight inserts) and can deliver them within a
// deadline on shutdown; the collector calls it instead of Close.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}
