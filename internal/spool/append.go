// Appending: records written to the active segment, rotation, and what a
// full spool does (wait, refuse the input, or drop the oldest).

package spool

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

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

// Append writes the input's messages as records. It returns once they are
// written to the operating system: from then on they are accepted. With
// the block policy and a full spool it waits for space, or, when the
// origin says Refuse, drops what is left of the input (counted) and
// reports ErrFull.
func (s *Spool) Append(from Origin, in Input) error {
	count := in.Len()
	if count == 0 {
		return nil
	}
	bp := encPool.Get().(*[]byte)
	buf := (*bp)[:0]
	// Write in pieces of at most a quarter segment, so that any piece fits
	// once the committed segments are gone, whatever the batch size.
	limit := int(s.cfg.SegmentSize / 4)
	refuse := from.WhenFull == Refuse
	var err error
	n := uint64(0)
	for i := range count {
		data, rx, peer, truncated := in.Message(i)
		buf = appendRecord(buf, rx, peer, from.Listener, from.Transport, truncated, data)
		n++
		if len(buf) >= limit || i == count-1 {
			if err = s.write(buf, n, refuse); err != nil {
				if rest := uint64(count - 1 - i); rest > 0 && errors.Is(err, ErrFull) {
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

func (s *Spool) write(buf []byte, n uint64, refuse bool) error {
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
		if refuse {
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
