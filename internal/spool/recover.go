// Recovery: the spool id, the segments found at start-up (a torn or
// corrupt tail cut off) and where the reader resumes.

package spool

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

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
