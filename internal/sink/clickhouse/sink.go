package clickhouse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Sink writes events to ClickHouse in large columnar batches.
//
// Write copies the events into the open batch and returns; a batch is sealed
// when it reaches batch_size rows or flush_interval age and handed to one of
// the inserters, which retry it until ClickHouse takes it or refuses it for
// good; then the durable callbacks of the writes it holds run. When every
// inserter is busy and max_pending_batches are waiting, Write blocks: the
// pipeline, and through it the listeners, slow down instead of dropping.
// Close seals what is open and waits for the inserters.
//
// Batches hold events in the order they were written, and their
// ingest_batches rows are inserted in seal order (the rows themselves in
// parallel), so the newest ingest_batches row of a chain marks a point
// before which every event is stored: Resume reports it after a restart.
type Sink struct {
	cfg     Config
	conn    driver.Conn
	profile Profile
	version string
	log     zerolog.Logger
	m       *metrics

	mu     sync.Mutex
	open   *batch
	opened time.Time
	chain  [32]byte // chain_sha256 of the last sealed batch
	seq    uint64
	// lastRecorded is closed once the newest sealed batch's ingest_batches
	// row is in: the next batch's row waits for it.
	lastRecorded chan struct{}
	resumeLast   [16]byte // last_event_id of the newest ingest_batches row
	haveResume   bool
	pending      chan *batch
	stop         chan struct{}
	wg           sync.WaitGroup
	closed       bool

	catalogMu      sync.Mutex
	catalogPending *enrich.Index
	catalogKick    chan struct{}
}

// batch is a sealed or open unit of insertion: rows for dcf_events and
// raw_unparsed, and the ingest_batches row that records them.
type batch struct {
	id       [16]byte
	seq      uint64
	events   *table
	unparsed *table
	arena    arena
	first    [16]byte
	last     [16]byte
	content  [32]byte
	prev     [32]byte
	chain    [32]byte
	sealedAt time.Time
	done     int // insert steps already accepted, so a retry resumes
	waiters  []*waiter
	recorded chan struct{} // closed when the ingest_batches row is in (or the batch dead-lettered)
	prevRec  chan struct{}
}

// waiter runs one Write's durable callback once every batch holding part of
// that Write is stored.
type waiter struct {
	refs atomic.Int32
	fn   func()
}

func (w *waiter) release() {
	if w.refs.Add(-1) == 0 && w.fn != nil {
		w.fn()
	}
}

func (b *batch) rows() int { return b.events.rows + b.unparsed.rows }

