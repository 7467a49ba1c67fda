// Package pipeline runs received batches through parse and into every sink:
// listeners → bounded queue → parse workers → sinks. A batch is finished
// only when every sink accepted it; retriable sink errors are retried with
// capped exponential backoff, permanent ones go to a dead-letter file.
package pipeline

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
)

// Config sizes the pipeline.
type Config struct {
	// QueueBatches bounds the batches waiting between listeners and parse
	// workers; a full queue blocks the listeners.
	QueueBatches int `yaml:"queue_batches"`
	// Workers parse and deliver batches in parallel; 0 means one per CPU.
	Workers int `yaml:"workers"`
	// DeadLetterDir receives batches a sink refused permanently.
	DeadLetterDir string `yaml:"dead_letter_dir"`
}

func (c *Config) SetDefaults() {
	if c.QueueBatches == 0 {
		c.QueueBatches = 256
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.DeadLetterDir == "" {
		c.DeadLetterDir = "./data/dead-letter"
	}
}

func (c *Config) Validate() error {
	if c.QueueBatches < 1 {
		return errors.New("queue_batches must be at least 1")
	}
	if c.Workers < 1 || c.Workers > 256 {
		return fmt.Errorf("workers: %d is not between 1 and 256", c.Workers)
	}
	return nil
}

// Pipeline implements listen.Handler.
type Pipeline struct {
	cfg    Config
	parser *parse.Parser
	sinks  []sink.Sink
	log    zerolog.Logger
	sample zerolog.Logger // rate-limited, for per-message problems
	m      *metrics

	queue   chan *listen.Batch
	runID   [8]byte
	seq     atomic.Uint64
	wg      sync.WaitGroup
	stopCtx context.Context
	stop    context.CancelFunc
	closed  atomic.Bool
	dlMu    sync.Mutex
}

// New builds a pipeline; Start runs it.
func New(cfg Config, p *parse.Parser, sinks []sink.Sink, reg prometheus.Registerer, log zerolog.Logger) *Pipeline {
	pl := &Pipeline{cfg: cfg, parser: p, sinks: sinks, log: log,
		sample: log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second}),
		queue:  make(chan *listen.Batch, cfg.QueueBatches)}
	pl.m = newMetrics(reg, pl, sinks)
	crand.Read(pl.runID[:])
	pl.stopCtx, pl.stop = context.WithCancel(context.Background())
	return pl
}

// Start launches the workers.
func (p *Pipeline) Start() {
	for i := 0; i < p.cfg.Workers; i++ {
		p.wg.Add(1)
		go p.worker()
	}
}

// HandleBatch queues a batch, blocking while the queue is full.
func (p *Pipeline) HandleBatch(b *listen.Batch) {
	p.queue <- b
}

// Stop lets the workers finish every queued batch; when ctx ends first,
// retries are abandoned, the events still in memory are counted as dropped,
// and Stop returns ctx's error. Listeners must be closed before Stop.
func (p *Pipeline) Stop(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.queue)
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		p.stop()
		<-done
		return ctx.Err()
	}
}

func (p *Pipeline) worker() {
	defer p.wg.Done()
	var events []parse.Event
	for b := range p.queue {
		events = p.parseBatch(b, events)
		p.deliver(events)
		b.Release()
	}
}

// NextIDs reserves n consecutive event ids: this run's random prefix and a
// sequence number. Unique per message; the durable spool derives them from
// the record position instead, so that replays keep their ids.
func (p *Pipeline) nextIDs(n int) (prefix [8]byte, first uint64) {
	return p.runID, p.seq.Add(uint64(n)) - uint64(n)
}

func (p *Pipeline) parseBatch(b *listen.Batch, events []parse.Event) []parse.Event {
	n := len(b.Msgs)
	if cap(events) < n {
		events = append(events[:cap(events)], make([]parse.Event, n-cap(events))...)
	}
	events = events[:n]
	prefix, first := p.nextIDs(n)
	for i := range b.Msgs {
		m, ev := &b.Msgs[i], &events[i]
		copy(ev.EventID[:8], prefix[:])
		binary.BigEndian.PutUint64(ev.EventID[8:], first+uint64(i))
		ev.ReceivedAt, ev.Listener, ev.Transport, ev.Peer = m.ReceivedAt, b.Source.Listener, b.Source.Transport, m.Peer
		p.parser.Parse(m.Data, ev)
		if m.Truncated {
			ev.MarkTruncated()
		}
		p.m.count(ev)
		if ev.Status != parse.StatusOK {
			p.sample.Warn().Str("status", ev.Status.String()).Bytes("error", ev.AppendError(nil)).
				Str("peer", m.Peer.String()).Msg("message did not parse cleanly; kept raw")
		}
	}
	return events
}

// deliver hands the events to every sink, retrying each until it accepts
// them or refuses them permanently.
func (p *Pipeline) deliver(events []parse.Event) {
	for si, s := range p.sinks {
		backoff := 100 * time.Millisecond
		for attempt := 0; ; attempt++ {
			start := time.Now()
			err := s.Write(p.stopCtx, events)
			p.m.writeDuration[si].Observe(time.Since(start).Seconds())
			if err == nil {
				p.m.written[si].Add(float64(len(events)))
				break
			}
			if sink.IsPermanent(err) {
				p.m.errors[si][0].Inc()
				p.deadLetter(s.Name(), events, err)
				break
			}
			p.m.errors[si][1].Inc()
			if attempt == 0 || attempt%20 == 0 {
				p.log.Error().Err(err).Str("sink", s.Name()).Int("events", len(events)).Int("attempt", attempt+1).
					Msg("sink write failed; retrying")
			}
			select {
			case <-p.stopCtx.Done():
				p.m.dropped.WithLabelValues("shutdown_deadline").Add(float64(len(events)))
				p.log.Error().Str("sink", s.Name()).Int("events", len(events)).
					Msg("shutdown deadline reached before the sink accepted this batch; events dropped")
				return
			case <-time.After(jitter(backoff)):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// deadLetter writes a permanently refused batch as JSON lines, with the
// sink's error, so that nothing is silently dropped.
func (p *Pipeline) deadLetter(sinkName string, events []parse.Event, cause error) {
	p.dlMu.Lock()
	defer p.dlMu.Unlock()
	p.m.deadLettered.WithLabelValues(sinkName).Add(float64(len(events)))
	if err := os.MkdirAll(p.cfg.DeadLetterDir, 0o750); err != nil {
		p.log.Error().Err(err).Msg("cannot create dead-letter directory")
		return
	}
	path := filepath.Join(p.cfg.DeadLetterDir, sinkName+"-"+time.Now().UTC().Format("20060102")+".jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		p.log.Error().Err(err).Msg("cannot open dead-letter file")
		return
	}
	defer f.Close()
	var buf []byte
	for i := range events {
		buf = append(buf, `{"sink_error":`...)
		buf = fmt.Appendf(buf, "%q", cause.Error())
		buf = append(buf, `,"event":`...)
		buf = events[i].AppendJSON(buf)
		buf = append(buf, "}\n"...)
	}
	if _, err := f.Write(buf); err != nil {
		p.log.Error().Err(err).Msg("cannot write dead-letter file")
	}
	p.log.Error().Err(cause).Str("sink", sinkName).Int("events", len(events)).Str("file", path).
		Msg("sink refused a batch permanently; written to the dead-letter file")
}

// QueueDepth is the number of batches waiting.
func (p *Pipeline) QueueDepth() int { return len(p.queue) }
