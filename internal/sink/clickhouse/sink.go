package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Store writes events to ClickHouse in large columnar batches, for every
// hash chain written through it (one for the single-host collector, one
// per Kafka partition for a writer).
//
// Sinks (one per chain) add their events to the store's one open batch,
// as typed native columns; the batch is sealed when it reaches batch_size
// rows or flush_interval age and handed to one of the inserters, which send
// its tables as one INSERT each (ch-go, the native protocol, no conversion
// at send time) and retry them until ClickHouse takes them or refuses them
// for good. Within a sealed batch, each chain's rows form a segment: the
// unit of the hash chain, with its own batch id, content hash and
// ingest_batches row, which the recorder writes once the rows are in. When
// every inserter is busy and max_pending_batches are waiting, Write blocks:
// the pipeline, and through it the listeners, slow down instead of
// dropping. Batches are reused once inserted, so a steady stream allocates
// nothing per batch.
//
// clickhouse-go serves the DDL, the queries and policy_rules.
type Store struct {
	cfg     Config
	conn    driver.Conn // DDL, queries, policy_rules
	version string
	log     zerolog.Logger
	m       *metrics
	dead    *delivery.DeadLetter // where batches the server refuses for good go

	mu     sync.Mutex
	open   *batch
	opened time.Time
	closed bool

	// pending holds sealed batches for the inserters.
	pending   chan *batch
	pendingMu sync.RWMutex // senders hold it shared; Close exclusive
	ins       sync.WaitGroup
	rec       *recorder
	free      chan *batch // inserted batches, for reuse

	catalogMu      sync.Mutex
	catalogPending *enrich.Index
	catalogKick    chan struct{}
	quit           chan struct{}
	bg             sync.WaitGroup
	closeOnce      sync.Once
}

// Sink writes one hash chain through a store. One writer per chain at a
// time.
type Sink struct {
	store    *Store // shared with the other chains it holds
	chainID  string
	ownStore bool // Shutdown closes the store too

	// Guarded by Store.mu.
	chain     [32]byte // chain_sha256 of the last sealed segment
	seq       uint64
	openSeg   *segment // this chain's segment of the open batch
	shutdown  bool
	inflight  sync.WaitGroup // sealed segments not yet settled
	resumeEnd parse.UUID     // last_event_id of the newest ingest_batches row
	resumeOK  bool
	// recordedSeq is the seq of the newest segment the recorder has
	// settled (recorded or dead-lettered); only the recorder touches it.
	recordedSeq uint64
}

// batch is the open or a sealed unit of insertion: rows for dcf_events
// and raw_unparsed, and the chains' segments of them.
type batch struct {
	events   eventRows
	unparsed unparsedRows
	// Segment of each row (index into segs), per table.
	eventSeg, unparsedSeg []uint16
	segs                  []*segment
	token                 string // insert_deduplication_token prefix
	sealedAt              time.Time
	done                  int // insert steps already accepted, so a retry resumes
}

// segment is one chain's rows of a batch: a batch in the hash chain's
// terms, one ingest_batches row.
type segment struct {
	owner          *Sink
	idx            uint16 // in its batch's segs
	seq            uint64
	id             [16]byte
	first, last    [16]byte
	events, failed int // rows in dcf_events and raw_unparsed
	content, prev  [32]byte
	chain          [32]byte
	sealedAt       time.Time
	waiters        []*waiter
	outcome        outcome // set when the inserter is done with its batch
}

func (s *segment) rows() int { return s.events + s.failed }

// waiter runs one Write's durable callback once every segment holding
// part of that Write is settled.
type waiter struct {
	refs atomic.Int32
	fn   func()
}

func (w *waiter) release() {
	if w.refs.Add(-1) == 0 && w.fn != nil {
		w.fn()
	}
}

func (b *batch) rows() int { return b.events.rows() + b.unparsed.rows() }

func (b *batch) reset() {
	b.events.reset()
	b.unparsed.reset()
	b.eventSeg, b.unparsedSeg = b.eventSeg[:0], b.unparsedSeg[:0]
	clear(b.segs)
	b.segs = b.segs[:0]
	b.token, b.done = "", 0
}

// New opens a store and a sink writing the chain cfg.ChainID through it;
// closing the sink closes the store.
func New(ctx context.Context, cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Sink, error) {
	st, err := OpenStore(ctx, cfg, reg, log)
	if err != nil {
		return nil, err
	}
	s, err := st.NewSink(ctx, cfg.ChainID)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.ownStore = true
	return s, nil
}

