// Command vca-bench-kafka measures the scale-out path on this machine: how
// fast one edge collector takes a TCP stream and has it acknowledged by a
// three-broker Kafka-protocol cluster (kfake, in this process), and how fast
// one and then two writer collectors move that topic into ClickHouse. It
// reports per phase the rate, the collectors' CPU seconds per million
// events and their peak RSS, and checks that every event landed once.
// bench/kafka.sh (make bench-kafka) starts ClickHouse and runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openclaw-vca/openclaw-vca/bench/loadgen"
	"github.com/openclaw-vca/openclaw-vca/bench/procstat"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/freeport"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
)

const topic = "vca-dcf-events"

// Phase is one measurement.
type Phase struct {
	Name          string  `json:"name"`
	Collectors    int     `json:"collectors"`
	Events        uint64  `json:"events"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"events_per_second"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"` // the largest of the phase's collectors
	Stored        uint64  `json:"stored,omitempty"`
	Distinct      uint64  `json:"distinct,omitempty"`
	Note          string  `json:"note,omitempty"`
}

type bench struct {
	dir, bin string
	brokers  []string
	chAddr   string
	ch       driver.Conn
	profile  string
	batch    int
}

func main() {
	out := flag.String("out", "bench/results", "where the results go")
	bin := flag.String("collector", "bin/vca-collector", "the collector binary")
	chAddr := flag.String("clickhouse", "127.0.0.1:19300", "the ClickHouse server (native protocol)")
	count := flag.Int("count", 1000000, "events to send")
	profile := flag.String("profile", "", "write 5-second CPU profiles of the single writer here and of the edge beside it (NAME-edge.pprof)")
	batch := flag.Int("writer-batch", 0, "the writers' sinks.clickhouse.batch_size (0: the default)")
	flag.Parse()
	work, err := os.MkdirTemp("", "vca-bench-kafka-")
	check(err)
	defer os.RemoveAll(work)
	k, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, topic), kfake.GroupMinSessionTimeout(time.Second))
	check(err)
	defer k.Close()
	b := &bench{dir: work, bin: *bin, brokers: k.ListenAddrs(), chAddr: *chAddr, profile: *profile, batch: *batch}
	b.ch, err = clickhouse.Open(&clickhouse.Options{Addr: []string{*chAddr}, DialTimeout: 5 * time.Second})
	check(err)
	check(os.WriteFile(filepath.Join(work, "catalog.json"), gatewaysim.CatalogJSON(), 0o644))
	pool, err := loadgen.NewPool(8192, loadgen.DefaultMix, 1)
	check(err)

	var phases []Phase
	single, err := b.single(pool, *count)
	check(err)
	phases = append(phases, single)
	report(single)
	edge, err := b.edge(pool, *count)
	check(err)
	phases = append(phases, edge)
	report(edge)
	for _, n := range []int{1, 2} {
		p, err := b.writers(n, uint64(*count))
		check(err)
		phases = append(phases, p)
		report(p)
	}
	check(write(*out, phases, *count))
}

func report(p Phase) {
	fmt.Fprintf(os.Stderr, "%-10s %d collector(s): %d events in %.1f s = %.0f/s, %.2f CPU-s per million, peak RSS %.0f MiB %s\n",
		p.Name, p.Collectors, p.Events, p.Seconds, p.PerSecond, p.CPUPerMillion, p.PeakRSSMiB, p.Note)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "vca-bench-kafka:", err)
		os.Exit(1)
	}
}

func freeAddr() string {
	p, err := freeport.Loopback(1)
	check(err)
	return fmt.Sprintf("127.0.0.1:%d", p[0])
}

func brokersYAML(b []string) string { return `["` + strings.Join(b, `", "`) + `"]` }

// collector writes a configuration and starts a collector on it.
func (b *bench) collector(name, yaml string) (*procstat.Proc, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	return procstat.Start(b.bin, []string{"run", "--config", path}, filepath.Join(dir, "collector.log"))
}