// New connects, picks the schema profile from the server version, migrates
// the schema when create_schema is on, and starts the inserters.
func New(ctx context.Context, cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Sink, error) {
	conn, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, conn: conn, log: log.With().Str("sink", "clickhouse").Logger(),
		m: newMetrics(reg), pending: make(chan *batch, cfg.MaxPendingBatches), stop: make(chan struct{}), catalogKick: make(chan struct{}, 1),
		lastRecorded: make(chan struct{})}
	close(s.lastRecorded)
	if err := s.start(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Open connects to ClickHouse as configured and checks the connection.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	pw, err := cfg.password()
	if err != nil {
		return nil, fmt.Errorf("clickhouse password_file: %w", err)
	}
	opts := &clickhouse.Options{
		Addr:            cfg.Addresses,
		Auth:            clickhouse.Auth{Database: "default", Username: cfg.Username, Password: pw},
		DialTimeout:     time.Duration(cfg.DialTimeout),
		ReadTimeout:     time.Duration(cfg.InsertTimeout),
		MaxOpenConns:    cfg.Inserters + 2,
		MaxIdleConns:    cfg.Inserters + 2,
		ConnMaxLifetime: time.Hour,
	}
	switch cfg.Compression {
	case "lz4":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	}
	if cfg.TLS != nil {
		if opts.TLS, err = cfg.TLS.config(); err != nil {
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

func (s *Sink) start(ctx context.Context) error {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("clickhouse server version: %w", err)
	}
	s.version = fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)
	s.profile = ProfileFor(int(v.Version.Major), int(v.Version.Minor))
	if s.cfg.Profile != "auto" {
		s.profile, _ = ParseProfile(s.cfg.Profile)
	}
	s.log.Info().Str("server", s.version).Str("profile", s.profile.String()).Str("database", s.cfg.Database).
		Msg("clickhouse connected; schema profile chosen from the server version")
	if *s.cfg.CreateSchema {
		applied, err := migrate(ctx, s.conn, s.profile, Options{Database: s.cfg.Database, RetentionDays: s.cfg.RetentionDays})
		if err != nil {
			return fmt.Errorf("clickhouse schema: %w", err)
		}
		if len(applied) > 0 {
			s.log.Info().Uints32("migrations", applied).Msg("clickhouse schema migrated")
		}
	}
	if err := s.loadChain(ctx); err != nil {
		return err
	}
	s.open = s.newBatch()
	for range s.cfg.Inserters {
		s.wg.Add(1)
		go s.inserter()
	}
	s.wg.Add(2)
	go s.ticker()
	go s.catalogWriter()
	if s.profile == Compat && s.cfg.RetentionDays > 0 {
		s.wg.Add(1)
		go s.retention()
	}
	return nil
}

// loadChain continues this collector's hash chain where it stopped.
func (s *Sink) loadChain(ctx context.Context) error {
	q := fmt.Sprintf("SELECT seq, chain_sha256, last_event_id FROM %s.ingest_batches FINAL WHERE chain_id = ? ORDER BY seq DESC LIMIT 1", quoteIdent(s.cfg.Database))
	rows, err := s.conn.Query(ctx, q, s.cfg.ChainID)
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
		copy(s.resumeLast[:], last)
		s.haveResume = len(last) == 16
	}
	return rows.Err()
}

// Resume reports the last event of the spool that this chain's newest
// ingest_batches row covers; every earlier event of that spool is stored.
func (s *Sink) Resume(_ context.Context, spoolID [8]byte) (uint64, bool, error) {
	if !s.haveResume || [8]byte(s.resumeLast[:8]) != spoolID {
		return 0, false, nil
	}
	return binary.BigEndian.Uint64(s.resumeLast[8:]), true, nil
}

// Profile is the schema profile in use.
func (s *Sink) Profile() Profile { return s.profile }

func (s *Sink) Name() string { return "clickhouse" }

func (s *Sink) newBatch() *batch {
	return &batch{
		events:   newTable("dcf_events", eventFields, eventColumns, s.profile, s.cfg.BatchSize),
		unparsed: newTable("raw_unparsed", unparsedFields, unparsedColumns, s.profile, 0),
	}
}

// Write adds the events to the open batch, sealing it when full. It blocks
// only while the inserters are behind.
func (s *Sink) Write(ctx context.Context, events []parse.Event, durable func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("clickhouse sink is closed")
	}
	w := &waiter{fn: durable}
	w.refs.Store(1)
	defer w.release()
	var joined *batch
	for i := range events {
		e := &events[i]
		b := s.open
		if joined != b {
			w.refs.Add(1)
			b.waiters = append(b.waiters, w)
			joined = b
		}
		if b.rows() == 0 {
			s.opened = time.Now()
			b.first = e.EventID
		}
		b.last = e.EventID
		if e.Status == parse.StatusFailed {
			b.unparsed.add(e, &b.arena)
		} else {
			b.events.add(e, &b.arena)
		}
		if b.rows() >= s.cfg.BatchSize {
			if err := s.sealLocked(); err != nil {
				return err
			}
		}
	}
	return nil
}