// OpenStore connects, refuses a server older than MinServerVersion,
// migrates the schema when create_schema is on, and starts the inserters,
// the recorder and the background writer of policy_rules.
func OpenStore(ctx context.Context, cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Store, error) {
	conn, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := &Store{cfg: cfg, conn: conn, log: log.With().Str("sink", "clickhouse").Logger(), m: newMetrics(reg),
		dead:        delivery.NewDeadLetter(cfg.DeadLetterDir, reg),
		catalogKick: make(chan struct{}, 1), quit: make(chan struct{}),
		pending: make(chan *batch, cfg.MaxPendingBatches), free: make(chan *batch, cfg.MaxPendingBatches+cfg.Inserters+1)}
	if err := st.start(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	// The inserters' connections are checked now, so that a wrong password
	// or TLS setting stops the collector at start rather than in a retry
	// loop.
	probe, err := dialNative(ctx, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	probe.Close()
	st.rec = newRecorder(st)
	go st.rec.run()
	for range cfg.Inserters {
		st.ins.Add(1)
		go st.inserter()
	}
	st.open = st.newBatch()
	st.bg.Add(1)
	go st.ticker()
	return st, nil
}

// NewSink starts a sink that writes the hash chain chainID, continuing it
// where ClickHouse says it stopped.
func (st *Store) NewSink(ctx context.Context, chainID string) (*Sink, error) {
	s := &Sink{store: st, chainID: chainID}
	if err := s.loadChain(ctx); err != nil {
		return nil, err
	}
	s.recordedSeq = s.seq
	return s, nil
}

// Close is Shutdown without a deadline.
func (st *Store) Close() error { return st.Shutdown(context.Background()) }

// Shutdown seals the open batch and inserts what is queued, until ctx ends
// (close the sinks first); then it stops the background writers (the
// newest policy_rules snapshot gets one last try) and closes the
// connection.
func (st *Store) Shutdown(ctx context.Context) error {
	var err error
	st.closeOnce.Do(func() {
		st.mu.Lock()
		st.sealLocked()
		st.closed = true
		st.mu.Unlock()
		st.pendingMu.Lock()
		close(st.pending)
		st.pendingMu.Unlock()
		done := make(chan struct{})
		go func() {
			st.ins.Wait()
			st.rec.close()
			<-st.rec.done
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("clickhouse: shutdown deadline passed with %d batches not inserted", len(st.pending)+1))
			st.log.Error().Err(err).Msg("closing with batches outstanding; they were not reported durable")
		}
		close(st.quit)
		st.bg.Wait()
		err = errors.Join(err, st.conn.Close())
	})
	return err
}

// Open connects clickhouse-go (DDL, queries) as configured and checks the
// connection.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	pw, err := cfg.password()
	if err != nil {
		return nil, fmt.Errorf("clickhouse password_file: %w", err)
	}
	conns := cfg.MaxConnections
	if conns == 0 {
		conns = 4
	}
	opts := &clickhouse.Options{
		Addr:            cfg.Addresses,
		Auth:            clickhouse.Auth{Database: "default", Username: cfg.Username, Password: pw},
		DialTimeout:     time.Duration(cfg.DialTimeout),
		ReadTimeout:     time.Duration(cfg.InsertTimeout),
		MaxOpenConns:    conns,
		MaxIdleConns:    conns,
		ConnMaxLifetime: time.Hour,
	}
	switch cfg.wireCompression() {
	case "lz4":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	}
	if cfg.TLS != nil {
		if opts.TLS, err = cfg.TLS.Build(); err != nil {
			return nil, err
		}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %v: %w", cfg.Addresses, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %v: %w", cfg.Addresses, err)
	}
	return conn, nil
}

func (st *Store) start(ctx context.Context) error {
	v, err := st.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("clickhouse server version: %w", err)
	}
	st.version = fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)
	if err := CheckServerVersion(int(v.Version.Major), int(v.Version.Minor)); err != nil {
		return fmt.Errorf("clickhouse %v: server %s: %w", st.cfg.Addresses, st.version, err)
	}
	st.log.Info().Str("server", st.version).Str("database", st.cfg.Database).Msg("clickhouse connected")
	if *st.cfg.CreateSchema {
		applied, err := migrate(ctx, st.conn, st.version, Options{Database: st.cfg.Database, RetentionDays: st.cfg.RetentionDays, Cluster: st.cfg.Cluster})
		if err != nil {
			return fmt.Errorf("clickhouse schema: %w", err)
		}
		if len(applied) > 0 {
			st.log.Info().Uints32("migrations", applied).Msg("clickhouse schema migrated")
		}
	}
	st.bg.Add(1)
	go st.catalogWriter()
	return nil
}

