package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
)

// memSink keeps the sequence numbers it was given. It can fail its first
// writes, hold back its durable callbacks,
// or claim to hold a prefix of the spool already.
type memSink struct {
	name      string
	failFirst int
	hold      bool
	holds     uint64 // Resume answer: last held sequence + 1 (0: none)

	mu      sync.Mutex
	seqs    []uint64
	ids     [][16]byte
	pending []func()
	calls   int
}

func (m *memSink) Name() string { return m.name }
func (m *memSink) Close() error { return nil }

func (m *memSink) Write(_ context.Context, evs []parse.Event, durable func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.calls <= m.failFirst {
		return errors.New("temporarily unavailable")
	}
	for i := range evs {
		m.seqs = append(m.seqs, evs[i].EventID.Seq())
		m.ids = append(m.ids, evs[i].EventID)
	}
	if m.hold {
		m.pending = append(m.pending, durable)
	} else {
		durable()
	}
	return nil
}

func (m *memSink) release() {
	m.mu.Lock()
	p := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, f := range p {
		f()
	}
}

func (m *memSink) got() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]uint64(nil), m.seqs...)
}

type resumingSink struct{ *memSink }

func (r resumingSink) Resume(context.Context, [8]byte) (uint64, bool, error) {
	return r.holds - 1, r.holds > 0, nil
}

type rig struct {
	sp  *spool.Spool
	pl  *Pipeline
	reg *prometheus.Registry
}

func newRig(t *testing.T, sinks ...sink.Sink) *rig {
	t.Helper()
	dir := t.TempDir()
	scfg := spool.Config{Dir: filepath.Join(dir, "spool"), SegmentSize: 64 << 10, FsyncInterval: config.Duration(5 * time.Millisecond)}
	scfg.SetDefaults()
	reg := prometheus.NewRegistry()
	sp, err := spool.Open(scfg, reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	cfg := Config{Workers: 3, QueueBatches: 2}
	cfg.SetDefaults()
	pl := New(cfg, parse.NewParser(parse.Options{}), nil, sp, sinks, reg, zerolog.Nop())
	pl.Start()
	return &rig{sp: sp, pl: pl, reg: reg}
}

var peer = netip.MustParseAddrPort("10.20.0.5:41000")

// send hands n messages to the pipeline as a TCP listener would, in
// batches of 97 so that spool reads and listener batches do not line up.
func (r *rig) send(n int) {
	src := &listen.Source{Listener: "tcp", Transport: "tcp"}
	for i := 0; i < n; {
		b := listen.NewBatch(src)
		for ; i < n && b.Len() < 97; i++ {
			b.Add(fmt.Appendf(nil, "<134>Nov 24 10:00:00 gw-1 AviatrixGwMicrosegPacket: POLICY=defa11a1-0000-0000-0000-000000000000 SRC_MAC=02:00:00:00:00:01 DST_MAC=02:00:00:00:00:02 PROTO=TCP SRC_IP=10.20.0.5 DST_IP=203.0.113.%d SRC_PORT=%d DST_PORT=443 DATA=0x ACT=DROP ENFORCED=true", i%250, 1024+i%60000),
				time.Now(), peer, false)
		}
		r.pl.HandleBatch(b)
	}
}

// finish closes the spool writer and waits for the pipeline to drain.
func (r *rig) finish(t *testing.T) {
	t.Helper()
	r.sp.CloseWriter()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.pl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func wantSeqs(t *testing.T, name string, got []uint64, from, to uint64) {
	t.Helper()
	if len(got) != int(to-from) {
		t.Fatalf("%s got %d events, want %d", name, len(got), to-from)
	}
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("%s: event %d has sequence %d, want %d (out of order or repeated)", name, i, s, from+uint64(i))
		}
	}
}

func TestPipelineDelivery(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		name  string
		sinks func() []*memSink
		check func(t *testing.T, r *rig, s []*memSink)
	}{
		{"every sink gets every event in spool order", func() []*memSink {
			return []*memSink{{name: "a"}, {name: "b"}}
		}, func(t *testing.T, r *rig, s []*memSink) {
			id := r.sp.ID()
			for _, m := range s {
				wantSeqs(t, m.name, m.got(), 0, n)
				if [8]byte(m.ids[0][:8]) != id {
					t.Fatalf("event id %x does not start with the spool id %x", m.ids[0], id)
				}
			}
		}},
		{"sink errors are retried without loss or repeats", func() []*memSink {
			return []*memSink{{name: "flaky", failFirst: 2}}
		}, func(t *testing.T, r *rig, s []*memSink) {
			wantSeqs(t, "flaky", s[0].got(), 0, n)
			if e := testutil.ToFloat64(r.pl.m.errors[0]); e != 2 {
				t.Fatalf("retriable errors counted %v, want 2", e)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := tc.sinks()
			var sinks []sink.Sink
			for _, m := range ms {
				sinks = append(sinks, m)
			}
			r := newRig(t, sinks...)
			r.send(n)
			r.finish(t)
			tc.check(t, r, ms)
			if st := r.sp.Stats(); st.Committed != n || st.LagRecords != 0 {
				t.Fatalf("spool committed %d (lag %d), want %d", st.Committed, st.LagRecords, n)
			}
		})
	}
}

// The spool commits only what every sink holds; while one sink holds
// nothing back as durable, the pipeline reports a stall, and stops once it
// catches up.
func TestCommitWaitsForEverySinkToBeDurable(t *testing.T) {
	fast, slow := &memSink{name: "fast"}, &memSink{name: "slow", hold: true}
	r := newRig(t, fast, slow)
	r.send(3000)
	const after = 100 * time.Millisecond
	for deadline := time.Now().Add(time.Minute); len(slow.got()) < 3000 || r.pl.Stall(after) == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the slow sink has %d of 3000 events and the pipeline reports no stall (%v)", len(slow.got()), r.pl.Stall(after))
		}
	}
	t.Logf("stall reported: %v", r.pl.Stall(after))
	if st := r.sp.Stats(); st.Committed != 0 {
		t.Fatalf("spool committed %d before the slow sink stored anything", st.Committed)
	}
	slow.release()
	r.finish(t)
	if st := r.sp.Stats(); st.Committed != 3000 {
		t.Fatalf("spool committed %d after every sink stored everything, want 3000", st.Committed)
	}
	if err := r.pl.Stall(after); err != nil {
		t.Fatalf("stall still reported after every sink caught up: %v", err)
	}
}

func TestReplaySkipsWhatASinkAlreadyHolds(t *testing.T) {
	holder := resumingSink{&memSink{name: "holder", holds: 1200}}
	other := &memSink{name: "other"}
	r := newRig(t, holder, other)
	r.send(2000)
	r.finish(t)
	wantSeqs(t, "holder", holder.got(), 1200, 2000)
	wantSeqs(t, "other", other.got(), 0, 2000)
	if k := testutil.ToFloat64(r.pl.m.skipped.WithLabelValues("holder")); k != 1200 {
		t.Fatalf("skipped %v, want 1200", k)
	}
}
