// Reading: the pipeline's single reader takes runs of consecutive records
// from one segment at a time.

package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

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