// edge sends count events over TCP to an edge collector as fast as it
// reads them and waits until the brokers acknowledged every one.
func (b *bench) edge(pool *loadgen.Pool, count int) (Phase, error) {
	ph := Phase{Name: "edge", Collectors: 1}
	addr, admin := freeAddr(), freeAddr()
	p, err := b.collector("edge", fmt.Sprintf(`mode: edge
listeners:
  tcp:
    - {name: tcp, address: %q}
catalog: {file: %q}
spool: {dir: %q}
kafka: {brokers: %s, topic: %s}
pipeline: {dead_letter_dir: %q}
admin: {address: %q}
log: {level: warn}
`, addr, filepath.Join(b.dir, "catalog.json"), filepath.Join(b.dir, "edge", "spool"), brokersYAML(b.brokers), topic,
		filepath.Join(b.dir, "edge", "dl"), admin))
	if err != nil {
		return ph, err
	}
	defer p.Stop()
	if err := waitReady(admin); err != nil {
		return ph, err
	}
	profiled := make(chan error, 1)
	if b.profile != "" {
		go func() { profiled <- fetchProfile(admin, strings.TrimSuffix(b.profile, ".pprof")+"-edge.pprof") }()
	} else {
		profiled <- nil
	}
	cpu0 := p.CPU()
	start := time.Now()
	sent, err := loadgen.Run(pool, loadgen.Options{Network: "tcp", Addr: addr, Count: count, First: 1})
	if err != nil {
		return ph, err
	}
	for procstat.Metric(admin, "vca_collector_kafka_produced_records_total") < sent.Sent {
		if time.Since(start) > 30*time.Minute {
			return ph, fmt.Errorf("edge: %d of %d produced after 30 minutes", procstat.Metric(admin, "vca_collector_kafka_produced_records_total"), sent.Sent)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ph.Seconds = time.Since(start).Seconds()
	ph.Events = sent.Sent
	ph.CPUSeconds = p.CPU() - cpu0
	ph.PeakRSSMiB = p.PeakMiB()
	ph.Note = fmt.Sprintf("(sending took %.1f s, %.0f/s accepted)", sent.Elapsed.Seconds(), sent.Rate)
	if err := <-profiled; err != nil {
		return ph, err
	}
	finish(&ph)
	return ph, nil
}

// single is the peer of the scale-out path, measured in the same run: one
// collector without Kafka taking the same stream over TCP into ClickHouse.
func (b *bench) single(pool *loadgen.Pool, count int) (Phase, error) {
	ph := Phase{Name: "single-host", Collectors: 1}
	db := "bench_kafka_single"
	if err := b.ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
		return ph, err
	}
	addr, admin := freeAddr(), freeAddr()
	p, err := b.collector("single", fmt.Sprintf(`listeners:
  tcp:
    - {name: tcp, address: %q}
catalog: {file: %q}
spool: {dir: %q}
sinks:
  clickhouse: {addresses: [%q], database: %s, dead_letter_dir: %q}
pipeline: {dead_letter_dir: %q}
admin: {address: %q}
log: {level: warn}
`, addr, filepath.Join(b.dir, "catalog.json"), filepath.Join(b.dir, "single", "spool"), b.chAddr, db,
		filepath.Join(b.dir, "single", "dl"), filepath.Join(b.dir, "single", "dl"), admin))
	if err != nil {
		return ph, err
	}
	defer p.Stop()
	if err := waitReady(admin); err != nil {
		return ph, err
	}
	cpu0 := p.CPU()
	start := time.Now()
	sent, err := loadgen.Run(pool, loadgen.Options{Network: "tcp", Addr: addr, Count: count, First: 1})
	if err != nil {
		return ph, err
	}
	for b.count(db) < sent.Sent {
		if time.Since(start) > 30*time.Minute {
			return ph, fmt.Errorf("single host: %d of %d stored after 30 minutes", b.count(db), sent.Sent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ph.Seconds = time.Since(start).Seconds()
	ph.Events = sent.Sent
	ph.CPUSeconds = p.CPU() - cpu0
	ph.PeakRSSMiB = p.PeakMiB()
	ph.Note = fmt.Sprintf("(sending took %.1f s)", sent.Elapsed.Seconds())
	finish(&ph)
	return ph, nil
}

// writers runs n writer collectors of a fresh group into a fresh database
// and waits until ClickHouse holds every record of the topic.
func (b *bench) writers(n int, want uint64) (Phase, error) {
	ph := Phase{Name: "writer", Collectors: n}
	if b.batch > 0 {
		ph.Name = fmt.Sprintf("writer (batch_size %d)", b.batch)
	}
	db := fmt.Sprintf("bench_kafka_w%d", n)
	if err := b.ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
		return ph, err
	}
	var procs []*procstat.Proc
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	start := time.Now()
	var admins []string
	for i := range n {
		admins = append(admins, freeAddr())
		p, err := b.collector(fmt.Sprintf("%s-%d", db, i), fmt.Sprintf(`mode: writer
kafka:
  brokers: %s
  topic: %s
  consumer: {group: %s, session_timeout: 6s}
sinks:
  clickhouse: {addresses: [%q], database: %s%s}
admin: {address: %q}
log: {level: warn}
`, brokersYAML(b.brokers), topic, db, b.chAddr, db, batchYAML(b.batch), admins[i]))
		if err != nil {
			return ph, err
		}
		procs = append(procs, p)
	}
	var first time.Time
	profiled := make(chan error, 1)
	if n == 1 && b.profile != "" {
		go func() { profiled <- fetchProfile(admins[0], b.profile) }()
	} else {
		profiled <- nil
	}
	for {
		got := b.count(db)
		if got > 0 && first.IsZero() {
			first = time.Now()
		}
		if got >= want {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return ph, fmt.Errorf("writers: %d of %d rows after 30 minutes", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ph.Seconds = time.Since(first).Seconds()
	ph.Events = want
	if err := <-profiled; err != nil {
		return ph, err
	}
	for _, p := range procs {
		ph.CPUSeconds += p.CPU()
		ph.PeakRSSMiB = max(ph.PeakRSSMiB, p.PeakMiB())
	}
	row := b.ch.QueryRow(context.Background(), fmt.Sprintf(
		"SELECT (SELECT count() FROM %[1]s.dcf_events) + (SELECT count() FROM %[1]s.raw_unparsed), (SELECT uniqExact(event_id) FROM %[1]s.dcf_events) + (SELECT uniqExact(event_id) FROM %[1]s.raw_unparsed)", db))
	if err := row.Scan(&ph.Stored, &ph.Distinct); err != nil {
		return ph, err
	}
	ph.Note = fmt.Sprintf("(from the first row landed; joining the group took %.1f s; CPU includes it)", first.Sub(start).Seconds())
	finish(&ph)
	return ph, nil
}

func batchYAML(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", batch_size: %d", n)
}

func finish(ph *Phase) {
	ph.PerSecond = float64(ph.Events) / ph.Seconds
	ph.CPUPerMillion = ph.CPUSeconds / float64(ph.Events) * 1e6
}

func (b *bench) count(db string) uint64 {
	var n uint64
	row := b.ch.QueryRow(context.Background(), fmt.Sprintf("SELECT (SELECT count() FROM %[1]s.dcf_events) + (SELECT count() FROM %[1]s.raw_unparsed)", db))
	if err := row.Scan(&n); err != nil {
		return 0
	}
	return n
}

func waitReady(admin string) error {
	for range 100 {
		if r, err := http.Get("http://" + admin + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector on %s not ready", admin)
}

func write(dir string, phases []Phase, count int) error {
	stamp := time.Now().UTC().Format("2006-01-02T150405Z")
	js, err := json.MarshalIndent(map[string]any{"time": stamp, "cpus": runtime.NumCPU(), "events": count, "phases": phases}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kafka-"+stamp+".json"), js, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Scale-out path, %s\n\n%d CPUs; kfake (3 brokers, 6 partitions) runs inside the runner, ClickHouse on the same machine.\n\n", stamp, runtime.NumCPU())
	md.WriteString("| phase | collectors | events | seconds | events/s | CPU-s per million | against the single host | peak RSS MiB | stored / distinct |\n|---|---|---|---|---|---|---|---|---|\n")
	var single float64
	for _, p := range phases {
		if p.Name == "single-host" {
			single = p.CPUPerMillion
		}
	}
	for _, p := range phases {
		sd := ""
		if p.Stored > 0 {
			sd = fmt.Sprintf("%d / %d", p.Stored, p.Distinct)
		}
		ratio := "-"
		if single > 0 {
			ratio = fmt.Sprintf("%.2f×", p.CPUPerMillion/single)
		}
		fmt.Fprintf(&md, "| %s | %d | %d | %.1f | %.0f | %.2f | %s | %.0f | %s |\n", p.Name, p.Collectors, p.Events, p.Seconds, p.PerSecond, p.CPUPerMillion, ratio, p.PeakRSSMiB, sd)
	}
	md.WriteString("\n")
	for _, p := range phases {
		if p.Note != "" {
			fmt.Fprintf(&md, "- %s ×%d: %s\n", p.Name, p.Collectors, p.Note)
		}
	}
	return os.WriteFile(filepath.Join(dir, "kafka-"+stamp+".md"), []byte(md.String()), 0o644)
}

func fetchProfile(admin, path string) error {
	if err := waitReady(admin); err != nil {
		return err
	}
	for _, p := range []struct{ url, path string }{
		{"/debug/pprof/profile?seconds=5", path},
		{"/debug/pprof/heap", strings.TrimSuffix(path, ".pprof") + "-heap.pprof"},
	} {
		r, err := http.Get("http://" + admin + p.url)
		if err != nil {
			return err
		}
		f, err := os.Create(p.path)
		if err == nil {
			_, err = io.Copy(f, r.Body)
			f.Close()
		}
		r.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
