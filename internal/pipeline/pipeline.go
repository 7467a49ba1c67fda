// Package pipeline moves messages from the listeners through the spool,
// the parser and into every sink: listeners → spool (accepted) → reader →
// parse and enrich workers → sinks, in spool order. A batch's spool position is
// committed once every sink reported its events durable; a sink's errors
// are retried with capped exponential backoff (a sink that can refuse
// events for good sets them aside itself, in a delivery.DeadLetter, and
// reports them durable).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
)

// Config sizes the pipeline.
type Config struct {
	// QueueBatches bounds the batches read from the spool ahead of the
	// parse workers (each up to 256 KiB); the spool holds the rest.
	QueueBatches int `yaml:"queue_batches"`
	// Workers parse batches in parallel; 0 means one per CPU. Delivery to
	// the sinks stays in spool order.
	Workers int `yaml:"workers"`
}

func (c *Config) SetDefaults() {
	if c.QueueBatches == 0 {
		c.QueueBatches = 8
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
}

func (c *Config) Validate() error {
	if c.QueueBatches < 1 || c.QueueBatches > 4096 {
		return fmt.Errorf("queue_batches: %d is not between 1 and 4096", c.QueueBatches)
	}
	if c.Workers < 1 || c.Workers > 256 {
		return fmt.Errorf("workers: %d is not between 1 and 256", c.Workers)
	}
	return nil
}

// Enricher stamps parsed events with what the policy catalog knows.
type Enricher interface {
	EnrichBatch(events []parse.Event)
}

// Pipeline implements listen.Handler.
type Pipeline struct {
	cfg    Config
	parser *parse.Parser
	enrich Enricher // nil: events go out as parsed
	spool  *spool.Spool
	sinks  []sink.Sink
	resume []resumePoint // per sink
	log    zerolog.Logger
	sample zerolog.Logger // rate-limited, for per-message problems
	m      *metrics

	work    chan *job
	turn    turn
	track   *delivery.Watermark[jobPos]
	readErr atomic.Pointer[error] // why the spool reader stopped early
	batches sync.Pool
	wg      sync.WaitGroup
	stopCtx context.Context
	stop    context.CancelFunc
}

// resumePoint: events of this spool up to last are already in the sink.
type resumePoint struct {
	last uint64
	ok   bool
}

// New builds a pipeline over an open spool; Start runs it. Sinks that
// implement sink.Resumer are asked where they stand, so that a replay
// after a crash skips what they already hold.
func New(cfg Config, p *parse.Parser, en Enricher, sp *spool.Spool, sinks []sink.Sink, reg prometheus.Registerer, log zerolog.Logger) *Pipeline {
	pl := &Pipeline{cfg: cfg, parser: p, enrich: en, spool: sp, sinks: sinks, log: log,
		sample: log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second}),
		work:   make(chan *job, cfg.QueueBatches), resume: make([]resumePoint, len(sinks))}
	pl.batches.New = func() any { return new(spool.Batch) }
	pl.turn.cond = sync.NewCond(&pl.turn.mu)
	pl.track = delivery.NewWatermark(func(j jobPos) { sp.Commit(j.end) })
	pl.m = newMetrics(reg, pl, sinks)
	pl.stopCtx, pl.stop = context.WithCancel(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, s := range sinks {
		r, ok := s.(sink.Resumer)
		if !ok {
			continue
		}
		last, have, err := r.Resume(ctx, sp.ID())
		if err != nil {
			log.Warn().Err(err).Str("sink", s.Name()).Msg("sink cannot say what it holds; replaying everything to it (it deduplicates by event id)")
			continue
		}
		if have {
			pl.resume[i] = resumePoint{last: last, ok: true}
			log.Info().Str("sink", s.Name()).Uint64("through_seq", last).Msg("sink already holds spool records; the replay skips them there")
		}
	}
	return pl
}

