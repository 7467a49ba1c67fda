package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

var tcpSrc = &listen.Source{Listener: "tcp-main", Transport: "tcp"}
var udpSrc = &listen.Source{Listener: "udp-main", Transport: "udp"}

// originOf is the origin of a batch from src, with the overflow the pipeline
// gives it: UDP is refused when the spool is full, TCP waits.
func originOf(src *listen.Source) Origin {
	o := Origin{Listener: src.Listener, Transport: src.Transport}
	if src.Transport == "udp" {
		o.WhenFull = Refuse
	}
	return o
}

func testConfig(dir string) Config {
	c := Config{Dir: dir, SegmentSize: 64 << 10, MaxSize: 1 << 30, FsyncInterval: config.Duration(5 * time.Millisecond)}
	c.SetDefaults()
	return c
}

type testSpool struct {
	*Spool
	reg *prometheus.Registry
}

func open(t *testing.T, cfg Config) testSpool {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := Open(cfg, reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return testSpool{s, reg}
}

func msg(i int) []byte {
	return fmt.Appendf(nil, "<134>Nov 24 10:00:00 gw AviatrixGwMicrosegPacket: seq=%06d %s", i, bytes.Repeat([]byte("x"), i%97))
}

var peer = netip.MustParseAddrPort("10.1.2.3:51514")

// appendN appends messages from..to-1 in batches of 100.
func appendN(t *testing.T, s *Spool, src *listen.Source, from, to int) {
	t.Helper()
	for i := from; i < to; {
		b := listen.NewBatch(src)
		for ; i < to && b.Len() < 100; i++ {
			b.Add(msg(i), time.Unix(1700000000, int64(i)), peer, i%50 == 7)
		}
		if err := s.Append(originOf(b.Source), b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
}

// readAll reads n records, checks each against msg(seq-base), commits as it goes when commit is set.
func readN(t *testing.T, s *Spool, n int, commit bool) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seqs []uint64
	var b Batch
	for len(seqs) < n {
		if err := s.Next(ctx, &b); err != nil {
			t.Fatalf("after %d records: %v", len(seqs), err)
		}
		for _, r := range b.Records {
			seqs = append(seqs, r.Seq)
		}
		if commit {
			s.Commit(b.End)
		}
	}
	return seqs
}

func TestAppendReadRoundTrip(t *testing.T) {
	s := open(t, testConfig(t.TempDir()))
	appendN(t, s.Spool, tcpSrc, 0, 1000)
	b := listen.NewBatch(udpSrc)
	v6 := netip.MustParseAddrPort("[2001:db8::1]:514")
	b.Add([]byte("udp line"), time.Unix(1, 5), v6, false)
	b.Add([]byte(""), time.Unix(2, 0), netip.AddrPort{}, false)
	s.Append(originOf(b.Source), b)

	ctx := context.Background()
	var got []Record
	var bt Batch
	for len(got) < 1002 {
		if err := s.Next(ctx, &bt); err != nil {
			t.Fatal(err)
		}
		for _, r := range bt.Records {
			r.Data = bytes.Clone(r.Data)
			got = append(got, r)
		}
	}
	for i := range 1000 {
		r := got[i]
		if r.Seq != uint64(i) || !bytes.Equal(r.Data, msg(i)) || r.Peer != peer || r.Listener != "tcp-main" ||
			r.Transport != "tcp" || r.Truncated != (i%50 == 7) || !r.ReceivedAt.Equal(time.Unix(1700000000, int64(i))) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if r := got[1000]; r.Peer != v6 || r.Transport != "udp" || string(r.Data) != "udp line" || r.Seq != 1000 {
		t.Fatalf("v6 record: %+v", r)
	}
	if r := got[1001]; r.Peer.IsValid() || len(r.Data) != 0 {
		t.Fatalf("empty record: %+v", r)
	}
	if st := s.Stats(); st.Segments < 2 || st.Next != 1002 || st.LagRecords != 1002 {
		t.Fatalf("stats %+v: want several segments and nothing committed", st)
	}
}

func TestReplayFromCursorKeepsSequence(t *testing.T) {
	dir := t.TempDir()
	s := open(t, testConfig(dir))
	appendN(t, s.Spool, tcpSrc, 0, 3000)
	seqs := readN(t, s.Spool, 3000, false)
	// Commit the first 1234 only, as if the sinks had taken no more.
	s.Commit(Position{Seq: 1234})
	_ = seqs
	s.Close()

	// The cursor named a segment and offset that do not match: Open finds
	// the record by scanning.
	s2 := open(t, testConfig(dir))
	got := readN(t, s2.Spool, 3000-1234, true)
	for i, q := range got {
		if q != uint64(1234+i) {
			t.Fatalf("replayed seq %d at %d, want %d", q, i, 1234+i)
		}
	}
	appendN(t, s2.Spool, tcpSrc, 3000, 3010)
	more := readN(t, s2.Spool, 10, true)
	if more[0] != 3000 {
		t.Fatalf("new records continue at %d, want 3000", more[0])
	}
	s2.Close()
	info, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Unread != 0 || info.NextSeq != 3010 || len(info.Segments) != 1 {
		t.Fatalf("after committing everything: %+v", info)
	}
}

func TestCommittedSegmentsAreDeleted(t *testing.T) {
	s := open(t, testConfig(t.TempDir()))
	appendN(t, s.Spool, tcpSrc, 0, 5000)
	before := s.Stats()
	readN(t, s.Spool, 5000, true)
	testwait.For(t, "committed segments to be deleted", testwait.Idle, func() bool { return s.Stats().Segments <= 1 },
		func() string { return fmt.Sprintf("%+v", s.Stats()) })
	after := s.Stats()
	if before.Segments < 5 || after.Segments != 1 || after.LagRecords != 0 {
		t.Fatalf("before %+v after %+v", before, after)
	}
}

func TestTornAndCorruptTailRecovered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
		keep   int
	}{
		{"truncated record", func(t *testing.T, path string, size int64) { os.Truncate(path, size-10) }, 99},
		{"flipped bytes", func(t *testing.T, path string, size int64) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			f.WriteAt([]byte{0xff, 0x00, 0xff}, size-20)
			f.Close()
		}, 99},
		{"garbage after the last record", func(t *testing.T, path string, size int64) {
			f, _ := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
			f.Write([]byte{9, 9, 9})
			f.Close()
		}, 100},
		{"header only torn", func(t *testing.T, path string, size int64) { os.Truncate(path, 10) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, testConfig(dir))
			appendN(t, s.Spool, tcpSrc, 0, 100)
			s.Close()
			segs, _ := listSegments(dir)
			last := segs[len(segs)-1]
			tc.damage(t, last.path, last.size)

			s2 := open(t, testConfig(dir))
			lost := testutil.ToFloat64(s2.m.dropped.WithLabelValues("torn_tail"))
			if lost != 1 {
				t.Fatalf("torn_tail counted %v, want 1", lost)
			}
			if tc.keep > 0 {
				got := readN(t, s2.Spool, tc.keep, true)
				if got[len(got)-1] != uint64(tc.keep-1) {
					t.Fatalf("last kept seq %d", got[len(got)-1])
				}
			}
			appendN(t, s2.Spool, tcpSrc, 1000, 1001)
			next := readN(t, s2.Spool, 1, true)
			if next[0] != uint64(tc.keep) {
				t.Fatalf("after recovery the next record is %d, want %d", next[0], tc.keep)
			}
		})
	}
}

func TestDamagedOlderSegmentIsSkippedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(f *os.File, off int64) error
	}{
		{"flipped bytes in a record", func(f *os.File, off int64) error {
			_, err := f.WriteAt([]byte("XXXX"), off+recordHeader+40)
			return err
		}},
		// Only the newest segment's tail is checked at start-up: a shorter
		// older segment ends inside a record the reader must step over.
		{"segment cut inside a record", func(f *os.File, off int64) error { return f.Truncate(off + 20) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, testConfig(dir))
			appendN(t, s.Spool, tcpSrc, 0, 2000)
			s.Close()
			segs, _ := listSegments(dir)
			end := segs[1].first
			f, err := os.OpenFile(segs[0].path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			off, err := offsetOf(segs[0], s.id, 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(f, off); err != nil {
				t.Fatal(err)
			}
			f.Close()

			s2 := open(t, testConfig(dir))
			got := readN(t, s2.Spool, 2000-int(end-10), true)
			if got[9] != 9 || got[10] != end {
				t.Fatalf("records around the damage: %v", got[:12])
			}
			if lost := testutil.ToFloat64(s2.m.dropped.WithLabelValues("corrupt")); lost != float64(end-10) {
				t.Fatalf("corrupt counted %v, want %d", lost, end-10)
			}
		})
	}
}

