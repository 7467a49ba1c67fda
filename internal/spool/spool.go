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
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
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

func loadOrCreateID(dir string) ([8]byte, error) {
	var id [8]byte
	path := filepath.Join(dir, "spool.id")
	b, err := os.ReadFile(path)
	if err == nil {
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(raw) != 8 {
			return id, fmt.Errorf("spool id file %s: not 16 hex digits", path)
		}
		return [8]byte(raw), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return id, err
	}
	crand.Read(id[:])
	if err := writeFileSync(path, []byte(hex.EncodeToString(id[:])+"\n")); err != nil {
		return id, fmt.Errorf("spool id: %w", err)
	}
	return id, nil
}

// writeFileSync replaces path atomically and durably: write a temporary
// file, fsync it, rename it over path, fsync the directory.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// The cursor file: "VCACUR01" | seq | segment | offset | CRC-32C of the 32 bytes before.
const cursorMagic = "VCACUR01"

func encodeCursor(p Position) []byte {
	b := make([]byte, 36)
	copy(b, cursorMagic)
	binary.LittleEndian.PutUint64(b[8:], p.Seq)
	binary.LittleEndian.PutUint64(b[16:], p.Segment)
	binary.LittleEndian.PutUint64(b[24:], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[32:], crc32.Checksum(b[:32], castagnoli))
	return b
}

func loadCursor(dir string) (Position, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cursor"))
	if errors.Is(err, os.ErrNotExist) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, err
	}
	if len(b) != 36 || string(b[:8]) != cursorMagic || crc32.Checksum(b[:32], castagnoli) != binary.LittleEndian.Uint32(b[32:]) {
		return Position{}, false, errors.New("cursor file is corrupt")
	}
	return Position{Seq: binary.LittleEndian.Uint64(b[8:]), Segment: binary.LittleEndian.Uint64(b[16:]),
		Offset: int64(binary.LittleEndian.Uint64(b[24:]))}, true, nil
}

