// Committing: the cursor of what every sink holds, saved and fsynced with
// the appended records in one group commit; fully committed segments are
// deleted.

package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

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
