package clickhouse

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

// BenchmarkInsert100k writes 100 000-row batches (the corpus mix, each row
// with its own event_id) through the sink into the server at
// CLICKHOUSE_ADDR and reports rows per second and collector CPU per row
// (user + system time of this process, encoding and protocol included; the
// server's CPU is not counted). Run it with:
//
//	scripts/with-clickhouse.sh go test -run '^$' -bench Insert100k ./internal/sink/clickhouse
func BenchmarkInsert100k(b *testing.B) {
	if os.Getenv("CLICKHOUSE_ADDR") == "" {
		b.Skip("no CLICKHOUSE_ADDR")
	}
	addr := testch.Addr(b)
	conn := testch.Conn(b, addr)
	db := testch.Database(b, conn)
	cfg := testConfig(addr, db)
	cfg.BatchSize = 100000
	cfg.FlushInterval = 0
	cfg.SetDefaults()
	cfg.FlushInterval = cfg.FlushInterval * 60 // only full batches
	cfg.DeadLetterDir = b.TempDir()
	s, err := New(context.Background(), cfg, nil, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	corpus := corpusEvents(b, 0)
	chunk := make([]parse.Event, 0, 1000)
	for len(chunk) < 1000 {
		for _, e := range corpus {
			if e.Status != parse.StatusFailed && len(chunk) < 1000 {
				chunk = append(chunk, e)
			}
		}
	}
	var next uint64
	cpu0, t0 := cpuTime(), time.Now()
	b.ResetTimer()
	for range b.N {
		for range 100 {
			for i := range chunk {
				next++
				chunk[i].EventID = parse.NewEventID(chunk[i].EventID.Origin(), next)
			}
			if err := s.Write(context.Background(), chunk, func() {}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	rows := float64(b.N) * 100000
	b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
	if n := testch.Count(b, conn, "SELECT count() FROM "+db+".dcf_events"); n != uint64(rows) {
		b.Fatalf("%d rows stored, want %v", n, rows)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