// Start launches the spool reader and the workers.
func (p *Pipeline) Start() {
	p.wg.Add(1 + p.cfg.Workers)
	go p.read()
	for range p.cfg.Workers {
		go p.worker()
	}
}

// HandleBatch appends a listener's batch to the spool; once it returns,
// the messages are accepted. It blocks while the spool is full (block
// policy), which stops TCP readers; a UDP batch, whose sender no wait
// slows down, is refused instead.
func (p *Pipeline) HandleBatch(b *listen.Batch) {
	from := spool.Origin{Listener: b.Source.Listener, Transport: b.Source.Transport}
	if !b.Source.Backpressure() {
		from.WhenFull = spool.Refuse
	}
	err := p.spool.Append(from, b)
	switch {
	case err == nil, errors.Is(err, spool.ErrFull): // ErrFull is counted by the spool
	case errors.Is(err, spool.ErrClosed):
		p.m.dropped.WithLabelValues("shutdown").Add(float64(b.Len()))
	default:
		p.m.dropped.WithLabelValues("spool_write_error").Add(float64(b.Len()))
		p.sample.Error().Err(err).Int("messages", b.Len()).Str("listener", b.Source.Listener).
			Msg("messages could not be written to the spool and are lost")
	}
	b.Release()
}

// Stop waits until the reader has delivered everything the closed spool
// holds (close the listeners, then the spool writer, first). When ctx ends
// first, retries are abandoned and what was not delivered stays in the
// spool for the next start.
func (p *Pipeline) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		p.stop()
		select {
		case <-done:
		case <-time.After(2 * time.Second): // a sink stuck in Write: its events stay in the spool
		}
		p.log.Warn().Uint64("records", p.spool.Stats().LagRecords).
			Msg("shutdown deadline reached; undelivered records stay in the spool for the next start")
		return ctx.Err()
	}
}

// job is one spool batch on its way through the workers.
type job struct {
	idx     uint64
	sb      *spool.Batch
	mark    *delivery.Mark[jobPos]
	pending atomic.Int32 // sinks yet to report durable, plus one for delivery itself
}

// jobPos is what the watermark keeps of a job: where the spool may commit
// to, and the receive time of its first record (for the lag metric).
type jobPos struct {
	end     spool.Position
	firstRx time.Time
}

func (j *job) durable() {
	if j.pending.Add(-1) == 0 {
		j.mark.Durable()
	}
}

func (p *Pipeline) read() {
	defer p.wg.Done()
	defer close(p.work)
	for idx := uint64(0); ; idx++ {
		sb := p.batches.Get().(*spool.Batch)
		if err := p.spool.Next(p.stopCtx, sb); err != nil {
			p.batches.Put(sb)
			if err != io.EOF && p.stopCtx.Err() == nil {
				p.readErr.Store(&err)
				p.log.Error().Err(err).Msg("spool read failed; the pipeline stops reading (restart replays from the cursor)")
			}
			return
		}
		j := &job{idx: idx, sb: sb, mark: p.track.Add(jobPos{end: sb.End, firstRx: sb.Records[0].ReceivedAt})}
		p.work <- j
	}
}

func (p *Pipeline) worker() {
	defer p.wg.Done()
	var events []parse.Event
	for j := range p.work {
		events = p.parseBatch(j.sb, events)
		p.turn.wait(j.idx)
		p.deliver(j, events)
		p.turn.advance()
		p.batches.Put(j.sb)
	}
}

