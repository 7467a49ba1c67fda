// Package writer is the collector's writer mode: a member of a Kafka
// consumer group that reads the edge collectors' records and inserts them
// into ClickHouse. Each partition it is assigned gets its own hash chain
// ("<chain_prefix><topic>/<partition>"), and a partition's offset is
// committed only once ClickHouse holds every record before it.
//
// A record's event_id is derived from its topic, partition and offset, and
// a batch's id (and so its insert_deduplication_token) from the first and
// last of those ids and its row count. A record read twice, after a crash
// or a rebalance, is therefore the same row with the same id: on start a
// partition's new owner also skips what the chain's newest ingest_batches
// row says ClickHouse already holds, and what slips through (a writer
// killed between inserting rows and recording their batch) collapses in
// the ReplacingMergeTree on event_id.
//
// An edge may produce a record twice: it crashed after the brokers
// acknowledged it but before its spool cursor moved, or an acknowledgement
// was lost and it retried. The copy has another offset, so another id;
// each partition therefore remembers the edge ids (spool id and sequence
// number, carried in the record) of its last dedupe_window records, read
// back from Kafka when a writer takes the partition over, and drops a
// record it has already seen before it becomes a row.
package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	segkafka "github.com/segmentio/kafka-go"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
)

// Writer consumes the topic into ClickHouse.
type Writer struct {
	cfg    stream.Config
	store  *clickhouse.Store
	parse  parse.Options
	dialer *segkafka.Dialer
	log    zerolog.Logger
	m      *metrics

	partsMu sync.Mutex
	parts   map[int]*partState // partitions this writer consumes now
}

// partState is what Stall and the stall metric see of a partition.
type partState struct {
	since    time.Time                 // assigned at
	cm       atomic.Pointer[committer] // set once its chain is open and it reads
	lastRead atomic.Int64              // unix nanoseconds of the last fetch that returned records
	lag      atomic.Int64              // records behind the partition's end after that fetch
}

// waiting is how long the partition has had records waiting without any
// becoming durable: read and not stored, or behind the end and not read,
// or assigned and not yet reading.

func (p *partState) waiting(now time.Time) time.Duration {
	cm := p.cm.Load()
	if cm == nil {
		return now.Sub(p.since)
	}
	w := cm.wm.Waiting(now)
	if p.lag.Load() > 0 {
		w = max(w, now.Sub(time.Unix(0, p.lastRead.Load())))
	}
	return w
}

// New prepares a writer; Run joins the group. The brokers need not be up.
func New(cfg stream.Config, store *clickhouse.Store, parseOpts parse.Options, reg prometheus.Registerer, log zerolog.Logger) (*Writer, error) {
	d, err := cfg.Dialer()
	if err != nil {
		return nil, err
	}
	w := &Writer{cfg: cfg, store: store, parse: parseOpts, dialer: d, m: newMetrics(reg), parts: map[int]*partState{},
		log: log.With().Str("component", "writer").Str("topic", cfg.Topic).Str("group", cfg.Consumer.Group).Logger()}
	if reg != nil {
		reg.MustRegister(stallCollector{w})
	}
	return w, nil
}

// Stall reports the partitions that have had records waiting for after
// with none becoming durable in ClickHouse, or nil.
func (w *Writer) Stall(after time.Duration) error {
	now := time.Now()
	w.partsMu.Lock()
	defer w.partsMu.Unlock()
	var stalled []string
	for _, id := range slices.Sorted(maps.Keys(w.parts)) {
		p := w.parts[id]
		d := p.waiting(now)
		if d < after {
			continue
		}
		switch cm := p.cm.Load(); {
		case cm == nil:
			stalled = append(stalled, fmt.Sprintf("partition %d: assigned %v ago and not consuming yet (its chain cannot be read from clickhouse)", id, d.Round(100*time.Millisecond)))
		default:
			stalled = append(stalled, fmt.Sprintf("partition %d: nothing durable for %v (%d fetches read and not stored, %d records behind the end, committed offset %d)",
				id, d.Round(100*time.Millisecond), cm.wm.Pending(), p.lag.Load(), cm.committedOffset()))
		}
	}
	if len(stalled) == 0 {
		return nil
	}
	return fmt.Errorf("kafka writer: %s", strings.Join(stalled, "; "))
}

// stallCollector exports every consumed partition's waiting time.
type stallCollector struct{ w *Writer }

