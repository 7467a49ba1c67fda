package clickhouse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
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
	*Store
	chainID   string
	ownStore  bool // Shutdown closes the store too
	batchSize int

	mu     sync.Mutex
	open   *batch
	opened time.Time
	chain  [32]byte // chain_sha256 of the last sealed batch
	seq    uint64
	// recordedSeq is the seq of the newest batch the recorder has settled
	// (recorded or dead-lettered); only the recorder touches it.
	recordedSeq uint64
	resumeLast  [16]byte // last_event_id of the newest ingest_batches row
	haveResume  bool
	stop        chan struct{}
	wg          sync.WaitGroup // the ticker
	inflight    sync.WaitGroup // sealed batches not yet stored
	closed      bool
}

// Store is one connection to ClickHouse with its metrics, shared by every
// hash chain written through it. It also keeps policy_rules current.
type Store struct {
	cfg     Config
	conn    driver.Conn
	version string
	log     zerolog.Logger
	m       *metrics

	// pending holds sealed batches of every sink for the inserters, which
	// take as many as fit in batch_size rows into one INSERT.
	pending   chan *batch
	pendingMu sync.RWMutex // senders hold it shared; Close exclusive
	closed    bool
	ins       sync.WaitGroup
	rec       *recorder

	catalogMu      sync.Mutex
	catalogPending *enrich.Index
	catalogKick    chan struct{}
	quit           chan struct{}
	bg             sync.WaitGroup
	closeOnce      sync.Once
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
	waiters  []*waiter
	owner    *Sink
	outcome  outcome // set when the inserter is done with it
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

// New opens a store and a sink writing the chain cfg.ChainID through it;
// closing the sink closes the store.
func New(ctx context.Context, cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Sink, error) {
	st, err := OpenStore(ctx, cfg, reg, log)
	if err != nil {
		return nil, err
	}
	s, err := st.NewSink(ctx, cfg.ChainID, 1)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.ownStore = true
	return s, nil
}

// OpenStore connects, refuses a server older than MinServerVersion,
// migrates the schema when create_schema is on, and starts the background
// writer of policy_rules.
func OpenStore(ctx context.Context, cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Store, error) {
	conn, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := &Store{cfg: cfg, conn: conn, log: log.With().Str("sink", "clickhouse").Logger(), m: newMetrics(reg),
		catalogKick: make(chan struct{}, 1), quit: make(chan struct{}), pending: make(chan *batch, cfg.MaxPendingBatches)}
	if err := st.start(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	st.rec = newRecorder(st)
	go st.rec.run()
	for range cfg.Inserters {
		st.ins.Add(1)
		go st.inserter()
	}
	return st, nil
}

// NewSink starts a sink that writes the hash chain chainID, continuing it
// where ClickHouse says it stopped. One writer per chain at a time.
//
// share is the number of sinks writing through the store at once (a Kafka
// writer's partitions). They split batch_size, so that the rows buffered
// stay about those of one sink whatever the partition count; the inserters
// put the sealed batches of all of them into shared INSERTs of up to
// batch_size rows, so ClickHouse still sees large blocks.
func (st *Store) NewSink(ctx context.Context, chainID string, share int) (*Sink, error) {
	share = max(share, 1)
	s := &Sink{Store: st, chainID: chainID, stop: make(chan struct{}),
		batchSize: max(st.cfg.BatchSize/share, min(st.cfg.BatchSize, 1000))}
	if err := s.loadChain(ctx); err != nil {
		return nil, err
	}
	s.recordedSeq = s.seq
	s.open = s.newBatch()
	s.wg.Add(1)
	go s.ticker()
	return s, nil
}

// Close is Shutdown without a deadline.
func (st *Store) Close() error { return st.Shutdown(context.Background()) }

// Shutdown inserts the batches still queued (close the sinks first), until
// ctx ends; then it stops the background writers (the newest policy_rules
// snapshot gets one last try) and closes the connection.
func (st *Store) Shutdown(ctx context.Context) error {
	var err error
	st.closeOnce.Do(func() {
		st.pendingMu.Lock()
		st.closed = true
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
			err = fmt.Errorf("clickhouse: shutdown deadline passed with %d batches not inserted", len(st.pending)+1)
			st.log.Error().Err(err).Msg("closing with batches outstanding; they were not reported durable")
		}
		close(st.quit)
		st.bg.Wait()
		err = errors.Join(err, st.conn.Close())
	})
	return err
}

// Open connects to ClickHouse as configured and checks the connection.
func Open(ctx context.Context, cfg Config) (driver.Conn, error) {
	pw, err := cfg.password()
	if err != nil {
		return nil, fmt.Errorf("clickhouse password_file: %w", err)
	}
	conns := cfg.MaxConnections
	if conns == 0 {
		conns = cfg.Inserters + 2
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
	switch cfg.Compression {
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

func (s *Store) start(ctx context.Context) error {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("clickhouse server version: %w", err)
	}
	s.version = fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)
	if err := CheckServerVersion(int(v.Version.Major), int(v.Version.Minor)); err != nil {
		return fmt.Errorf("clickhouse %v: server %s: %w", s.cfg.Addresses, s.version, err)
	}
	s.log.Info().Str("server", s.version).Str("database", s.cfg.Database).Msg("clickhouse connected")
	if *s.cfg.CreateSchema {
		applied, err := migrate(ctx, s.conn, s.version, Options{Database: s.cfg.Database, RetentionDays: s.cfg.RetentionDays, Cluster: s.cfg.Cluster})
		if err != nil {
			return fmt.Errorf("clickhouse schema: %w", err)
		}
		if len(applied) > 0 {
			s.log.Info().Uints32("migrations", applied).Msg("clickhouse schema migrated")
		}
	}
	s.bg.Add(1)
	go s.catalogWriter()
	return nil
}

// loadChain continues this collector's hash chain where it stopped.
func (s *Sink) loadChain(ctx context.Context) error {
	q := fmt.Sprintf("SELECT seq, chain_sha256, last_event_id FROM %s.ingest_batches WHERE chain_id = ? ORDER BY seq DESC LIMIT 1", quoteIdent(s.cfg.Database))
	rows, err := s.conn.Query(ctx, q, s.chainID)
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

// Resume reports the last event of the spool (for a Kafka writer: of the
// partition) that this chain's newest ingest_batches row covers; every
// earlier one is stored.
func (s *Sink) Resume(_ context.Context, spoolID [8]byte) (uint64, bool, error) {
	if !s.haveResume || [8]byte(s.resumeLast[:8]) != spoolID {
		return 0, false, nil
	}
	return binary.BigEndian.Uint64(s.resumeLast[8:]), true, nil
}

func (s *Sink) Name() string { return "clickhouse" }

func (s *Sink) newBatch() *batch {
	return &batch{
		events:   newTable("dcf_events", eventFields, eventColumns, s.batchSize),
		unparsed: newTable("raw_unparsed", unparsedFields, unparsedColumns, 0),
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
		if b.rows() >= s.batchSize {
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
	b.owner = s
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
	s.open = s.newBatch()
	return s.enqueue(b)
}

// enqueue hands a sealed batch to the store's inserters, waiting while
// max_pending_batches are queued: the pipeline, and through it the
// listeners, slow down instead of dropping. The batch is sealed and
// chained, so it is queued even past a cancelled context.
func (s *Sink) enqueue(b *batch) error {
	st := s.Store
	st.pendingMu.RLock()
	defer st.pendingMu.RUnlock()
	if st.closed {
		return errors.New("clickhouse store is closed; the batch stays with its source")
	}
	s.inflight.Add(1)
	st.m.pending.Inc()
	st.m.batchRows.Observe(float64(b.rows()))
	select {
	case st.pending <- b:
		return nil
	default:
	}
	st.m.blocked.Inc()
	st.pending <- b
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

// group is sealed batches, of one or several sinks, inserted together: one
// INSERT per table for all their rows, then one for their ingest_batches
// rows. A retry repeats the same group with the same tokens.
type group struct {
	batches []*batch
	token   string // insert_deduplication_token prefix
	done    int    // insert steps already accepted, so a retry resumes
}

func newGroup(batches []*batch) *group {
	g := &group{batches: batches}
	if len(batches) == 1 {
		g.token = hex.EncodeToString(batches[0].id[:])
		return g
	}
	h := sha256.New()
	for _, b := range batches {
		h.Write(b.id[:])
	}
	g.token = hex.EncodeToString(h.Sum(nil)[:16])
	return g
}

func (st *Store) inserter() {
	defer st.ins.Done()
	for b := range st.pending {
		batches, rows := []*batch{b}, b.rows()
	more:
		for rows < st.cfg.BatchSize {
			select {
			case nb, ok := <-st.pending:
				if !ok {
					break more
				}
				batches, rows = append(batches, nb), rows+nb.rows()
			default:
				break more
			}
		}
		st.insert(newGroup(batches))
	}
}

// insert stores the group's rows, retrying retriable failures with
// capped exponential backoff and jitter until they succeed, and hands its
// batches to the recorder. A group that ClickHouse refuses for good is
// split, so that only the batch at fault is dead-lettered.
func (st *Store) insert(g *group) {
	retry := delivery.NewBackoff(100*time.Millisecond, time.Duration(st.cfg.MaxRetryBackoff))
	for attempt := 0; ; attempt++ {
		err := st.insertOnce(g)
		if err == nil {
			for _, b := range g.batches {
				st.rec.finished(b, rowsStored)
			}
			return
		}
		if !Retriable(err) {
			st.m.failures.WithLabelValues("false").Inc()
			if len(g.batches) > 1 && g.done == 0 {
				for _, b := range g.batches {
					st.insert(newGroup([]*batch{b}))
				}
				return
			}
			for _, b := range g.batches {
				if st.deadLetter(b, err) {
					st.rec.finished(b, deadLettered)
				} else {
					st.rec.finished(b, abandoned)
				}
			}
			return
		}
		st.m.failures.WithLabelValues("true").Inc()
		if attempt == 0 || attempt%20 == 0 {
			st.log.Warn().Err(err).Int("batches", len(g.batches)).Int("rows", g.rows()).Int("attempt", attempt+1).
				Msg("clickhouse insert failed; retrying the same batches")
		}
		retry.Wait()
	}
}

func (g *group) rows() int {
	n := 0
	for _, b := range g.batches {
		n += b.rows()
	}
	return n
}

// settle ends the batch's part in its sink's shutdown accounting and, unless
// it was abandoned, runs the durable callbacks of the writes it completes.
func (b *batch) settle() {
	if b.outcome != abandoned {
		for _, w := range b.waiters {
			w.release()
		}
	}
	b.waiters = nil
	b.owner.Store.m.pending.Dec()
	b.owner.inflight.Done()
}

func (st *Store) insertOnce(g *group) error {
	steps := []func() error{
		func() error { return st.insertTable(g, "dcf_events", func(b *batch) *table { return b.events }) },
		func() error { return st.insertTable(g, "raw_unparsed", func(b *batch) *table { return b.unparsed }) },
	}
	for g.done < len(steps) {
		if err := steps[g.done](); err != nil {
			return err
		}
		g.done++
	}
	return nil
}

func (st *Store) insertCtx(token string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(st.cfg.InsertTimeout))
	// Replays of the same block are dropped by the server, the blocks the
	// rollup views would add included.
	set := clickhouse.Settings{
		"insert_deduplication_token":                         token,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
	}
	if st.cfg.Cluster != "" {
		// The insert returns once every shard has its rows, not when
		// they are queued on this server: durable means stored.
		set["insert_distributed_sync"] = 1
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(set)), cancel
}

// insertTable sends one table's rows of every batch of the group as one
// block.
func (st *Store) insertTable(g *group, name string, pick func(*batch) *table) error {
	var tables []*table
	rows := 0
	for _, b := range g.batches {
		if t := pick(b); t.rows > 0 {
			tables, rows = append(tables, t), rows+t.rows
		}
	}
	if rows == 0 {
		return nil
	}
	ctx, cancel := st.insertCtx(g.token + "-" + name)
	defer cancel()
	start := time.Now()
	q := fmt.Sprintf("INSERT INTO %s.%s (%s)", quoteIdent(st.cfg.Database), quoteIdent(name), joinIdents(tables[0].columnNames()))
	pb, err := st.conn.PrepareBatch(ctx, q)
	if err != nil {
		return err
	}
	defer pb.Abort()
	for i := range tables[0].cols {
		for _, t := range tables {
			if err := pb.Column(i).Append(t.cols[i].values()); err != nil {
				return &encodeError{column: t.cols[i].name, err: err}
			}
		}
	}
	if err := pb.Send(); err != nil {
		return err
	}
	st.m.insertDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	st.m.rows.WithLabelValues(name).Add(float64(rows))
	return nil
}

// insertBatchRecords inserts the ingest_batches rows of the batches, as
// one block deduplicated by token; at is their inserted_at.
func (st *Store) insertBatchRecords(bs []*batch, token string, at time.Time) error {
	ctx, cancel := st.insertCtx(token)
	defer cancel()
	cols := insertColumns(batchColumns)
	pb, err := st.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.ingest_batches (%s)", quoteIdent(st.cfg.Database), joinIdents(cols)))
	if err != nil {
		return err
	}
	defer pb.Abort()
	row := make([]any, len(cols))
	for _, b := range bs {
		vals := map[string]any{
			"chain_id": b.owner.chainID, "seq": b.seq, "batch_id": b.id[:], "inserted_at": at,
			"first_event_id": b.first[:], "last_event_id": b.last[:],
			"rows": uint32(b.events.rows), "unparsed_rows": uint32(b.unparsed.rows),
			"content_sha256": b.content[:], "prev_sha256": b.prev[:], "chain_sha256": b.chain[:],
		}
		for i, c := range cols {
			row[i] = vals[c]
		}
		if err := pb.Append(row...); err != nil {
			return &encodeError{column: "ingest_batches", err: err}
		}
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
	err := s.sealLocked()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Error().Str("chain", s.chainID).Msg("shutdown deadline reached with clickhouse batches not yet inserted")
		err = errors.Join(err, fmt.Errorf("clickhouse: chain %s: batches not inserted before the shutdown deadline", s.chainID))
	}
	if s.ownStore {
		err = errors.Join(err, s.Store.Shutdown(ctx))
	}
	return err
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
