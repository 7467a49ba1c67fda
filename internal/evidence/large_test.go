package evidence

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

// TestLargeExportMemory measures what a big export costs: it streams
// EVIDENCE_LARGE_ROWS simulated decisions (about a day of two gateways)
// into the test server through the sink, then runs the vca-collector
// binary's evidence export over them and reports its peak RSS and time.
// It only runs when EVIDENCE_LARGE_ROWS is set (bench/README.md).
func TestLargeExportMemory(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("EVIDENCE_LARGE_ROWS"))
	if rows <= 0 {
		t.Skip("EVIDENCE_LARGE_ROWS=N runs the large export measurement")
	}
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	ix, err := enrich.Load(gatewaysim.CatalogJSON())
	if err != nil {
		t.Fatal(err)
	}
	cfg := clickhouse.Config{Addresses: []string{addr}, Database: db, ChainID: "large", BatchSize: 50000}
	cfg.SetDefaults()
	cfg.DeadLetterDir = t.TempDir()
	ctx := context.Background()
	s, err := clickhouse.New(ctx, cfg, prometheus.NewRegistry(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Store().RecordCatalog(ix)
	start := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	perMinute := rows / (2 * 24 * 60)
	p := parse.NewParser(parse.Options{})
	var out enrich.Outcome
	batch := make([]parse.Event, 0, 20000)
	var n int
	began := time.Now()
	flush := func() {
		if err := s.Write(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	err = gatewaysim.Generate(gatewaysim.Options{Start: start, Duration: 24 * time.Hour, PerMinute: perMinute, Seed: 1}, func(l gatewaysim.Line) error {
		var ev parse.Event
		ev.ReceivedAt = l.Time.Add(time.Duration(200+n%700) * time.Millisecond)
		ev.Listener, ev.Transport, ev.Peer = "tcp", "tcp", netip.MustParseAddrPort("10.20.0.10:41000")
		copy(ev.EventID[:], fmt.Sprintf("big%013d", n))
		p.Parse(l.Text, &ev)
		ix.Enrich(&ev, &out)
		batch = append(batch, *ev.Clone())
		n++
		if len(batch) == cap(batch) {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d messages in %s", n, time.Since(began).Round(time.Second))

	bin := filepath.Join(t.TempDir(), "vca-collector")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/vca-collector").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	if _, err := GenerateKey(key); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "evidence", "export", "--clickhouse", addr, "--database", db,
		"--from", start.Format(time.RFC3339), "--to", start.Add(24*time.Hour).Format(time.RFC3339),
		"--key", key, "--out", filepath.Join(dir, "bundle"))
	cmd.Env = append(os.Environ(), os.Getenv("EVIDENCE_EXPORT_ENV"))
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	began = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child's own high-water mark: rusage's ru_maxrss would count the
	// test process's memory, shared with the child until exec.
	var hwm int
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for waiting := true; waiting; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("export: %v\n%s", err, outb.String())
			}
			waiting = false
		case <-time.After(100 * time.Millisecond):
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if kb, ok := strings.CutPrefix(l, "VmHWM:"); ok {
						v, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
						hwm = max(hwm, v)
					}
				}
			}
		}
	}
	t.Logf("export of %d decisions: %s wall, %.1f s CPU, peak RSS %d MiB (VmHWM, sampled every 100 ms)\n%s", n, time.Since(began).Round(time.Second),
		cmd.ProcessState.UserTime().Seconds()+cmd.ProcessState.SystemTime().Seconds(), hwm/1024, outb.String())
	entries, _ := os.ReadDir(filepath.Join(dir, "bundle"))
	for _, e := range entries {
		fi, _ := e.Info()
		t.Logf("  %-22s %6d MiB", e.Name(), fi.Size()>>20)
	}
}
