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
//
// Like a write-ahead log's reader, it takes the lock only to learn which
// durable region of its segment comes next and, afterwards, to move past
// what it decoded; reading the file and decoding the records happen
// without it, so appends and commits never wait for a read.
func (s *Spool) Next(ctx context.Context, b *Batch) error {
	b.Reset()
	want := readBytes
	for {
		rg, err := s.nextRegion(ctx, want)
		if err != nil {
			return err
		}
		sg := rg.sg
		if sg.r == nil { // only the reader touches sg.r
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
		if cap(b.buf) < int(rg.n) {
			b.buf = make([]byte, rg.n)
		}
		buf := b.buf[:rg.n]
		got, rerr := sg.r.ReadAt(buf, rg.off)
		var d decoded
		if rerr == nil || got == int(rg.n) {
			d = decodeRegion(buf, rg.next, b, s.names)
		}

		s.mu.Lock()
		if sg.gone || s.rseg != sg || s.roff != rg.off || s.rnext != rg.next {
			s.mu.Unlock() // drop_oldest moved the reader meanwhile
			b.Reset()
			continue
		}
		if rerr != nil && got < int(rg.n) {
			s.mu.Unlock()
			return fmt.Errorf("spool: read %s: %w", sg.path, rerr)
		}
		switch {
		case d.corrupt != nil:
			s.skipCorruptLocked(sg, b, d.used, d.corrupt)
			s.mu.Unlock()
			if len(b.Records) > 0 {
				return nil
			}
			want = readBytes
		case len(b.Records) > 0:
			s.finishDecodeLocked(sg, b, d.used)
			s.mu.Unlock()
			return nil
		case d.grow > 0 && int64(d.grow) <= sg.synced-rg.off:
			s.mu.Unlock()
			want = d.grow // one record larger than a read
		case sg != s.active() || s.closed:
			// The durable prefix ends inside a record. Appends write whole
			// records, so only a segment still being written may look like
			// this; anywhere else the record is damaged.
			s.skipCorruptLocked(sg, b, 0, errShort)
			s.mu.Unlock()
			want = readBytes
		default:
			s.mu.Unlock()
			if err := s.waitData(ctx); err != nil {
				return err
			}
		}
	}
}

// region is a durable stretch of the reader's segment: taken under the
// lock, read and decoded without it.
type region struct {
	sg   *segment
	off  int64  // the reader's offset in sg
	n    int64  // bytes to read, all of them durable
	next uint64 // sequence number of the record at off
}

// nextRegion returns the next durable region to read, at most want
// bytes, moving past fully read segments and waiting for appends.
func (s *Spool) nextRegion(ctx context.Context, want int) (region, error) {
	for {
		s.mu.Lock()
		sg := s.readerSegmentLocked()
		if sg != nil && s.roff < sg.synced {
			rg := region{sg: sg, off: s.roff, n: min(sg.synced-s.roff, int64(want)), next: s.rnext}
			s.mu.Unlock()
			return rg, nil
		}
		if sg != nil && sg != s.active() && sg.synced == sg.size {
			s.advanceLocked()
			s.mu.Unlock()
			continue
		}
		closed := s.closed && (sg == nil || sg.synced == sg.size)
		s.mu.Unlock()
		if closed {
			return region{}, io.EOF
		}
		if err := s.waitData(ctx); err != nil {
			return region{}, err
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

// decoded is what decoding a region gave: the bytes of whole records
// decoded into the batch; when not even one record fit, the read size it
// needs; a damaged record at used.
type decoded struct {
	used    int
	grow    int
	corrupt error
}

// decodeRegion decodes the records in buf, the first of them numbered
// next, into b. It needs no lock: names is the reader's own.
func decodeRegion(buf []byte, next uint64, b *Batch, names map[string]string) (d decoded) {
	for len(b.Records) < readRecords {
		var r Record
		n, err := decodeRecord(buf[d.used:], &r, names)
		if err == errShort {
			if d.used == 0 && len(buf) >= recordHeader {
				d.grow = recordHeader + int(binary.LittleEndian.Uint32(buf))
			}
			return d
		}
		if err != nil {
			d.corrupt = err
			return d
		}
		r.Seq = next + uint64(len(b.Records))
		b.Records = append(b.Records, r)
		d.used += n
	}
	return d
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
