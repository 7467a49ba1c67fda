// Command vca-bench-schema measures what the dcf_events schema costs the
// ClickHouse server: for each variant of the DDL (codecs, the SNI bloom
// filter, the rollup views, the insert size) it writes the same events of
// the load generator's mix through the collector's own sink, waits until
// the server's background merges are done, and reports the server's CPU
// per event (from /proc, merges included) and the bytes on disk per event.
// bench/schema.sh (make bench-schema) starts a throwaway server and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/bench/loadgen"
	"github.com/openclaw-vca/openclaw-vca/bench/procstat"
	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	chsink "github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
)

var (
	bloomRE   = regexp.MustCompile(`,\n  INDEX sni_bloom sni TYPE bloom_filter\(0\.01\) GRANULARITY 4`)
	rawZstdRE = regexp.MustCompile(`CODEC\(ZSTD\(3\)\)`)
	timeRE    = regexp.MustCompile(`CODEC\(Delta, ZSTD\(1\)\)`)
	viewRE    = regexp.MustCompile(`(?s)^CREATE MATERIALIZED VIEW|^INSERT INTO`)
	eventsRE  = regexp.MustCompile("(?s)^CREATE TABLE IF NOT EXISTS `[^`]+`.`dcf_events`")
)

// variant is one way to render the schema.
type variant struct {
	name, what string
	batch      int
	ddl        func(string) string
	settings   map[string]string // insert settings besides the sink's own
}

func same(s string) string { return s }

// onEvents applies f to the statement that creates dcf_events.
func onEvents(f func(string) string) func(string) string {
	return func(s string) string {
		if eventsRE.MatchString(s) {
			return f(s)
		}
		return s
	}
}

var variants = []variant{
	{"full", "the schema as shipped (ZSTD(3) on raw, Delta+ZSTD(1) on times, SNI bloom filter, two rollup views)", 20000, same, nil},
	{"no-bloom", "without the SNI bloom filter", 20000, func(s string) string { return bloomRE.ReplaceAllString(s, "") }, nil},
	{"raw-lz4", "raw with the default LZ4 instead of ZSTD(3)", 20000, func(s string) string { return rawZstdRE.ReplaceAllString(s, "") }, nil},
	{"times-lz4", "times with the default LZ4 instead of Delta+ZSTD(1)", 20000, func(s string) string { return timeRE.ReplaceAllString(s, "") }, nil},
	{"no-rollups", "without the rollup views", 20000, func(s string) string {
		if viewRE.MatchString(s) {
			return ""
		}
		return s
	}, nil},
	{"mergetree", "dcf_events as a plain MergeTree (no replacing merges)", 20000, onEvents(func(s string) string {
		return strings.Replace(s, "ENGINE = ReplacingMergeTree()", "ENGINE = MergeTree()", 1)
	}), nil},
	{"order-time", "dcf_events ordered by (event_time, event_id) only", 20000, onEvents(func(s string) string {
		return strings.Replace(s, "ORDER BY (action, rule_uuid, gateway, event_time, event_id)", "ORDER BY (event_time, event_id)", 1)
	}), nil},
	{"full-50k", "the schema as shipped, 50 000-row inserts", 50000, same, nil},
	{"full-100k", "the schema as shipped, 100 000-row inserts", 100000, same, nil},
	{"optimize-on-insert", "the schema as shipped, inserts with optimize_on_insert = 1 (the server's default)", 20000, same, map[string]string{"optimize_on_insert": "1"}},
}

func main() {
	addr := flag.String("clickhouse", "127.0.0.1:19400", "the ClickHouse server (native protocol)")
	pid := flag.Int("pid", 0, "the server's process id, for its CPU time")
	rows := flag.Int("rows", 1000000, "events per variant")
	only := flag.String("only", "", "run only the variants named here (comma-separated)")
	repeat := flag.Int("repeat", 3, "rounds over the variants (interleaved); the median is reported")
	out := flag.String("out", "bench/results", "where the results go")
	flag.Parse()
	if *pid == 0 {
		fail(fmt.Errorf("-pid is required"))
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{*addr}})
	if err != nil {
		fail(err)
	}
	events := makeEvents(*rows)
	var report strings.Builder
	fmt.Fprintf(&report, "Schema cost, %s: %d events of the load generator's mix per variant, written through the collector's sink (one inserter); server CPU from /proc, merges included.\n\n", time.Now().UTC().Format("2006-01-02T15:04Z"), *rows)
	fmt.Fprintf(&report, "Median of %d interleaved rounds (range in brackets).\n\n", *repeat)
	report.WriteString("| variant | what | insert rows | server CPU µs per event | of which the inserts | of which merges | bytes on disk per event | wall s |\n|---|---|---|---|---|---|---|---|\n")
	var chosen []variant
	for _, v := range variants {
		if *only == "" || slices.Contains(strings.Split(*only, ","), v.name) {
			chosen = append(chosen, v)
		}
	}
	// Rounds interleave the variants, so that the VM's drift spreads over
	// all of them; each figure is the median of its rounds.
	results := make([][]result, len(chosen))
	for round := range *repeat {
		for i, v := range chosen {
			r, err := run(conn, *addr, *pid, v, events)
			if err != nil {
				fail(fmt.Errorf("%s: %w", v.name, err))
			}
			fmt.Fprintf(os.Stderr, "round %d %s: %.2f µs (inserts %.2f), %.1f B\n", round+1, v.name, r.cpuPerEvent*1e6, r.insertPerEvent*1e6, r.bytesPerEvent)
			results[i] = append(results[i], r)
		}
	}
	for i, v := range chosen {
		rs := results[i]
		med := func(f func(result) float64) float64 {
			xs := make([]float64, len(rs))
			for k, r := range rs {
				xs[k] = f(r)
			}
			slices.Sort(xs)
			return xs[len(xs)/2]
		}
		total, ins := med(func(r result) float64 { return r.cpuPerEvent }), med(func(r result) float64 { return r.insertPerEvent })
		line := fmt.Sprintf("| %s | %s | %d | %.1f (%.1f–%.1f) | %.1f | %.1f | %.1f | %.0f |\n", v.name, v.what, v.batch, total*1e6,
			slices.MinFunc(rs, func(a, b result) int { return cmpF(a.cpuPerEvent, b.cpuPerEvent) }).cpuPerEvent*1e6,
			slices.MaxFunc(rs, func(a, b result) int { return cmpF(a.cpuPerEvent, b.cpuPerEvent) }).cpuPerEvent*1e6,
			ins*1e6, (total-ins)*1e6, med(func(r result) float64 { return r.bytesPerEvent }), med(func(r result) float64 { return r.wall }))
		report.WriteString(line)
	}
	fmt.Print(report.String())
	path := filepath.Join(*out, "schema-"+time.Now().UTC().Format("2006-01-02T150405Z")+".md")
	if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
		fail(err)
	}
	fmt.Fprintln(os.Stderr, "results:", path)
}