// sealLocked closes the open batch, links it into the chain and queues it.
func (s *Sink) sealLocked() error {
	b := s.open
	if b.rows() == 0 {
		return nil
	}
	s.seq++
	b.seq = s.seq
	b.sealedAt = time.Now()
	b.id = batchID(b)
	for _, t := range []*table{b.events, b.unparsed} {
		ids := t.column("batch_id")
		for i := range ids.b16 {
			ids.b16[i] = b.id[:]
		}
	}
	b.content = contentHash(b)
	b.prev = s.chain
	b.chain = chainHash(b.prev, b.content)
	s.chain = b.chain
	b.prevRec, b.recorded = s.lastRecorded, make(chan struct{})
	s.lastRecorded = b.recorded
	s.open = s.newBatch()
	s.m.pending.Inc()
	s.m.batchRows.Observe(float64(b.rows()))
	select {
	case s.pending <- b:
		return nil
	default:
	}
	// Every inserter is busy: wait, and so slow the pipeline down. The batch
	// is sealed and chained, so it is queued even past a cancelled context.
	s.m.blocked.Inc()
	s.pending <- b
	return nil
}

// batchID is deterministic in the rows the batch holds, so the same rows
// retried carry the same id (and the same insert_deduplication_token).
func batchID(b *batch) [16]byte {
	h := sha256.New()
	h.Write(b.first[:])
	h.Write(b.last[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(b.rows()))
	h.Write(n[:])
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id
}

// contentHash is SHA-256 over the batch's rows in event_id order: for each
// row its event_id (16 bytes), the length of its raw line (8 bytes, big
// endian) and the raw line. Verify recomputes it from what ClickHouse holds.
func contentHash(b *batch) [32]byte {
	type row struct {
		id  []byte
		raw string
	}
	byID := func(a, b row) int { return bytes.Compare(a.id, b.id) }
	var parts [2][]row
	for k, t := range []*table{b.events, b.unparsed} {
		ids, raws := t.column("event_id"), t.column("raw")
		parts[k] = make([]row, len(ids.b16))
		for i := range ids.b16 {
			parts[k][i] = row{ids.b16[i], raws.str[i]}
		}
	}
	// Each table holds its rows in spool order, which is event_id order:
	// merging the two is enough. Anything else is sorted.
	var rows []row
	if slices.IsSortedFunc(parts[0], byID) && slices.IsSortedFunc(parts[1], byID) {
		rows = make([]row, 0, len(parts[0])+len(parts[1]))
		a, u := parts[0], parts[1]
		for len(a) > 0 && len(u) > 0 {
			if byID(a[0], u[0]) <= 0 {
				rows, a = append(rows, a[0]), a[1:]
			} else {
				rows, u = append(rows, u[0]), u[1:]
			}
		}
		rows = append(append(rows, a...), u...)
	} else {
		rows = append(parts[0], parts[1]...)
		slices.SortFunc(rows, byID)
	}
	h := sha256.New()
	var n [8]byte
	for _, r := range rows {
		h.Write(r.id)
		binary.BigEndian.PutUint64(n[:], uint64(len(r.raw)))
		h.Write(n[:])
		h.Write([]byte(r.raw))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func chainHash(prev, content [32]byte) [32]byte {
	return sha256.Sum256(append(prev[:], content[:]...))
}

// ticker seals a batch that has waited flush_interval.
func (s *Sink) ticker() {
	defer s.wg.Done()
	iv := time.Duration(s.cfg.FlushInterval)
	t := time.NewTicker(max(iv/4, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed && s.open.rows() > 0 && time.Since(s.opened) >= iv {
				s.sealLocked()
			}
			s.mu.Unlock()
		}
	}
}

func (s *Sink) inserter() {
	defer s.wg.Done()
	for b := range s.pending {
		s.insert(b)
		s.m.pending.Dec()
	}
}

// insert runs the batch's three inserts, retrying retriable failures with
// capped exponential backoff and jitter until they succeed.
func (s *Sink) insert(b *batch) {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.insertOnce(b)
		if err == nil {
			s.m.latency.Observe(time.Since(b.sealedAt).Seconds())
			close(b.recorded)
			s.stored(b)
			return
		}
		if !Retriable(err) {
			s.m.failures.WithLabelValues("false").Inc()
			close(b.recorded)
			if s.deadLetter(b, err) {
				s.stored(b)
			}
			return
		}
		s.m.failures.WithLabelValues("true").Inc()
		if attempt == 0 || attempt%20 == 0 {
			s.log.Warn().Err(err).Uint64("seq", b.seq).Int("rows", b.rows()).Int("attempt", attempt+1).
				Msg("clickhouse insert failed; retrying the same batch")
		}
		time.Sleep(backoff/2 + rand.N(backoff/2+1))
		backoff = min(backoff*2, time.Duration(s.cfg.MaxRetryBackoff))
	}
}

// stored runs the durable callbacks of the writes the batch completes.
func (s *Sink) stored(b *batch) {
	for _, w := range b.waiters {
		w.release()
	}
	b.waiters = nil
}

func (s *Sink) insertOnce(b *batch) error {
	steps := []func() error{
		func() error { return s.insertTable(b, b.events) },
		func() error { return s.insertTable(b, b.unparsed) },
		func() error {
			<-b.prevRec // keep ingest_batches a gapless prefix of the chain
			return s.insertBatchRecord(b)
		},
	}
	for b.done < len(steps) {
		if err := steps[b.done](); err != nil {
			return err
		}
		b.done++
	}
	return nil
}

func (s *Sink) insertCtx(token string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.InsertTimeout))
	if s.profile == Modern {
		// Replays of the same block are dropped by the server, materialized
		// views included. 18.16 has neither setting (and rejects string
		// settings): there ReplacingMergeTree on event_id deduplicates.
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
			"insert_deduplication_token":                         token,
			"deduplicate_blocks_in_dependent_materialized_views": 1,
		}))
	}
	return ctx, cancel
}

