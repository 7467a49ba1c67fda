package collector

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// component is one half of the collector, with the lifecycle every part
// of it shares: Start returns once it runs, Shutdown stops it within ctx
// (and is safe on a component that never started), Stall says why its
// events are not becoming durable.
type component interface {
	Name() string
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
	Stall(after time.Duration) error
}

// startAll starts the components in order and stops at the first that
// fails, naming it; the caller then shuts them all down (Shutdown is safe
// on those that never started).
func startAll(ctx context.Context, parts []component) error {
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			return fmt.Errorf("starting the %s: %w", p.Name(), err)
		}
	}
	return nil
}

// shutdownAll shuts the components down in reverse order of their start:
// what feeds another stops first.
func shutdownAll(ctx context.Context, parts []component) error {
	var err error
	for i := len(parts) - 1; i >= 0; i-- {
		err = errors.Join(err, parts[i].Shutdown(ctx))
	}
	return err
}