// loadChain continues this collector's hash chain where it stopped.
func (s *Sink) loadChain(ctx context.Context) error {
	q := fmt.Sprintf("SELECT seq, chain_sha256, last_event_id FROM %s.ingest_batches WHERE chain_id = ? ORDER BY seq DESC LIMIT 1", quoteIdent(s.store.cfg.Database))
	rows, err := s.store.conn.Query(ctx, q, s.chainID)
	if err != nil {
		return fmt.Errorf("clickhouse: read ingest_batches: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var chain, last string
		if err := rows.Scan(&s.seq, &chain, &last); err != nil {
			return fmt.Errorf("clickhouse: read ingest_batches: %w", err)
		}
		copy(s.chain[:], chain)
		copy(s.resumeEnd[:], last)
		s.resumeOK = len(last) == 16
	}
	return rows.Err()
}

// Resume reports the last event of the spool (for a Kafka writer: of the
// partition) that this chain's newest ingest_batches row covers; every
// earlier one is stored.
func (s *Sink) Resume(_ context.Context, spoolID [8]byte) (uint64, bool, error) {
	if !s.resumeOK || s.resumeEnd.Origin() != spoolID {
		return 0, false, nil
	}
	return s.resumeEnd.Seq(), true, nil
}

func (s *Sink) Name() string { return "clickhouse" }

// Store is the store the sink writes through: the catalog and the
// evidence queries are the store's, shared by every chain.
func (s *Sink) Store() *Store { return s.store }

func (st *Store) newBatch() *batch {
	select {
	case b := <-st.free:
		return b
	default:
		return &batch{}
	}
}

// Write adds the events to the open batch, sealing it when full. It blocks
// only while the inserters are behind.
func (s *Sink) Write(ctx context.Context, events []parse.Event, durable func()) error {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.shutdown || st.closed {
		return errors.New("clickhouse sink is closed")
	}
	w := &waiter{fn: durable}
	w.refs.Store(1)
	defer w.release()
	var joined *segment
	for i := range events {
		e := &events[i]
		b := st.open
		if b.rows() == 0 {
			st.opened = time.Now()
		}
		seg := s.segmentLocked(b)
		if joined != seg {
			w.refs.Add(1)
			seg.waiters = append(seg.waiters, w)
			joined = seg
		}
		if seg.rows() == 0 {
			seg.first = e.EventID
		}
		seg.last = e.EventID
		if e.Status == parse.StatusFailed {
			b.unparsed.add(e)
			b.unparsedSeg = append(b.unparsedSeg, seg.idx)
			seg.failed++
		} else {
			b.events.add(e)
			b.eventSeg = append(b.eventSeg, seg.idx)
			seg.events++
		}
		if b.rows() >= st.cfg.BatchSize {
			st.sealLocked()
		}
	}
	return nil
}

// segmentLocked is the sink's segment of batch b, opened on its first row.
func (s *Sink) segmentLocked(b *batch) *segment {
	if s.openSeg != nil {
		return s.openSeg
	}
	if len(b.segs) == 1<<16 {
		panic("clickhouse: more chains in one batch than a segment index holds")
	}
	s.openSeg = &segment{owner: s, idx: uint16(len(b.segs))}
	b.segs = append(b.segs, s.openSeg)
	return s.openSeg
}

// sealLocked closes the open batch: each segment gets the next place in
// its chain, its batch id, content and chain hashes; the rows get their
// segment's batch id; the batch is queued for the inserters.
func (st *Store) sealLocked() {
	b := st.open
	if b.rows() == 0 {
		return
	}
	now := time.Now()
	b.sealedAt = now
	ids := make([][16]byte, len(b.segs))
	for i, seg := range b.segs {
		s := seg.owner
		s.openSeg = nil
		s.seq++
		seg.seq = s.seq
		seg.sealedAt = now
		seg.id = segmentID(seg)
		ids[i] = seg.id
		seg.prev = s.chain
		s.inflight.Add(1)
	}
	for i, k := range b.eventSeg {
		b.events.batchID.ColFixedStr16[i] = ids[k]
	}
	for i, k := range b.unparsedSeg {
		b.unparsed.batchID.ColFixedStr16[i] = ids[k]
	}
	contentHashes(b)
	for _, seg := range b.segs {
		seg.chain = chainHash(seg.prev, seg.content)
		seg.owner.chain = seg.chain
	}
	b.token = batchToken(b.segs)
	st.open = st.newBatch()
	st.enqueue(b)
}

// enqueue hands a sealed batch to the inserters, waiting while
// max_pending_batches are queued: the pipeline, and through it the
// listeners, slow down instead of dropping. The batch is sealed and
// chained, so it is queued even past a cancelled context. (Only the store's
// Shutdown closes the queue, after its own last seal, and no Write or
// seal runs after that.)
func (st *Store) enqueue(b *batch) {
	st.pendingMu.RLock()
	defer st.pendingMu.RUnlock()
	st.m.pending.Inc()
	st.m.batchRows.Observe(float64(b.rows()))
	select {
	case st.pending <- b:
		return
	default:
	}
	st.m.blocked.Inc()
	st.pending <- b
}

// Close seals the open batch and waits until the inserters have written
// this chain's rows or ctx ends; what is left then is reported, not hidden.
func (s *Sink) Close() error { return s.Shutdown(context.Background()) }

// Shutdown is Close with a deadline.
func (s *Sink) Shutdown(ctx context.Context) error {
	st := s.store
	st.mu.Lock()
	if s.shutdown {
		st.mu.Unlock()
		return nil
	}
	if s.openSeg != nil {
		st.sealLocked()
	}
	s.shutdown = true
	st.mu.Unlock()
	var err error
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		st.log.Error().Str("chain", s.chainID).Msg("shutdown deadline reached with clickhouse batches not yet inserted")
		err = fmt.Errorf("clickhouse: chain %s: batches not inserted before the shutdown deadline", s.chainID)
	}
	if s.ownStore {
		err = errors.Join(err, st.Shutdown(ctx))
	}
	return err
}

func joinIdents(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(n))
	}
	return b.String()
}