var stallDesc = prometheus.NewDesc("vca_collector_kafka_partition_stall_seconds",
	"Seconds a partition has had records waiting (read and not yet durable in ClickHouse, or not yet read) with none becoming durable; 0 while it keeps up.",
	[]string{"partition"}, nil)

func (c stallCollector) Describe(ch chan<- *prometheus.Desc) { ch <- stallDesc }

func (c stallCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	c.w.partsMu.Lock()
	defer c.w.partsMu.Unlock()
	for id, p := range c.w.parts {
		ch <- prometheus.MustNewConstMetric(stallDesc, prometheus.GaugeValue, p.waiting(now).Seconds(), strconv.Itoa(id))
	}
}

// Run consumes until ctx ends; then every partition inserts what it has
// read, commits, and the writer leaves the group.
func (w *Writer) Run(ctx context.Context) error {
	c := w.cfg.Consumer
	group, err := segkafka.NewConsumerGroup(segkafka.ConsumerGroupConfig{
		ID: c.Group, Brokers: w.cfg.Brokers, Dialer: w.dialer, Topics: []string{w.cfg.Topic},
		SessionTimeout: time.Duration(c.SessionTimeout), RebalanceTimeout: time.Duration(c.RebalanceTimeout),
		HeartbeatInterval: time.Duration(c.SessionTimeout) / 4, JoinGroupBackoff: time.Second,
		WatchPartitionChanges: true, PartitionWatchInterval: 10 * time.Second,
		StartOffset: segkafka.FirstOffset, RetentionTime: 7 * 24 * time.Hour,
		ErrorLogger: segkafka.LoggerFunc(func(msg string, args ...any) {
			w.log.Debug().Msgf("kafka group: "+msg, args...)
		}),
	})
	if err != nil {
		return err
	}
	closed := make(chan struct{})
	go func() {
		<-ctx.Done()
		group.Close() // ends the generation: partitions flush and commit
		close(closed)
	}()
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				<-closed
				return nil
			}
			w.log.Warn().Err(err).Msg("joining the consumer group failed; retrying")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		w.m.generations.Inc()
		parts := gen.Assignments[w.cfg.Topic]
		ids := make([]int, len(parts))
		for i, p := range parts {
			ids[i] = p.ID
		}
		w.log.Info().Int32("generation", gen.ID).Ints("partitions", ids).Msg("partitions assigned")
		for _, p := range parts {
			gen.Start(func(gctx context.Context) { w.partition(gctx, gen, p.ID, p.Offset) })
		}
	}
}

// PartitionID is the 8-byte prefix of the positions of one partition's
// records; the other 8 bytes are the offset.
func PartitionID(topic string, partition int) [8]byte {
	h := sha256.Sum256([]byte(topic + "/" + strconv.Itoa(partition)))
	return [8]byte(h[:8])
}