type result struct {
	cpuPerEvent, insertPerEvent, bytesPerEvent, wall float64
	parts                                            uint64
}

func run(conn driver.Conn, addr string, pid int, v variant, events []parse.Event) (result, error) {
	ctx := context.Background()
	db := "schema_" + strings.ReplaceAll(v.name, "-", "_")
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" SYNC"); err != nil {
		return result{}, err
	}
	for _, s := range chsink.Statements(chsink.Options{Database: db}) {
		if s = v.ddl(s); s == "" {
			continue
		}
		if err := conn.Exec(ctx, s); err != nil {
			return result{}, fmt.Errorf("%w\n%s", err, s)
		}
	}
	no := false
	cfg := chsink.Config{Addresses: []string{addr}, Database: db, ChainID: "schema", BatchSize: v.batch, Inserters: 1,
		FlushInterval: config.Duration(time.Minute), CreateSchema: &no, DeadLetterDir: os.TempDir(), InsertSettings: v.settings}
	cfg.SetDefaults()
	s, err := chsink.New(ctx, cfg, nil, zerolog.Nop())
	if err != nil {
		return result{}, err
	}
	// Merges stopped while inserting, so that the inserts' own cost can be
	// told from the merges'.
	if err := conn.Exec(ctx, "SYSTEM STOP MERGES "+db+".dcf_events"); err != nil {
		return result{}, err
	}
	cpu0, t0 := procstat.CPUOf(pid), time.Now()
	for i := 0; i < len(events); i += 1000 {
		if err := s.Write(ctx, events[i:min(i+1000, len(events))], nil); err != nil {
			return result{}, err
		}
	}
	if err := s.Close(); err != nil {
		return result{}, err
	}
	inserted := procstat.CPUOf(pid)
	if err := conn.Exec(ctx, "SYSTEM START MERGES "+db+".dcf_events"); err != nil {
		return result{}, err
	}
	// Background merges are part of what an insert costs: wait until the
	// server has none left for this database.
	quiet := 0
	for deadline := time.Now().Add(10 * time.Minute); quiet < 5 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&n); err != nil {
			return result{}, err
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	r := result{cpuPerEvent: (procstat.CPUOf(pid) - cpu0) / float64(len(events)), insertPerEvent: (inserted - cpu0) / float64(len(events)),
		wall: time.Since(t0).Seconds()}
	var bytes uint64
	if err := conn.QueryRow(ctx, "SELECT sum(bytes_on_disk), count() FROM system.parts WHERE database = ? AND active AND table = 'dcf_events'", db).Scan(&bytes, &r.parts); err != nil {
		return result{}, err
	}
	r.bytesPerEvent = float64(bytes) / float64(len(events))
	return r, conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" SYNC")
}

// makeEvents parses n lines of the load generator's mix (the simulated
// fleet: L4 session records, L7 SNI verdicts, legacy FQDN lines, a few
// malformed) and enriches them with the simulated fleet's catalog, as the
// collector would.
func makeEvents(n int) []parse.Event {
	pool, err := loadgen.NewPool(min(n, 200000), loadgen.DefaultMix, 1)
	if err != nil {
		fail(err)
	}
	ix, err := enrich.Load(gatewaysim.CatalogJSON())
	if err != nil {
		fail(err)
	}
	p := parse.NewParser(parse.Options{})
	var out enrich.Outcome
	events := make([]parse.Event, n)
	now := time.Now().UTC()
	for i := range events {
		e := &events[i]
		e.EventID = parse.UUID{0: 0x5c}
		e.EventID = parse.NewEventID(e.EventID.Origin(), uint64(i))
		e.ReceivedAt, e.Listener, e.Transport = now.Add(time.Duration(i)*10*time.Microsecond), "tcp", "tcp"
		e.Peer = netip.MustParseAddrPort("10.20.0.5:41000")
		p.Parse(pool.Line(nil, i, uint64(i+1)), e)
		ix.Enrich(e, &out)
		*e = *e.Clone()
	}
	return events
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vca-bench-schema:", err)
	os.Exit(1)
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
