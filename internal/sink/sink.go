// Package sink defines where parsed events go. Each destination (the JSON
// lines file here; ClickHouse and Kafka beside it) implements Sink; the
// pipeline hands every sink the same batch and commits only when all of
// them accepted it.
package sink

import (
	"context"
	"errors"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Sink stores batches of events.
type Sink interface {
	// Name identifies the sink in metrics and logs.
	Name() string
	// Write takes the events and returns once the sink holds them: written
	// (the file sink) or copied into a batch that the sink inserts, retrying,
	// before Close returns (ClickHouse). The events and their byte slices are
	// valid only during the call. A Permanent error means retrying the same
	// batch cannot succeed.
	Write(ctx context.Context, events []parse.Event) error
	// Close flushes and releases resources.
	Close() error
}

// PermanentError marks a failure that no retry can fix (a schema or type
// mismatch); the pipeline sets such batches aside instead of retrying.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