// partition consumes one assigned partition until the generation ends.
func (w *Writer) partition(ctx context.Context, gen *segkafka.Generation, part int, committed int64) {
	log := w.log.With().Int("partition", part).Logger()
	label := strconv.Itoa(part)
	chain := w.cfg.Consumer.ChainPrefix + w.cfg.Topic + "/" + label
	state, untrack := w.track(part)
	defer untrack()
	sink := w.openSink(ctx, chain, log)
	if sink == nil {
		return
	}
	pid := PartitionID(w.cfg.Topic, part)
	start := w.resumeAt(ctx, sink, pid, part, committed, log)
	r := segkafka.NewReader(segkafka.ReaderConfig{
		Brokers: w.cfg.Brokers, Topic: w.cfg.Topic, Partition: part, Dialer: w.dialer,
		MinBytes: 1, MaxBytes: 4 << 20, MaxWait: time.Duration(w.cfg.Consumer.MaxWait),
		QueueCapacity: w.cfg.Consumer.FetchMessages, ReadBackoffMin: 100 * time.Millisecond, ReadBackoffMax: 2 * time.Second,
	})
	if err := r.SetOffset(start); err != nil {
		log.Error().Err(err).Msg("cannot position the partition reader")
		r.Close()
		sink.Close()
		return
	}
	cm := newCommitter(gen, w.cfg.Topic, part, w.m, log)
	defer cm.stop()
	dec := stream.NewDecoder(parse.NewParser(w.parse))
	events := make([]parse.Event, w.cfg.Consumer.FetchMessages)
	// Until the dedupe window is read back the partition counts as
	// assigned and not yet reading, which Stall reports once it lasts.
	br := &batchReader{r: r, dec: dec, pid: pid, seen: w.primeWindow(ctx, part, start, dec, log), m: w.m,
		sample: log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})}
	state.lastRead.Store(time.Now().UnixNano())
	state.cm.Store(cm)
	log.Info().Int64("offset", start).Str("chain", chain).Msg("consuming partition")
	consumed := w.m.consumed.WithLabelValues(label)
	lag := w.m.lag.WithLabelValues(label)
	for ctx.Err() == nil {
		dec.Reset() // the sink copied the previous batch
		k, read, last, err := br.fill(ctx, events)
		if read == 0 {
			if ctx.Err() == nil {
				log.Warn().Err(err).Msg("fetch failed; retrying")
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		mark := cm.add(last)
		consumed.Add(float64(read))
		behind := r.Lag()
		lag.Set(float64(behind))
		state.lag.Store(behind)
		state.lastRead.Store(time.Now().UnixNano())
		if k == 0 { // only duplicates: nothing to store, the offset may move on
			mark.Durable()
			continue
		}
		if err := sink.Write(context.Background(), events[:k], mark.Durable); err != nil {
			// Only a closed sink refuses; nothing past the last durable
			// offset is committed, so the next owner reads it again.
			log.Error().Err(err).Msg("clickhouse sink refused records")
			break
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(w.cfg.Consumer.RebalanceTimeout)/2)
	defer cancel()
	if err := sink.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("partition released with inserts outstanding; its next owner reads them again")
	}
	cm.flush()
	r.Close()
	log.Info().Int64("committed", cm.committedOffset()).Msg("partition released")
}

// track registers the partition's state for Stall until untrack.
func (w *Writer) track(part int) (state *partState, untrack func()) {
	state = &partState{since: time.Now()}
	w.partsMu.Lock()
	w.parts[part] = state
	w.partsMu.Unlock()
	return state, func() {
		w.partsMu.Lock()
		if w.parts[part] == state {
			delete(w.parts, part)
		}
		w.partsMu.Unlock()
	}
}

// resumeAt is the offset to read from: the committed one, or past it
// when ClickHouse already holds later records (their inserts landed but
// the commit did not), which are then skipped rather than repeated.
func (w *Writer) resumeAt(ctx context.Context, sink *clickhouse.Sink, pid [8]byte, part int, committed int64, log zerolog.Logger) int64 {
	last, ok, _ := sink.Resume(ctx, pid)
	if !ok || (committed >= 0 && int64(last)+1 <= committed) {
		return committed
	}
	from := committed
	if from < 0 {
		from = w.firstOffset(ctx, part)
	}
	w.m.skipped.Add(float64(max(int64(last)+1-from, 0)))
	log.Info().Int64("committed", committed).Uint64("held_through", last).
		Msg("clickhouse already holds records past the committed offset; skipping them")
	return int64(last) + 1
}

// firstOffset is the oldest offset the partition still holds (0 if the
// leader cannot say).
func (w *Writer) firstOffset(ctx context.Context, part int) int64 {
	for _, b := range w.cfg.Brokers {
		c, err := w.dialer.DialLeader(ctx, "tcp", b, w.cfg.Topic, part)
		if err != nil {
			continue
		}
		off, err := c.ReadFirstOffset()
		c.Close()
		if err == nil {
			return off
		}
	}
	return 0
}

// primeWindow reads the edge ids of the dedupe_window records before start
// (its previous owner saw them) into a new window.
func (w *Writer) primeWindow(ctx context.Context, part int, start int64, dec *stream.Decoder, log zerolog.Logger) *window {
	seen := newWindow(w.cfg.Consumer.DedupeWindow)
	if seen.size == 0 || start <= 0 {
		return seen
	}
	from := max(start-int64(seen.size), w.firstOffset(ctx, part))
	if from >= start {
		return seen
	}
	r := segkafka.NewReader(segkafka.ReaderConfig{
		Brokers: w.cfg.Brokers, Topic: w.cfg.Topic, Partition: part, Dialer: w.dialer,
		MinBytes: 1, MaxBytes: 4 << 20, MaxWait: time.Duration(w.cfg.Consumer.MaxWait),
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		return seen
	}
	var e parse.Event
	n := 0
	for waited := 0; ; {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		msg, err := r.FetchMessage(fctx)
		cancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// A slow broker or a loaded host: the records are there (they
			// precede the committed offset), so wait for them rather than
			// store an edge's copies twice.
			waited++
			log.Warn().Int("read", n).Int("waited_s", waited*10).Msg("still reading the dedupe window back before consuming")
			continue
		}
		if err != nil {
			log.Warn().Err(err).Int("read", n).Msg("could not read the dedupe window back; duplicates an edge produced just before it may be stored twice")
			return seen
		}
		if msg.Offset >= start {
			break
		}
		dec.Reset()
		e.EventID = parse.UUID{}
		if dec.Decode(msg.Value, msg.Time, &e) && e.EventID != (parse.UUID{}) {
			seen.add(e.EventID)
		}
		n++
		if msg.Offset == start-1 {
			break
		}
	}
	log.Debug().Int("records", n).Msg("dedupe window read back")
	return seen
}

func (w *Writer) openSink(ctx context.Context, chain string, log zerolog.Logger) *clickhouse.Sink {
	backoff := delivery.NewBackoff(time.Second, 30*time.Second)
	for {
		s, err := w.store.NewSink(ctx, chain)
		if err == nil {
			return s
		}
		log.Warn().Err(err).Msg("cannot read the partition's hash chain from clickhouse; retrying")
		if !backoff.WaitContext(ctx) {
			return nil
		}
	}
}

// committer commits a partition's offset as the records before it become
// durable, which the sink reports in any order.
type committer struct {
	gen   *segkafka.Generation
	topic string
	part  int
	m     *metrics
	log   zerolog.Logger
	wm    *delivery.Watermark[int64] // positions: the offset after a fetch's last record

	mu        sync.Mutex
	next      int64 // offset to commit: one past the last durable record
	committed int64
	kick      chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup
}

func newCommitter(gen *segkafka.Generation, topic string, part int, m *metrics, log zerolog.Logger) *committer {
	c := &committer{gen: gen, topic: topic, part: part, m: m, log: log, next: -1, committed: -1,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.wm = delivery.NewWatermark(func(next int64) {
		c.mu.Lock()
		c.next = next
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	})
	c.wg.Add(1)
	go c.run()
	return c
}

// add marks the records up to last as read; the mark's Durable says they
// are stored.
func (c *committer) add(last int64) *delivery.Mark[int64] { return c.wm.Add(last + 1) }

func (c *committer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.kick:
			c.flush()
		}
	}
}