func (s *Sink) insertTable(b *batch, t *table) error {
	if t.rows == 0 {
		return nil
	}
	ctx, cancel := s.insertCtx(hex.EncodeToString(b.id[:]) + "-" + t.name)
	defer cancel()
	start := time.Now()
	q := fmt.Sprintf("INSERT INTO %s.%s (%s)", quoteIdent(s.cfg.Database), quoteIdent(t.name), joinIdents(t.columnNames()))
	pb, err := s.conn.PrepareBatch(ctx, q)
	if err != nil {
		return err
	}
	defer pb.Abort()
	for i := range t.cols {
		if err := pb.Column(i).Append(t.cols[i].values()); err != nil {
			return &encodeError{column: t.cols[i].name, err: err}
		}
	}
	if err := pb.Send(); err != nil {
		return err
	}
	s.m.insertDuration.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
	s.m.rows.WithLabelValues(t.name).Add(float64(t.rows))
	return nil
}

func (s *Sink) insertBatchRecord(b *batch) error {
	ctx, cancel := s.insertCtx(hex.EncodeToString(b.id[:]) + "-batch")
	defer cancel()
	cols := insertColumns(batchColumns, s.profile)
	pb, err := s.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.ingest_batches (%s)", quoteIdent(s.cfg.Database), joinIdents(cols)))
	if err != nil {
		return err
	}
	defer pb.Abort()
	now := time.Now().UTC()
	vals := map[string]any{
		"chain_id": s.cfg.ChainID, "seq": b.seq, "batch_id": b.id[:], "inserted_at": now,
		"inserted_ms": uint16(now.Nanosecond() / 1e6), "first_event_id": b.first[:], "last_event_id": b.last[:],
		"rows": uint32(b.events.rows), "unparsed_rows": uint32(b.unparsed.rows),
		"content_sha256": b.content[:], "prev_sha256": b.prev[:], "chain_sha256": b.chain[:],
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		row[i] = vals[c]
	}
	if err := pb.Append(row...); err != nil {
		return &encodeError{column: "ingest_batches", err: err}
	}
	return pb.Send()
}

// Close seals the open batch and waits until the inserters have written
// everything or ctx ends; what is left then is reported, not hidden.
func (s *Sink) Close() error { return s.Shutdown(context.Background()) }

// Shutdown is Close with a deadline.
func (s *Sink) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.sealLocked()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	close(s.pending)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return s.conn.Close()
	case <-ctx.Done():
		n := len(s.pending)
		s.log.Error().Int("batches", n).Msg("shutdown deadline reached with clickhouse batches not yet inserted")
		return fmt.Errorf("clickhouse: %d batches not inserted before the shutdown deadline", n)
	}
}

func joinIdents(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(n))
	}
	return b.String()
}
