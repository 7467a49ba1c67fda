// Package spool is the collector's write-ahead log. Listeners append every
// received message to checksummed, append-only segment files before reading
// the next one; the pipeline reads the records back, and commits a position
// once every sink holds everything before it. Fully committed segments are
// deleted; a restart replays from the last committed position.
//
// # Guarantee
//
// A message is accepted once Append returned: it has been written to the
// operating system, so it survives the collector crashing or being killed.
// Appended records are fsynced in groups every fsync_interval (and on
// segment rotation), so a power failure or kernel crash loses at most the
// messages accepted in the last fsync_interval; a torn or corrupt tail is
// cut off at start-up by its checksum, counted and logged. From the spool
// on, delivery is at least once; event ids are derived from the record's
// position (spool id and sequence number), so replays keep their ids and
// the sinks deduplicate them.
package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var (
	// ErrClosed is returned by Append after CloseWriter.
	ErrClosed = errors.New("spool is closed")
	// ErrFull is returned by Append for UDP batches that the block policy
	// refuses while the spool is full.
	ErrFull = errors.New("spool is full")
)

// Position is a place in the spool: Seq is the next record's sequence
// number, Offset its byte offset in the segment that starts at Segment.
type Position struct {
	Seq     uint64
	Segment uint64
	Offset  int64
}

// Spool is safe for concurrent appends from every listener and one reader.
type Spool struct {
	cfg  Config
	id   [8]byte
	log  zerolog.Logger
	m    *metrics
	lock *os.File

	mu      sync.Mutex
	space   *sync.Cond // signalled when bytes are freed, and periodically
	segs    []*segment // in sequence order; the last one is active
	next    uint64     // sequence number of the next appended record
	bytes   int64
	retired []retired // rotated segments awaiting their fsync
	closed  bool
	full    bool // appenders are blocked: logged once per episode
	waiting int  // appenders blocked on a full spool

	rseg  *segment // the reader's segment
	roff  int64
	rnext uint64
	names map[string]string

	commit Position
	saved  Position

	dataCh chan struct{}
	syncCh chan struct{}
	stopCh chan struct{}
	wg     sync.WaitGroup
}

type retired struct {
	sg   *segment
	f    *os.File
	size int64
}

// Open opens the spool in cfg.Dir, creating it when needed, recovers from
// an unclean stop (cutting a torn tail), and positions the reader at the
// last committed position.
func Open(cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Spool, error) {
	s := &Spool{cfg: cfg, log: log.With().Str("component", "spool").Logger(), names: map[string]string{},
		dataCh: make(chan struct{}, 1), syncCh: make(chan struct{}, 1), stopCh: make(chan struct{})}
	s.space = sync.NewCond(&s.mu)
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(cfg.Dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %s is in use by another process (%w)", cfg.Dir, err)
	}
	s.lock = lock
	s.m = newMetrics(reg, s)
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.wg.Add(1)
	go s.syncLoop()
	return s, nil
}

// ID is the spool's random identity, the first half of every event id.
func (s *Spool) ID() [8]byte { return s.id }

// CloseWriter refuses further appends and wakes blocked appenders; the
// reader reads what is left and then gets io.EOF.
func (s *Spool) CloseWriter() {
	s.mu.Lock()
	s.closed = true
	s.space.Broadcast()
	s.mu.Unlock()
	select {
	case s.syncCh <- struct{}{}:
	default:
	}
	select {
	case s.dataCh <- struct{}{}:
	default:
	}
}

// Close stops the spool: a last fsync, the cursor saved, files closed.
func (s *Spool) Close() error {
	s.CloseWriter()
	select {
	case <-s.stopCh:
		return nil
	default:
	}
	close(s.stopCh)
	s.wg.Wait()
	s.syncOnce()
	s.saveCursor()
	s.closeFiles()
	return nil
}

func (s *Spool) closeFiles() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range s.segs {
		if sg.w != nil {
			sg.w.Sync()
			sg.w.Close()
			sg.w = nil
		}
		if sg.r != nil {
			sg.r.Close()
			sg.r = nil
		}
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// Stats is a snapshot for metrics and tests.
type Stats struct {
	Bytes      int64
	Segments   int
	Next       uint64 // sequence number of the next appended record
	Committed  uint64 // every record before it is committed
	LagRecords uint64
}

func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Bytes: s.bytes, Segments: len(s.segs), Next: s.next, Committed: s.commit.Seq}
	floor := s.commit.Seq
	if len(s.segs) > 0 {
		floor = max(floor, s.segs[0].first)
	}
	if s.next > floor {
		st.LagRecords = s.next - floor
	}
	return st
}