// recover validates the segments, cuts a torn tail, finds the reader's
// position, deletes what is committed and opens a fresh active segment.
func (s *Spool) recover() error {
	id, err := loadOrCreateID(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.id = id
	segs, err := listSegments(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// Only the last segment can have a torn tail: rotation fsyncs a
	// segment before the next one exists. Older ones are checked record by
	// record as they are read.
	for len(segs) > 0 {
		last := segs[len(segs)-1]
		res, err := scanSegment(last.path, s.id, last.first)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if res.err != nil {
			s.m.dropped.WithLabelValues("torn_tail").Add(1)
			s.log.Error().Str("segment", filepath.Base(last.path)).Int64("valid_bytes", res.valid).
				Int64("cut_bytes", res.badBytes).Uint64("records_kept", res.records).
				Uint64("first_lost_seq", last.first+res.records).Str("reason", res.err.Error()).
				Msg("spool tail is torn or corrupt; cutting it off (the bytes after the last valid record are lost)")
		}
		if res.valid < segmentHeader {
			os.Remove(last.path)
			segs = segs[:len(segs)-1]
			continue
		}
		if res.err != nil {
			if err := os.Truncate(last.path, res.valid); err != nil {
				return fmt.Errorf("spool: cut torn tail: %w", err)
			}
		}
		last.size, last.count = res.valid, res.records
		break
	}
	// A killed collector leaves records in the page cache only: make them
	// durable before anything reads them.
	for _, sg := range segs {
		if f, err := os.OpenFile(sg.path, os.O_RDWR, 0); err == nil {
			f.Sync()
			f.Close()
		}
		sg.synced = sg.size
	}
	cur, haveCursor, err := loadCursor(s.cfg.Dir)
	if err != nil {
		s.log.Error().Err(err).Msg("spool cursor unreadable; replaying every segment (sinks deduplicate by event id)")
	}
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		s.next = last.first + last.count
	}
	if haveCursor && cur.Seq > s.next {
		s.next = cur.Seq // keep ids unique even if the tail was lost
	}
	if !haveCursor && len(segs) > 0 {
		cur = Position{Seq: segs[0].first}
	}
	// Delete segments that are entirely before the cursor.
	for len(segs) > 0 && s.segEndOf(segs, 0) <= cur.Seq {
		os.Remove(segs[0].path)
		segs = segs[1:]
	}
	s.segs = segs
	for _, sg := range segs {
		s.bytes += sg.size
	}
	s.rnext, s.roff = cur.Seq, 0
	if len(segs) > 0 {
		sg := segs[0]
		s.rseg = sg
		switch {
		case cur.Seq <= sg.first:
			if haveCursor && cur.Seq < sg.first {
				s.log.Warn().Uint64("cursor", cur.Seq).Uint64("first_available", sg.first).
					Msg("spool records between the cursor and the oldest segment are gone (dropped while full)")
			}
			s.rnext, s.roff = sg.first, segmentHeader
		case cur.Segment == sg.first && cur.Offset >= segmentHeader:
			s.roff = cur.Offset
		default:
			off, err := offsetOf(sg, s.id, cur.Seq)
			if err != nil {
				return err
			}
			s.roff = off
		}
	}
	s.commit = Position{Seq: s.rnext, Segment: s.segFirstOr(s.rnext), Offset: s.roff}
	s.saved = s.commit
	if err := s.rotateLocked(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if s.rseg == nil {
		s.rseg, s.roff, s.rnext = s.segs[0], segmentHeader, s.segs[0].first
	}
	s.log.Info().Str("dir", s.cfg.Dir).Str("spool_id", hex.EncodeToString(s.id[:])).Int("segments", len(s.segs)).
		Int64("bytes", s.bytes).Uint64("replay_from", s.rnext).Uint64("replay_records", s.next-s.rnext).
		Msg("spool opened")
	return nil
}

func (s *Spool) segFirstOr(seq uint64) uint64 {
	if s.rseg != nil {
		return s.rseg.first
	}
	return seq
}

// offsetOf finds the byte offset of record seq in a segment by reading it.
func offsetOf(sg *segment, id [8]byte, seq uint64) (int64, error) {
	f, err := os.Open(sg.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := io.NewSectionReader(f, 0, sg.size)
	buf := make([]byte, recordHeader)
	off := int64(segmentHeader)
	for n := sg.first; n < seq; n++ {
		if _, err := r.ReadAt(buf, off); err != nil {
			return off, nil // past the end: start at the end
		}
		off += recordHeader + int64(binary.LittleEndian.Uint32(buf))
	}
	return off, nil
}

// segEndOf is the sequence number after the last record of segs[i].
func (s *Spool) segEndOf(segs []*segment, i int) uint64 {
	if i+1 < len(segs) {
		return segs[i+1].first
	}
	if segs[i] == s.activeOrNil() {
		return s.next
	}
	return segs[i].first + segs[i].count
}

func (s *Spool) activeOrNil() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	if a := s.segs[len(s.segs)-1]; a.w != nil {
		return a
	}
	return nil
}

func (s *Spool) active() *segment { return s.segs[len(s.segs)-1] }

// rotateLocked starts a new active segment at s.next; the old write handle
// is fsynced by the sync loop, right away.
func (s *Spool) rotateLocked() error {
	if len(s.segs) > 0 {
		if a := s.active(); a.w != nil {
			a.count = s.next - a.first
			s.retired = append(s.retired, retired{sg: a, f: a.w, size: a.size})
			a.w = nil
			select {
			case s.syncCh <- struct{}{}:
			default:
			}
		}
	}
	sg := &segment{first: s.next, path: segmentPath(s.cfg.Dir, s.next)}
	f, err := os.OpenFile(sg.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(encodeSegmentHeader(s.id, sg.first)); err != nil {
		f.Close()
		os.Remove(sg.path)
		return err
	}
	if err := f.Sync(); err == nil {
		syncDir(s.cfg.Dir)
	}
	sg.w, sg.size, sg.synced = f, segmentHeader, segmentHeader
	s.segs = append(s.segs, sg)
	s.bytes += segmentHeader
	s.m.rotations.Inc()
	return nil
}

var encPool = sync.Pool{New: func() any { b := make([]byte, 0, 512<<10); return &b }}

// Append writes the batch's messages as records. It returns once they are
// written to the operating system: from then on they are accepted. With
// the block policy and a full spool it waits for space, except for UDP
// batches, which it drops (counted) and reports with ErrFull.
func (s *Spool) Append(b *listen.Batch) error {
	if len(b.Msgs) == 0 {
		return nil
	}
	bp := encPool.Get().(*[]byte)
	buf := (*bp)[:0]
	// Write in pieces of at most a quarter segment, so that any piece fits
	// once the committed segments are gone, whatever the batch size.
	limit := int(s.cfg.SegmentSize / 4)
	udp := b.Source.Transport == "udp"
	var err error
	n := uint64(0)
	for i := range b.Msgs {
		m := &b.Msgs[i]
		buf = appendRecord(buf, m.ReceivedAt, m.Peer, b.Source.Listener, b.Source.Transport, m.Truncated, m.Data)
		n++
		if len(buf) >= limit || i == len(b.Msgs)-1 {
			if err = s.write(buf, n, udp); err != nil {
				if rest := uint64(len(b.Msgs) - 1 - i); rest > 0 && errors.Is(err, ErrFull) {
					s.m.dropped.WithLabelValues("full_udp").Add(float64(rest))
				}
				break
			}
			buf, n = buf[:0], 0
		}
	}
	if cap(buf) <= 4<<20 {
		*bp = buf
		encPool.Put(bp)
	}
	return err
}

func (s *Spool) write(buf []byte, n uint64, udp bool) error {
	need := int64(len(buf))
	s.mu.Lock()
	defer s.mu.Unlock()
	var blockedSince time.Time
	defer func() {
		if !blockedSince.IsZero() {
			s.m.blocked.Add(time.Since(blockedSince).Seconds())
		}
	}()
	full := func(reason string) error {
		if s.cfg.FullPolicy == DropOldest && s.dropOldestLocked(reason) {
			return nil
		}
		if udp {
			s.m.dropped.WithLabelValues("full_udp").Add(float64(n))
			return ErrFull
		}
		if blockedSince.IsZero() {
			blockedSince = time.Now()
			if !s.full {
				s.full = true
				s.log.Warn().Str("reason", reason).Int64("bytes", s.bytes).
					Msg("spool full: TCP and TLS readers wait for the pipeline to commit (backpressure)")
			}
		}
		s.waiting++
		s.space.Wait()
		s.waiting--
		return nil
	}
	for {
		if s.closed {
			return ErrClosed
		}
		// With only the active segment left nothing can be freed: a record
		// bigger than the room left goes in, over the cap, rather than never.
		if s.bytes+need > int64(s.cfg.MaxSize) && len(s.segs) > 1 {
			if err := full("max_size"); err != nil {
				return err
			}
			continue
		}
		a := s.active()
		if a.w == nil || (a.size+need > int64(s.cfg.SegmentSize) && a.size > segmentHeader) {
			if err := s.rotateLocked(); err != nil {
				if !diskFull(err) {
					return fmt.Errorf("spool: new segment: %w", err)
				}
				if err := full("disk_full"); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := a.w.WriteAt(buf, a.size); err != nil {
			a.w.Truncate(a.size) // never leave part of a record behind
			if !diskFull(err) {
				s.log.Error().Err(err).Msg("spool write failed")
				return fmt.Errorf("spool: write: %w", err)
			}
			if err := full("disk_full"); err != nil {
				return err
			}
			continue
		}
		if s.full {
			s.full = false
			s.log.Info().Int64("bytes", s.bytes).Msg("spool has room again; listeners resume")
		}
		a.size += need
		a.count += n
		s.next += n
		s.bytes += need
		s.m.appended.Add(float64(n))
		return nil
	}
}

func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// dropOldestLocked deletes the oldest segment to make room, unless it is
// the active one. Records in it that the reader has not read yet are lost:
// they are counted and logged with their exact range.
func (s *Spool) dropOldestLocked(reason string) bool {
	if len(s.segs) < 2 {
		return false
	}
	sg := s.segs[0]
	end := s.segEndOf(s.segs, 0)
	from := max(sg.first, s.rnext)
	s.removeFirstLocked()
	if s.rseg == sg {
		s.rnext, s.roff = end, segmentHeader
	}
	if from < end {
		lost := end - from
		s.m.dropped.WithLabelValues("drop_oldest").Add(float64(lost))
		s.log.Error().Str("reason", reason).Uint64("records", lost).Uint64("first_seq", from).Uint64("last_seq", end-1).
			Str("first_event_id", s.eventIDHex(from)).Str("last_event_id", s.eventIDHex(end-1)).
			Msg("spool full: dropped the oldest unread records (full_policy drop_oldest)")
	}
	return true
}

func (s *Spool) eventIDHex(seq uint64) string {
	id := parse.NewEventID(s.id, seq)
	return hex.EncodeToString(id[:])
}

// removeFirstLocked deletes the oldest segment file.
func (s *Spool) removeFirstLocked() {
	sg := s.segs[0]
	sg.gone = true
	s.segs = s.segs[1:]
	s.bytes -= sg.size
	os.Remove(sg.path)
	s.space.Broadcast()
}

// Batch is a run of consecutive records read from one segment.
type Batch struct {
	Records []Record
	// End is the position after the last record: commit it once every sink
	// holds the batch.
	End Position
	buf []byte
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	clear(b.Records)
	b.Records = b.Records[:0]
}

const (
	readBytes   = 256 << 10
	readRecords = 1024
)

// Next fills b with the next records, waiting for appends. It returns
// io.EOF once the writer is closed and everything was read, or ctx's error.
func (s *Spool) Next(ctx context.Context, b *Batch) error {
	b.Reset()
	want := readBytes
	for {
		s.mu.Lock()
		sg := s.readerSegmentLocked()
		if sg != nil && s.roff < sg.synced {
			off, n := s.roff, min(sg.synced-s.roff, int64(want))
			s.mu.Unlock()
			if sg.r == nil {
				f, err := os.Open(sg.path)
				if err != nil {
					s.mu.Lock()
					gone := sg.gone // dropped meanwhile: the next round moves on
					s.mu.Unlock()
					if gone {
						continue
					}
					return fmt.Errorf("spool: open %s: %w", sg.path, err)
				}
				sg.r = f
			}
			if cap(b.buf) < int(n) {
				b.buf = make([]byte, n)
			}
			buf := b.buf[:n]
			got, err := sg.r.ReadAt(buf, off)
			s.mu.Lock()
			if sg.gone || s.rseg != sg || s.roff != off {
				s.mu.Unlock()
				continue
			}
			if err != nil && got < int(n) {
				s.mu.Unlock()
				return fmt.Errorf("spool: read %s: %w", sg.path, err)
			}
			grow := s.decodeLocked(sg, buf, b)
			if len(b.Records) > 0 {
				s.mu.Unlock()
				return nil
			}
			if s.roff != off { // a damaged record was skipped
				s.mu.Unlock()
				want = readBytes
				continue
			}
			if grow > 0 && int64(grow) <= sg.synced-off {
				s.mu.Unlock()
				want = grow // one record larger than a read
				continue
			}
			// The durable prefix ends inside a record. Appends write whole
			// records, so only a segment still being written may look like
			// this; anywhere else the record is damaged.
			if sg != s.active() || s.closed {
				s.skipCorruptLocked(sg, b, 0, errShort)
				s.mu.Unlock()
				want = readBytes
				continue
			}
			s.mu.Unlock()
			if err := s.waitData(ctx); err != nil {
				return err
			}
			continue
		}
		if sg != nil && sg != s.active() && sg.synced == sg.size {
			s.advanceLocked()
			s.mu.Unlock()
			continue
		}
		closed := s.closed && (sg == nil || sg.synced == sg.size)
		s.mu.Unlock()
		if closed {
			return io.EOF
		}
		if err := s.waitData(ctx); err != nil {
			return err
		}
	}
}

// waitData waits for the next group commit (new durable records).
func (s *Spool) waitData(ctx context.Context) error {
	select {
	case <-s.dataCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopCh:
		return io.EOF
	}
}

// readerSegmentLocked returns the reader's segment, moving past deleted ones.
func (s *Spool) readerSegmentLocked() *segment {
	if s.rseg != nil && !s.rseg.gone {
		return s.rseg
	}
	if s.rseg != nil && s.rseg.r != nil {
		s.rseg.r.Close()
		s.rseg.r = nil
	}
	s.rseg = nil
	for _, sg := range s.segs {
		if s.segEndOf(s.segs, s.indexOf(sg)) > s.rnext || sg == s.active() {
			s.rseg = sg
			if sg.first >= s.rnext {
				s.rnext, s.roff = sg.first, segmentHeader
			}
			// A segment the reader is inside keeps its offset: only the
			// drop of the reader's own segment sends it here, and that
			// resets rnext to the next segment's start.
			if s.roff < segmentHeader {
				s.roff = segmentHeader
			}
			break
		}
	}
	return s.rseg
}

func (s *Spool) indexOf(sg *segment) int {
	for i, x := range s.segs {
		if x == sg {
			return i
		}
	}
	return -1
}

// advanceLocked moves the reader from a fully read segment to the next.
func (s *Spool) advanceLocked() {
	i := s.indexOf(s.rseg)
	if s.rseg.r != nil {
		s.rseg.r.Close()
		s.rseg.r = nil
	}
	nx := s.segs[i+1]
	if nx.first > s.rnext {
		s.log.Warn().Uint64("from", s.rnext).Uint64("to", nx.first-1).Msg("spool sequence gap between segments")
	}
	s.rseg, s.rnext, s.roff = nx, nx.first, segmentHeader
}

// decodeLocked decodes the records in buf (read at the reader's offset)
// into b and advances the reader. It returns the read size needed when not
// even the first record fit in buf.
func (s *Spool) decodeLocked(sg *segment, buf []byte, b *Batch) (grow int) {
	p := 0
	for len(b.Records) < readRecords {
		var r Record
		n, err := decodeRecord(buf[p:], &r, s.names)
		if err == errShort {
			if p == 0 && len(buf) >= recordHeader {
				grow = recordHeader + int(binary.LittleEndian.Uint32(buf))
			}
			break
		}
		if err != nil {
			s.skipCorruptLocked(sg, b, p, err)
			return 0
		}
		r.Seq = s.rnext + uint64(len(b.Records))
		b.Records = append(b.Records, r)
		p += n
	}
	s.finishDecodeLocked(sg, b, p)
	return grow
}

// skipCorruptLocked handles a damaged record at buf offset p: nothing after
// it in this segment can be trusted, so the reader skips to the segment's
// end, keeping the records decoded before it.
func (s *Spool) skipCorruptLocked(sg *segment, b *Batch, p int, cause error) {
	end := s.segEndOf(s.segs, s.indexOf(sg))
	first := s.rnext + uint64(len(b.Records))
	lost := end - first
	s.m.dropped.WithLabelValues("corrupt").Add(float64(lost))
	s.log.Error().Str("segment", filepath.Base(sg.path)).Int64("offset", s.roff+int64(p)).Err(cause).
		Uint64("records_lost", lost).Uint64("first_seq", first).
		Msg("spool record corrupt; skipping the rest of the segment")
	s.finishDecodeLocked(sg, b, p)
	s.rnext, s.roff = end, sg.size
	b.End = Position{Seq: s.rnext, Segment: sg.first, Offset: s.roff}
}

func (s *Spool) finishDecodeLocked(sg *segment, b *Batch, used int) {
	s.rnext += uint64(len(b.Records))
	s.roff += int64(used)
	b.End = Position{Seq: s.rnext, Segment: sg.first, Offset: s.roff}
}

// Commit records that every record before p is held by every sink.
func (s *Spool) Commit(p Position) {
	s.mu.Lock()
	if p.Seq > s.commit.Seq {
		s.m.committed.Add(float64(p.Seq - s.commit.Seq))
		s.commit = p
	}
	s.mu.Unlock()
}

// syncLoop is the group commit: it fsyncs what was appended every
// fsync_interval (at once after a rotation), saves the cursor and deletes
// committed segments.
func (s *Spool) syncLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Duration(s.cfg.FsyncInterval))
	defer t.Stop()
	lastSave := time.Now()
	for {
		select {
		case <-s.stopCh:
			return
		case <-t.C:
		case <-s.syncCh:
		}
		s.syncOnce()
		if time.Since(lastSave) >= 200*time.Millisecond {
			s.saveCursor()
			lastSave = time.Now()
		}
		s.mu.Lock()
		if s.waiting > 0 {
			s.space.Broadcast() // blocked appenders retry (a full disk may have room now)
		}
		s.mu.Unlock()
	}
}

func (s *Spool) syncOnce() {
	s.mu.Lock()
	retired := s.retired
	s.retired = nil
	a := s.activeOrNil()
	var f *os.File
	var size int64
	if a != nil && a.synced < a.size {
		f, size = a.w, a.size
	}
	s.mu.Unlock()
	if f == nil && len(retired) == 0 {
		return
	}
	start := time.Now()
	for _, r := range retired {
		if err := r.f.Sync(); err != nil {
			s.log.Error().Err(err).Str("segment", filepath.Base(r.sg.path)).Msg("spool fsync failed")
		}
		r.f.Close()
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			s.log.Error().Err(err).Msg("spool fsync failed")
		}
	}
	s.m.fsync.Observe(time.Since(start).Seconds())
	s.mu.Lock()
	for _, r := range retired {
		r.sg.synced = r.size
	}
	if f != nil && a.synced < size {
		a.synced = size
	}
	s.mu.Unlock()
	select {
	case s.dataCh <- struct{}{}:
	default:
	}
}

// saveCursor persists the commit position, then deletes every segment the
// position has passed.
func (s *Spool) saveCursor() {
	s.mu.Lock()
	c := s.commit
	s.mu.Unlock()
	if c != s.saved {
		if err := writeFileSync(filepath.Join(s.cfg.Dir, "cursor"), encodeCursor(c)); err != nil {
			s.log.Error().Err(err).Msg("spool cursor not saved; replay after a crash will start earlier")
			return
		}
		s.saved = c
	}
	// Also when the cursor did not move: the reader may have left a
	// segment only after its last commit.
	s.mu.Lock()
	for len(s.segs) > 1 && s.segEndOf(s.segs, 0) <= s.saved.Seq && s.segs[0] != s.rseg {
		s.removeFirstLocked()
	}
	s.mu.Unlock()
}

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