func TestBlockPolicyWaitsAndUDPDrops(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxSize = 3 * cfg.SegmentSize
	s := open(t, cfg)
	// Fill to the cap.
	i := 0
	for s.Stats().Bytes < int64(cfg.MaxSize)-int64(cfg.SegmentSize)/2 {
		appendN(t, s.Spool, tcpSrc, i, i+100)
		i += 100
	}
	b := listen.NewBatch(udpSrc)
	b.Add(bytes.Repeat([]byte("u"), 40<<10), time.Now(), peer, false)
	if err := s.Append(originOf(b.Source), b); !errors.Is(err, ErrFull) {
		t.Fatalf("UDP into a full spool: %v, want ErrFull", err)
	}
	if n := testutil.ToFloat64(s.m.dropped.WithLabelValues("full_udp")); n != 1 {
		t.Fatalf("full_udp %v", n)
	}
	done := make(chan error, 1)
	go func() {
		b := listen.NewBatch(tcpSrc)
		b.Add(bytes.Repeat([]byte("t"), 40<<10), time.Now(), peer, false)
		done <- s.Append(originOf(b.Source), b)
	}()
	select {
	case err := <-done:
		t.Fatalf("TCP append into a full spool returned at once: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	readN(t, s.Spool, i, true) // the consumer commits: segments go, space frees
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testwait.Idle):
		t.Fatalf("blocked append did not resume within %v of space being freed (%+v)", testwait.Idle, s.Stats())
	}
	if got := readN(t, s.Spool, 1, true); got[0] != uint64(i) {
		t.Fatalf("blocked record got seq %d, want %d", got[0], i)
	}
	if testutil.ToFloat64(s.m.blocked) <= 0 {
		t.Fatal("blocked time not counted")
	}
}

func TestDropOldestCountsTheExactRange(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxSize = 3 * cfg.SegmentSize
	cfg.FullPolicy = DropOldest
	s := open(t, cfg)
	// Read (without committing) the first 50, so the reader sits inside
	// the first segment when it is dropped.
	appendN(t, s.Spool, tcpSrc, 0, 50)
	readN(t, s.Spool, 50, false)
	n := 50
	for testutil.ToFloat64(s.m.dropped.WithLabelValues("drop_oldest")) == 0 {
		appendN(t, s.Spool, tcpSrc, n, n+10)
		n += 10
	}
	info, _ := Inspect(cfg.Dir)
	firstLeft := info.Segments[0].FirstSeq
	dropped := testutil.ToFloat64(s.m.dropped.WithLabelValues("drop_oldest"))
	if want := float64(firstLeft - 50); dropped != want {
		t.Fatalf("dropped %v, want %v (records 50..%d)", dropped, want, firstLeft-1)
	}
	got := readN(t, s.Spool, n-int(firstLeft), true)
	if got[0] != firstLeft || got[len(got)-1] != uint64(n-1) {
		t.Fatalf("reader continued at %d..%d, want %d..%d", got[0], got[len(got)-1], firstLeft, n-1)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	open(t, testConfig(dir))
	_, err := Open(testConfig(dir), nil, zerolog.Nop())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("in use")) {
		t.Fatalf("second open: %v", err)
	}
}

func TestReaderGetsEOFAfterCloseWriter(t *testing.T) {
	s := open(t, testConfig(t.TempDir()))
	appendN(t, s.Spool, tcpSrc, 0, 10)
	s.CloseWriter()
	readN(t, s.Spool, 10, true)
	var b Batch
	if err := s.Next(context.Background(), &b); err != io.EOF {
		t.Fatalf("Next after draining a closed spool: %v", err)
	}
	if err := s.Append(originOf(tcpSrc), listen.NewBatch(tcpSrc)); err != nil {
		t.Fatalf("empty append: %v", err)
	}
	b2 := listen.NewBatch(tcpSrc)
	b2.Add([]byte("x"), time.Now(), peer, false)
	if err := s.Append(originOf(b2.Source), b2); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after CloseWriter: %v", err)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.FullPolicy = "spill" }, "full_policy"},
		{func(c *Config) { c.MaxSize = c.SegmentSize }, "max_size"},
		{func(c *Config) { c.SegmentSize = 1000 }, "segment_size"},
		{func(c *Config) { c.FsyncInterval = config.Duration(time.Minute) }, "fsync_interval"},
	} {
		c := Config{}
		c.SetDefaults()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, time.Unix(1, 2), peer, "l", "tcp", true, []byte("hello")))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		n, err := decodeRecord(b, &r, map[string]string{})
		if err != nil {
			return
		}
		if n > len(b) || n < recordHeader+payloadFixed {
			t.Fatalf("used %d of %d", n, len(b))
		}
		// A decoded record encodes back to the same bytes.
		again := appendRecord(nil, r.ReceivedAt, r.Peer, r.Listener, r.Transport, r.Truncated, r.Data)
		if !bytes.Equal(again, b[:n]) && r.Peer.IsValid() == (b[recordHeader+8]&flagPeerValid != 0) {
			// Flags bits outside the known ones and non-canonical
			// addresses are allowed to differ; the message must not.
			var r2 Record
			if _, err := decodeRecord(again, &r2, map[string]string{}); err != nil || !bytes.Equal(r2.Data, r.Data) {
				t.Fatalf("re-encoding changed the record")
			}
		}
	})
}

func init() { _ = filepath.Join }
