package spool

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSpoolThroughput appends listener-sized batches of corpus lines
// (the default 50 ms group commit, 64 MiB segments) while a reader reads
// them back and commits, as the pipeline does: one op is one message.
func BenchmarkSpoolThroughput(b *testing.B) {
	cfg := Config{Dir: b.TempDir(), FsyncInterval: config.Duration(50 * time.Millisecond)}
	cfg.SetDefaults()
	s, err := Open(cfg, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lines := testcorpus.All()
	src := &listen.Source{Listener: "tcp", Transport: "tcp"}
	batch := listen.NewBatch(src)
	for i := 0; batch.Add(lines[i%len(lines)].Message, time.Now(), peer, false); i++ {
	}
	var bytes int
	for _, m := range batch.Msgs {
		bytes += len(m.Data)
	}
	read := make(chan int)
	go func() {
		var sb Batch
		n := 0
		for {
			if err := s.Next(context.Background(), &sb); err != nil {
				read <- n
				return
			}
			n += len(sb.Records)
			s.Commit(sb.End)
		}
	}()
	b.SetBytes(int64(bytes / batch.Len()))
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for n := 0; n < b.N; n += batch.Len() {
		if err := s.Append(Origin{Listener: src.Listener, Transport: src.Transport}, batch); err != nil {
			b.Fatal(err)
		}
	}
	s.CloseWriter()
	got := <-read
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(got)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(got), "cpu-ns/event")
}
