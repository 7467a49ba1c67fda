// Package kafka is the edge collector's sink: it produces every event as
// one record to the configured topic, keyed by gateway, and reports the
// events durable only once every in-sync replica acknowledged them, so the
// spool position advances past nothing the brokers do not hold. While the
// brokers are unreachable it retries with capped backoff; its in-flight
// limit then stops the pipeline and the spool keeps accepting.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	segkafka "github.com/segmentio/kafka-go"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
)

// Sink produces events to Kafka.
type Sink struct {
	cfg  stream.Config
	w    *segkafka.Writer
	log  zerolog.Logger
	m    *metrics
	work chan *produce
	free sync.Pool // of *produce
	wg   sync.WaitGroup

	closing   chan struct{} // closed by Shutdown: no more Writes
	abandon   chan struct{} // closed when Shutdown's deadline passes
	closeOnce sync.Once
}

// produce is one Write's records on their way to the brokers. Produces
// are reused (Sink.free): encoding a batch then costs no allocation once
// the buffers have grown to a batch's size.
type produce struct {
	msgs    []segkafka.Message
	buf     []byte
	offs    []int
	durable func()
}

type metrics struct {
	records  prometheus.Counter
	bytes    prometheus.Counter
	failures *prometheus.CounterVec
	ack      prometheus.Histogram
	inFlight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_produced_records_total", Help: "Records the brokers acknowledged."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_produced_bytes_total", Help: "Record value bytes the brokers acknowledged."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_kafka_produce_failures_total", Help: "Failed produce attempts, retried, by error kind."}, []string{"kind"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vca_collector_kafka_produce_ack_seconds", Help: "From handing a pipeline batch to the producer to every record acknowledged, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vca_collector_kafka_produce_in_flight", Help: "Pipeline batches waiting for the brokers' acknowledgement."}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.bytes, m.failures, m.ack, m.inFlight)
	}
	return m
}

// New prepares the producer; it does not need the brokers to be up.
func New(cfg stream.Config, reg prometheus.Registerer, log zerolog.Logger) (*Sink, error) {
	w, err := cfg.Writer()
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, w: w, log: log.With().Str("sink", "kafka").Str("topic", cfg.Topic).Logger(), m: newMetrics(reg),
		work: make(chan *produce), closing: make(chan struct{}), abandon: make(chan struct{})}
	for range cfg.Producer.InFlight {
		s.wg.Add(1)
		go s.producer()
	}
	return s, nil
}

func (s *Sink) Name() string { return "kafka" }

// Write encodes the events into records and hands them to a producer; it
// blocks while in_flight batches are already waiting for acks.
func (s *Sink) Write(ctx context.Context, events []parse.Event, durable func()) error {
	p, _ := s.free.Get().(*produce)
	if p == nil {
		p = &produce{}
	}
	p.durable = durable
	p.buf, p.offs = p.buf[:0], p.offs[:0]
	for i := range events {
		e := &events[i]
		start := len(p.buf)
		p.buf = stream.AppendKey(p.buf, e)
		mid := len(p.buf)
		p.buf = stream.AppendValue(p.buf, e)
		p.offs = append(p.offs, start, mid, len(p.buf))
	}
	// Slice after encoding: the buffer moved while it grew.
	p.msgs = slices.Grow(p.msgs[:0], len(events))[:len(events)]
	for i := range p.msgs {
		k, v, end := p.offs[3*i], p.offs[3*i+1], p.offs[3*i+2]
		p.msgs[i] = segkafka.Message{Value: p.buf[v:end:end]}
		if v > k {
			p.msgs[i].Key = p.buf[k:v:v]
		}
	}
	select {
	case s.work <- p:
		return nil
	case <-s.closing:
		return errors.New("kafka sink is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) producer() {
	defer s.wg.Done()
	for {
		var p *produce
		select {
		case p = <-s.work:
		case <-s.closing:
			return
		}
		s.m.inFlight.Inc()
		if s.produce(p) && p.durable != nil {
			p.durable()
		}
		s.m.inFlight.Dec()
		// WriteMessages has returned for every record: kafka-go holds
		// none of them any more.
		p.durable = nil
		s.free.Put(p)
	}
}

// produce sends the records until every one is acknowledged, resending
// only those that failed; it gives up only when Shutdown's deadline passed
// (the events then stay in the spool).
func (s *Sink) produce(p *produce) bool {
	start := time.Now()
	msgs := p.msgs
	backoff := delivery.NewBackoff(100*time.Millisecond, time.Duration(s.cfg.Producer.MaxRetryBackoff))
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Duration(s.cfg.Producer.Timeout))
		err := s.w.WriteMessages(ctx, msgs...)
		cancel()
		if err == nil {
			s.acked(len(msgs), msgs)
			s.m.ack.Observe(time.Since(start).Seconds())
			return true
		}
		var werrs segkafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			failed := msgs[:0:0]
			var acked []segkafka.Message
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				} else {
					acked = append(acked, msgs[i])
				}
			}
			s.acked(len(acked), acked)
			msgs = failed
			err = firstError(werrs)
		}
		s.m.failures.WithLabelValues(errorKind(err)).Inc()
		if attempt == 0 || attempt%20 == 0 {
			s.log.Warn().Err(err).Int("records", len(msgs)).Int("attempt", attempt+1).
				Msg("kafka produce failed; retrying (the spool keeps the events until the brokers acknowledge)")
		}
		select {
		case <-s.abandon:
			return false
		case <-time.After(backoff.Next()):
		}
	}
}

func (s *Sink) acked(n int, msgs []segkafka.Message) {
	s.m.records.Add(float64(n))
	var b int
	for i := range msgs {
		b += len(msgs[i].Value)
	}
	s.m.bytes.Add(float64(b))
}

func firstError(errs segkafka.WriteErrors) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// errorKind is a bounded metric label for a produce error.
func errorKind(err error) string {
	var ke segkafka.Error
	switch {
	case errors.As(err, &ke):
		return fmt.Sprintf("kafka_%d", int(ke))
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "network"
}

// Close waits for every in-flight batch to be acknowledged.
func (s *Sink) Close() error { return s.Shutdown(context.Background()) }

// Shutdown waits for the in-flight batches until ctx ends; batches still
// unacknowledged then are abandoned and stay in the spool.
func (s *Sink) Shutdown(ctx context.Context) error {
	first := false
	s.closeOnce.Do(func() { first = true; close(s.closing) })
	if !first {
		return nil
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		close(s.abandon)
		<-done
		err = errors.New("kafka: shutdown deadline passed with records unacknowledged; they stay in the spool")
	}
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	return err
}
