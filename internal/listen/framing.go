package listen

import (
	"bytes"
	"errors"
	"io"
)

// FrameReader splits a syslog byte stream into messages. Each frame is
// detected on its own, as rsyslog's imptcp does: a frame that starts with
// digits and a space is octet-counted (RFC 6587: "LEN SP MSG"); anything else
// runs to the next LF. Trailing CR and NUL are stripped.
//
// A message longer than the limit is cut at the limit and reported as
// truncated; the rest of it is read and discarded, so the next message
// starts exactly where the sender put it.
type FrameReader struct {
	r       io.Reader
	buf     []byte
	start   int // first unread byte
	end     int // end of buffered data
	max     int
	err     error
	discard int  // bytes of an oversized octet-counted frame still to skip
	skipLF  bool // an oversized LF frame: skip to the next LF
}

// NewFrameReader reads frames of at most maxSize bytes from r.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	size := 64 << 10
	if maxSize+16 > size {
		size = maxSize + 16
	}
	return &FrameReader{r: r, buf: make([]byte, size), max: maxSize}
}

// Reset points the reader at a new stream, keeping its buffer.
func (f *FrameReader) Reset(r io.Reader) {
	f.r, f.start, f.end, f.err, f.discard, f.skipLF = r, 0, 0, nil, 0, false
}

// Buffered reports whether unread bytes are already in memory, i.e. whether
// Next may return without waiting for the network.
func (f *FrameReader) Buffered() bool { return f.end > f.start }

// Next returns the next message, valid until the following call. truncated
// is set when the message was cut at the size limit, or when the stream
// ended inside an octet-counted frame. At the end of the stream it returns
// io.EOF (or the read error) once every buffered byte has been returned.
func (f *FrameReader) Next() (msg []byte, truncated bool, err error) {
	for {
		if f.discard > 0 {
			if err := f.skip(); err != nil {
				return nil, false, err
			}
			continue
		}
		if f.skipLF {
			if err := f.skipLine(); err != nil {
				return nil, false, err
			}
			continue
		}
		// Separators some senders put between octet-counted frames.
		for f.start < f.end && (f.buf[f.start] == '\n' || f.buf[f.start] == '\r' || f.buf[f.start] == 0) {
			f.start++
		}
		if f.start == f.end {
			if err := f.fill(); err != nil {
				return nil, false, err
			}
			continue
		}
		if c := f.buf[f.start]; c >= '1' && c <= '9' {
			n, hdr, ok, need := f.octetHeader()
			if need {
				if err := f.fill(); err != nil {
					if f.end > f.start {
						return f.lastLine()
					}
					return nil, false, err
				}
				continue
			}
			if ok {
				return f.octetFrame(n, hdr)
			}
		}
		return f.lfFrame()
	}
}

// octetHeader parses "LEN SP" at start. need is set when more bytes are
// required to decide.
func (f *FrameReader) octetHeader() (n, hdr int, ok, need bool) {
	i := f.start
	for ; i < f.end && i-f.start < 10; i++ {
		c := f.buf[i]
		if c == ' ' {
			return n, i + 1 - f.start, i > f.start, false
		}
		if c < '0' || c > '9' {
			return 0, 0, false, false
		}
		n = n*10 + int(c-'0')
	}
	if i == f.end && i-f.start < 10 && f.err == nil {
		return 0, 0, false, true
	}
	return 0, 0, false, false
}

func (f *FrameReader) octetFrame(n, hdr int) ([]byte, bool, error) {
	f.start += hdr
	want := n
	truncated := false
	if want > f.max {
		want, truncated = f.max, true
		f.discard = n - f.max
	}
	for f.end-f.start < want {
		if err := f.fill(); err != nil {
			// The sender stopped inside the frame: keep what arrived.
			msg := f.buf[f.start:f.end]
			f.start, f.discard = f.end, 0
			if len(msg) == 0 {
				return nil, false, err
			}
			return trimTrailer(msg), true, nil
		}
	}
	msg := f.buf[f.start : f.start+want]
	f.start += want
	return trimTrailer(msg), truncated, nil
}

func (f *FrameReader) lfFrame() ([]byte, bool, error) {
	for {
		if i := bytes.IndexByte(f.buf[f.start:f.end], '\n'); i >= 0 && i <= f.max {
			msg := f.buf[f.start : f.start+i]
			f.start += i + 1
			return trimTrailer(msg), false, nil
		}
		if f.end-f.start > f.max {
			msg := f.buf[f.start : f.start+f.max]
			f.start += f.max
			f.skipLF = true
			return trimTrailer(msg), true, nil
		}
		if err := f.fill(); err != nil {
			if f.end > f.start {
				return f.lastLine()
			}
			return nil, false, err
		}
	}
}

// lastLine returns bytes left when the stream ends without a final LF: a
// complete message from senders that do not terminate the last line.
func (f *FrameReader) lastLine() ([]byte, bool, error) {
	msg := f.buf[f.start:f.end]
	f.start = f.end
	// After a clean EOF the line is whole; after a timeout or a reset the
	// sender may have been cut off mid-line.
	return trimTrailer(msg), !errors.Is(f.err, io.EOF), nil
}

func (f *FrameReader) skip() error {
	if f.start == f.end {
		if err := f.fill(); err != nil {
			f.discard = 0
			return err
		}
	}
	n := min(f.discard, f.end-f.start)
	f.start += n
	f.discard -= n
	return nil
}

func (f *FrameReader) skipLine() error {
	if i := bytes.IndexByte(f.buf[f.start:f.end], '\n'); i >= 0 {
		f.start += i + 1
		f.skipLF = false
		return nil
	}
	f.start = f.end
	if err := f.fill(); err != nil {
		f.skipLF = false
		return err
	}
	return nil
}

// fill reads more data, compacting the buffer first. It returns the stream's
// error only when no new byte arrived.
func (f *FrameReader) fill() error {
	if f.err != nil {
		return f.err
	}
	if f.start > 0 {
		copy(f.buf, f.buf[f.start:f.end])
		f.end -= f.start
		f.start = 0
	}
	if f.end == len(f.buf) {
		return nil // full: the caller has a frame's worth to look at
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.err = err
		if n == 0 {
			return err
		}
	}
	return nil
}

func trimTrailer(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}
