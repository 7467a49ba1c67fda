package pipeline

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

type nullSink struct{}

func (nullSink) Name() string { return "null" }
func (nullSink) Close() error { return nil }
func (nullSink) Write(_ context.Context, _ []parse.Event, durable func()) error {
	durable()
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpusBatches fills listener batches with the corpus lines in turn.
func corpusBatches(n int) []*listen.Batch {
	lines := testcorpus.All()
	src := &listen.Source{Listener: "tcp", Transport: "tcp"}
	var out []*listen.Batch
	for i := 0; i < n; {
		b := listen.NewBatch(src)
		for ; i < n && b.Add(lines[i%len(lines)].Message, time.Now(), peer, false); i++ {
		}
		out = append(out, b)
	}
	return out
}

// BenchmarkPipeline measures messages through listener hand-off, parse and
// delivery to a sink that stores nothing, on all cores. "spool" is the
// collector's path (append, 50 ms group commit, read back, commit);
// "direct" parses the same batches without the spool, as the collector did
// before it had one. One op is one message; cpu-ns/event is process CPU
// time (every core) per message.
func BenchmarkPipeline(b *testing.B) {
	b.Run("spool", func(b *testing.B) {
		scfg := spool.Config{Dir: filepath.Join(b.TempDir(), "spool"), FsyncInterval: config.Duration(50 * time.Millisecond)}
		scfg.SetDefaults()
		sp, err := spool.Open(scfg, prometheus.NewRegistry(), zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		defer sp.Close()
		var cfg Config
		cfg.SetDefaults()
		pl := New(cfg, parse.NewParser(parse.Options{}), nil, sp, []sink.Sink{nullSink{}}, prometheus.NewRegistry(), zerolog.Nop())
		batches := corpusBatches(b.N)
		b.ResetTimer()
		cpu0, t0 := cpuTime(), time.Now()
		pl.Start()
		for _, bt := range batches {
			pl.HandleBatch(bt)
		}
		sp.CloseWriter()
		if err := pl.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		report(b, cpu0, t0)
	})
	b.Run("direct", func(b *testing.B) {
		p := parse.NewParser(parse.Options{})
		batches := corpusBatches(b.N)
		work := make(chan *listen.Batch, 8)
		var wg sync.WaitGroup
		b.ResetTimer()
		cpu0, t0 := cpuTime(), time.Now()
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var events []parse.Event
				for bt := range work {
					if cap(events) < bt.Len() {
						events = make([]parse.Event, bt.Len())
					}
					events = events[:bt.Len()]
					for i, m := range bt.Msgs {
						p.Parse(m.Data, &events[i])
					}
					nullSink{}.Write(context.Background(), events, func() {})
					bt.Release()
				}
			}()
		}
		for _, bt := range batches {
			work <- bt
		}
		close(work)
		wg.Wait()
		report(b, cpu0, t0)
	})
}

func report(b *testing.B, cpu0 time.Duration, t0 time.Time) {
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
}