// flush commits the newest durable offset, if it moved.
func (c *committer) flush() {
	c.mu.Lock()
	next, committed := c.next, c.committed
	c.mu.Unlock()
	if next <= committed {
		return
	}
	start := time.Now()
	err := c.gen.CommitOffsets(map[string]map[int]int64{c.topic: {c.part: next}})
	c.m.commitDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.commitFailures.Inc()
		c.log.Warn().Err(err).Int64("offset", next).Msg("offset commit failed; clickhouse holds the records, so a re-read skips them")
		return
	}
	c.mu.Lock()
	c.committed = max(c.committed, next)
	c.mu.Unlock()
	c.m.committed.WithLabelValues(strconv.Itoa(c.part)).Set(float64(next))
}

func (c *committer) committedOffset() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

func (c *committer) stop() {
	close(c.done)
	c.wg.Wait()
}

type metrics struct {
	consumed       *prometheus.CounterVec
	lag            *prometheus.GaugeVec
	committed      *prometheus.GaugeVec
	commitDuration prometheus.Histogram
	commitFailures prometheus.Counter
	generations    prometheus.Counter
	undecodable    prometheus.Counter
	skipped        prometheus.Counter
	duplicates     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_kafka_consumed_records_total", Help: "Records read, by partition (edge copies and undecodable records included)."}, []string{"partition"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vca_collector_kafka_consumer_lag", Help: "Records between the last one read and the partition's end, by partition."}, []string{"partition"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vca_collector_kafka_committed_offset", Help: "Offset last committed (next record to read), by partition."}, []string{"partition"}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vca_collector_kafka_commit_duration_seconds", Help: "Duration of one offset commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_commit_failures_total", Help: "Offset commits the group coordinator refused or that failed."}),
		generations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_rebalances_total", Help: "Consumer group generations joined (one per rebalance)."}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_undecodable_records_total", Help: "Records that are not collector events, kept raw in raw_unparsed."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_duplicate_records_total", Help: "Records an edge produced twice (same edge event id within the dedupe window), not stored again."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_kafka_resume_skipped_records_total", Help: "Records past the committed offset that ClickHouse already held, not read again."}),
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.lag, m.committed, m.commitDuration, m.commitFailures, m.generations, m.undecodable, m.skipped, m.duplicates)
	}
	return m
}