func (p *Pipeline) parseBatch(b *spool.Batch, events []parse.Event) []parse.Event {
	n := len(b.Records)
	if cap(events) < n {
		events = append(events[:cap(events)], make([]parse.Event, n-cap(events))...)
	}
	events = events[:n]
	id := p.spool.ID()
	for i := range b.Records {
		r, ev := &b.Records[i], &events[i]
		ev.EventID = parse.NewEventID(id, r.Seq)
		ev.ReceivedAt, ev.Listener, ev.Transport, ev.Peer = r.ReceivedAt, r.Listener, r.Transport, r.Peer
		p.parser.Parse(r.Data, ev)
		if r.Truncated {
			ev.MarkTruncated()
		}
		p.m.count(ev)
		if ev.Status != parse.StatusOK {
			p.sample.Warn().Str("status", ev.Status.String()).Bytes("error", ev.AppendError(nil)).
				Str("peer", r.Peer.String()).Msg("message did not parse cleanly; kept raw")
		}
	}
	if p.enrich != nil {
		p.enrich.EnrichBatch(events)
	}
	return events
}

// deliver hands the events to every sink in turn, retrying each until it
// takes them. The job's position is committed
// when every sink has reported the events durable.
func (p *Pipeline) deliver(j *job, events []parse.Event) {
	j.pending.Store(int32(len(p.sinks)) + 1)
	defer j.durable()
	for si, s := range p.sinks {
		evs := p.skipHeld(si, events)
		if len(evs) == 0 {
			j.durable()
			continue
		}
		backoff := delivery.NewBackoff(100*time.Millisecond, 30*time.Second)
		for attempt := 0; ; attempt++ {
			start := time.Now()
			err := s.Write(p.stopCtx, evs, j.durable)
			p.m.writeDuration[si].Observe(time.Since(start).Seconds())
			if err == nil {
				p.m.written[si].Add(float64(len(evs)))
				break
			}
			p.m.errors[si].Inc()
			if p.stopCtx.Err() != nil {
				return // shut down past its deadline: the events stay in the spool
			}
			if attempt == 0 || attempt%20 == 0 {
				p.log.Error().Err(err).Str("sink", s.Name()).Int("events", len(evs)).Int("attempt", attempt+1).
					Msg("sink write failed; retrying")
			}
			if !backoff.WaitContext(p.stopCtx) {
				return // not durable: the events stay in the spool
			}
		}
	}
}

// skipHeld drops the events a sink reported holding before this start.
func (p *Pipeline) skipHeld(si int, events []parse.Event) []parse.Event {
	r := &p.resume[si]
	if !r.ok {
		return events
	}
	k := 0
	for k < len(events) && events[k].EventID.Seq() <= r.last {
		k++
	}
	if k < len(events) {
		r.ok = false // past the point: nothing later can be held
	}
	if k > 0 {
		p.m.skipped.WithLabelValues(p.sinks[si].Name()).Add(float64(k))
	}
	return events[k:]
}

// turn makes workers deliver in spool order: sinks see events in sequence,
// which is what lets a sink's newest record mark everything before it.
type turn struct {
	mu   sync.Mutex
	cond *sync.Cond
	next uint64
}

func (t *turn) wait(idx uint64) {
	t.mu.Lock()
	for t.next != idx {
		t.cond.Wait()
	}
	t.mu.Unlock()
}

func (t *turn) advance() {
	t.mu.Lock()
	t.next++
	t.cond.Broadcast()
	t.mu.Unlock()
}

// Stall reports why the pipeline is not getting events into its sinks, or
// nil: the oldest spool batch read has waited after for the sinks with
// nothing becoming durable meanwhile, or the spool reader stopped.
func (p *Pipeline) Stall(after time.Duration) error {
	if err := p.readErr.Load(); err != nil {
		return fmt.Errorf("pipeline: the spool reader stopped (%w); a restart replays from the cursor", *err)
	}
	if w := p.track.Waiting(time.Now()); w >= after {
		return fmt.Errorf("pipeline: no spool batch became durable in every sink for %v (%d batches outstanding, %d records in the spool behind the cursor)",
			w.Round(100*time.Millisecond), p.track.Pending(), p.spool.Stats().LagRecords)
	}
	return nil
}

// QueueDepth is the number of batches read ahead of the workers.
func (p *Pipeline) QueueDepth() int { return len(p.work) }
