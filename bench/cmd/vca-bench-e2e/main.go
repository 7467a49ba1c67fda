// Command vca-bench-e2e measures the collector end to end on this machine
// and rsyslog beside it, in the same run: the load generator sends the
// same stream to each, and the runner counts what landed (by sequence
// number, so loss and duplicates are exact), the daemon's CPU seconds and
// peak RSS, and for ClickHouse scenarios the ingest-to-queryable latency.
// Results go to bench/results as JSON and a markdown table. bench/e2e.sh
// (make bench-e2e) installs what it needs and runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/openclaw-vca/openclaw-vca/bench/loadgen"
	"github.com/openclaw-vca/openclaw-vca/bench/procstat"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/freeport"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
)

// Scenario is one measurement.
type Scenario struct {
	Name      string  `json:"name"`
	Daemon    string  `json:"daemon"` // vca-collector or rsyslog
	Path      string  `json:"path"`   // what the stream goes through
	Network   string  `json:"network"`
	Rate      int     `json:"offered_rate"` // 0 = as fast as possible
	Seconds   float64 `json:"seconds,omitempty"`
	Count     int     `json:"count,omitempty"`
	Sink      string  `json:"-"` // clickhouse or file
	Profile   bool    `json:"-"`
	Collector string  `json:"-"` // extra collector YAML
	Senders   int     `json:"senders,omitempty"`
	// Outage stops ClickHouse this long into the stream, for OutageFor.
	Outage    time.Duration `json:"-"`
	OutageFor time.Duration `json:"outage_seconds,omitempty"`
}

// Result is what a scenario measured.
type Result struct {
	Scenario
	Sent          uint64  `json:"sent"`
	SendSeconds   float64 `json:"send_seconds"`
	OfferedPerSec float64 `json:"offered_per_second"`
	Accepted      uint64  `json:"accepted"`
	AcceptedPerS  float64 `json:"accepted_per_second"`
	Landed        uint64  `json:"landed"` // distinct sequence numbers stored
	Stored        uint64  `json:"stored"` // rows or lines, duplicates included
	Lost          uint64  `json:"lost"`
	Duplicates    uint64  `json:"duplicates"`
	DrainSeconds  float64 `json:"drain_seconds"` // from the end of sending to the last landing
	LandedPerSec  float64 `json:"landed_per_second"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	EventsPerCPUs float64 `json:"events_per_cpu_second"`
	// ClickHouse's CPU over the same time (merges included), per million
	// landed events.
	ServerCPUPerMillion float64 `json:"server_cpu_seconds_per_million,omitempty"`
	PeakRSSMiB          float64 `json:"peak_rss_mib"`
	KernelDrops         uint64  `json:"udp_kernel_drops,omitempty"`
	LatencyP50          float64 `json:"latency_p50_seconds,omitempty"`
	LatencyP99          float64 `json:"latency_p99_seconds,omitempty"`
	Note                string  `json:"note,omitempty"`
}

type runner struct {
	dir, bin, chAddr string
	chPid            int
	chDir            string
	rsyslogd         string
	pool             *loadgen.Pool
	ch               driver.Conn
	quick            bool
	results          []Result
	machine          string
}

func main() {
	out := flag.String("out", "bench/results", "where the results go")
	bin := flag.String("collector", "bin/vca-collector", "the collector binary")
	chAddr := flag.String("clickhouse", "127.0.0.1:19300", "the ClickHouse server (native protocol)")
	chDir := flag.String("clickhouse-dir", "", "the server's directory (scripts/start-clickhouse.sh), to measure its CPU and stop it for the outage scenario")
	rsyslogd := flag.String("rsyslogd", "rsyslogd", "rsyslog daemon binary")
	quick := flag.Bool("quick", false, "short runs (a smoke test of the harness)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	flag.Parse()
	work, err := os.MkdirTemp("", "vca-bench-")
	check(err)
	defer os.RemoveAll(work)
	pool, err := loadgen.NewPool(8192, loadgen.DefaultMix, 1)
	check(err)
	r := &runner{dir: work, bin: *bin, chAddr: *chAddr, chDir: *chDir, rsyslogd: *rsyslogd, pool: pool, quick: *quick, machine: machine()}
	r.readPid()
	r.ch, err = clickhouse.Open(&clickhouse.Options{Addr: []string{*chAddr}, DialTimeout: 5 * time.Second})
	check(err)
	check(os.WriteFile(filepath.Join(work, "catalog.json"), gatewaysim.CatalogJSON(), 0o644))

	scale := func(d time.Duration) float64 {
		if r.quick {
			return min(d.Seconds(), 3)
		}
		return d.Seconds()
	}
	count := func(n int) int {
		if r.quick {
			return min(n, 100000)
		}
		return n
	}
	scenarios := []Scenario{
		{Name: "tcp-clickhouse-100k", Daemon: "vca-collector", Path: "TCP → spool → parse → enrich → ClickHouse, steady", Network: "tcp", Rate: 100000, Seconds: scale(60 * time.Second), Sink: "clickhouse", Profile: true},
		{Name: "tcp-clickhouse-burst", Daemon: "vca-collector", Path: "TCP → spool → parse → enrich → ClickHouse, a burst drained from the spool", Network: "tcp", Count: count(2500000), Sink: "clickhouse"},
		{Name: "tcp-clickhouse-outage", Daemon: "vca-collector", Path: "TCP → spool → ClickHouse at 20 000/s, ClickHouse down 60 s, then the drain", Network: "tcp", Rate: 20000, Seconds: scale(80 * time.Second), Sink: "clickhouse",
			Outage: 10 * time.Second, OutageFor: 60 * time.Second},
		{Name: "tcp-file-max", Daemon: "vca-collector", Path: "TCP → spool → parse → enrich → file", Network: "tcp", Count: count(2000000), Sink: "file"},
		{Name: "tcp-file-max", Daemon: "rsyslog", Path: "TCP (imptcp) → queue → file, no parsing", Network: "tcp", Count: count(2000000), Sink: "file"},
		{Name: "udp-200k", Daemon: "vca-collector", Path: "UDP → spool → parse → enrich → file (default UDP settings)", Network: "udp", Rate: 200000, Seconds: scale(30 * time.Second), Sink: "file", Senders: 2},
		{Name: "udp-200k", Daemon: "rsyslog", Path: "UDP (imudp, 8 MiB buffer) → queue → file", Network: "udp", Rate: 200000, Seconds: scale(30 * time.Second), Sink: "file", Senders: 2},
	}
	for _, s := range scenarios {
		if *only != "" && !strings.Contains(s.Name+" "+s.Daemon, *only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s (%s)\n", s.Name, s.Daemon)
		res, err := r.run(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "   failed: %v\n", err)
			res = Result{Scenario: s, Note: "failed: " + err.Error()}
		}
		fmt.Fprintf(os.Stderr, "   sent %d at %.0f/s, landed %d, lost %d, dup %d, %.2f CPU-s per million, peak RSS %.0f MiB\n",
			res.Sent, res.OfferedPerSec, res.Landed, res.Lost, res.Duplicates, res.CPUPerMillion, res.PeakRSSMiB)
		r.results = append(r.results, res)
	}
	check(r.write(*out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "vca-bench-e2e:", err)
		os.Exit(1)
	}
}

func freePort() int {
	p, err := freeport.Loopback(1)
	check(err)
	return p[0]
}

func (r *runner) run(s Scenario) (Result, error) {
	res := Result{Scenario: s}
	dir := filepath.Join(r.dir, strings.ReplaceAll(s.Name+"-"+s.Daemon, " ", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	port := freePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var p *procstat.Proc
	var err error
	var db, admin, outFile string
	switch s.Daemon {
	case "vca-collector":
		admin = fmt.Sprintf("127.0.0.1:%d", freePort())
		outFile = filepath.Join(dir, "events.jsonl")
		db = "bench_" + strings.ReplaceAll(strings.ReplaceAll(s.Name, "-", "_"), " ", "_")
		if s.Sink == "clickhouse" {
			if err := r.ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
				return res, err
			}
		}
		p, err = r.startCollector(s, dir, addr, admin, db, outFile)
	case "rsyslog":
		outFile = filepath.Join(dir, "out.log")
		p, err = r.startRsyslog(s, dir, port, outFile)
	}
	if err != nil {
		return res, err
	}
	defer func() {
		if p != nil {
			p.Stop()
		}
	}()
	cpu0 := p.CPU()
	drops0 := udpDrops(port)
	server := r.serverMeter()
	outageDone := make(chan error, 1)
	if s.OutageFor > 0 && !r.quick && s.Sink == "clickhouse" {
		go func() {
			time.Sleep(s.Outage)
			outageDone <- r.outage(s.OutageFor, server)
		}()
	} else {
		outageDone <- nil
	}

	// Latency: the sender notes when every 1000th message left; a poller
	// notes when ClickHouse's row count first covered it (delivery keeps
	// spool order, so the count tells which sequence numbers are in).
	var sentAt sync.Map
	var lat []float64
	pollDone := make(chan struct{})
	pollStop := make(chan struct{})
	if s.Sink == "clickhouse" {
		go func() {
			defer close(pollDone)
			var next uint64 = 1000
			for {
				select {
				case <-pollStop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				n := r.count(db)
				now := time.Now()
				for ; next <= n; next += 1000 {
					if t, ok := sentAt.Load(next); ok {
						lat = append(lat, now.Sub(t.(time.Time)).Seconds())
					}
				}
			}
		}()
	} else {
		close(pollDone)
	}
	var profile []byte
	var profWG sync.WaitGroup
	if s.Profile && !r.quick {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			time.Sleep(5 * time.Second)
			resp, err := http.Get("http://" + admin + "/debug/pprof/profile?seconds=20")
			if err == nil {
				profile, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
		}()
	}
	o := loadgen.Options{Network: s.Network, Addr: addr, Rate: s.Rate, Count: s.Count, First: 1, Senders: s.Senders,
		For: time.Duration(s.Seconds * float64(time.Second))}
	if s.Sink == "clickhouse" {
		o.Sent = func(seq uint64, at time.Time) { sentAt.Store(seq, at) }
	}
	sent, err := loadgen.Run(r.pool, o)
	if err != nil {
		close(pollStop)
		return res, err
	}
	if err := <-outageDone; err != nil {
		close(pollStop)
		return res, err
	}
	sendEnd := time.Now()
	res.Sent, res.SendSeconds, res.OfferedPerSec = sent.Sent, sent.Elapsed.Seconds(), sent.Rate
	if s.Daemon == "vca-collector" {
		res.Accepted = procstat.Metric(admin, "vca_collector_received_messages_total")
		res.AcceptedPerS = float64(res.Accepted) / res.SendSeconds
	}

	// Wait for the count to stop growing (or to reach what was sent).
	// After an outage the sink's next retry can be a whole
	// max_retry_backoff (30 s) away: wait past it before calling the
	// count final.
	quiet := 5 * time.Second
	if s.OutageFor > 0 {
		quiet = 40 * time.Second
	}
	deadline := time.Now().Add(8 * time.Minute)
	var stored uint64
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		var n uint64
		if s.Sink == "clickhouse" {
			n = r.count(db)
		} else {
			n = lineCount(outFile)
		}
		if n > stored {
			stored, lastChange = n, time.Now()
		}
		if n >= res.Sent && time.Since(lastChange) > 500*time.Millisecond {
			break
		}
		if time.Since(lastChange) > quiet {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	landedAt := lastChange
	close(pollStop)
	<-pollDone
	profWG.Wait()
	res.CPUSeconds = p.CPU() - cpu0
	serverCPU := server.seconds()
	res.KernelDrops = udpDrops(port) - drops0
	res.PeakRSSMiB = p.PeakMiB()
	p.Stop()
	res.PeakRSSMiB = max(res.PeakRSSMiB, p.PeakMiB())
	p = nil

	// Exact accounting by sequence number.
	var seqs []uint64
	if s.Sink == "clickhouse" {
		seqs, err = r.seqsInClickHouse(db)
	} else {
		seqs, err = seqsInFile(outFile)
	}
	if err != nil {
		return res, err
	}
	slices.Sort(seqs)
	res.Stored = uint64(len(seqs))
	seqs = slices.Compact(seqs)
	var inRange uint64
	for _, q := range seqs {
		if q >= 1 && q <= res.Sent {
			inRange++
		}
	}
	res.Landed = inRange
	res.Lost = res.Sent - inRange
	res.Duplicates = res.Stored - uint64(len(seqs))
	res.DrainSeconds = max(landedAt.Sub(sendEnd).Seconds(), 0)
	res.LandedPerSec = float64(res.Landed) / (res.SendSeconds + res.DrainSeconds)
	if res.Landed > 0 {
		res.CPUPerMillion = res.CPUSeconds / float64(res.Landed) * 1e6
		res.EventsPerCPUs = float64(res.Landed) / res.CPUSeconds
		if s.Sink == "clickhouse" {
			res.ServerCPUPerMillion = serverCPU / float64(res.Landed) * 1e6
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.LatencyP50 = lat[len(lat)/2]
		res.LatencyP99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if len(profile) > 0 {
		name := fmt.Sprintf("cpu-%s.pprof", s.Name)
		if err := os.WriteFile(filepath.Join("bench/results", name), profile, 0o644); err == nil {
			res.Note = "CPU profile: bench/results/" + name
		}
	}
	return res, nil
}

func (r *runner) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("2006-01-02T150405Z")
	var version string
	if out, err := exec.Command(r.rsyslogd, "-v").Output(); err == nil {
		version = strings.TrimSuffix(strings.Join(strings.Fields(strings.SplitN(string(out), "\n", 2)[0]), " "), " compiled with:")
	}
	doc := struct {
		Machine string   `json:"machine"`
		Rsyslog string   `json:"rsyslog"`
		When    string   `json:"when"`
		Quick   bool     `json:"quick"`
		Results []Result `json:"results"`
	}{r.machine, version, stamp, r.quick, r.results}
	b, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "e2e-"+stamp+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "End-to-end run %s on %s; %s; ClickHouse %s on the same cores.\n\n", stamp, r.machine, version, r.serverVersion())
	md.WriteString("| scenario | daemon | path | offered/s | accepted/s | sent | landed | lost | dup | drain s | landed/s | CPU s per 1M | ClickHouse CPU s per 1M | events per CPU-s | peak RSS MiB | UDP kernel drops | p50 / p99 s |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.results {
		latency := "-"
		if x.LatencyP50 > 0 {
			latency = fmt.Sprintf("%.2f / %.2f", x.LatencyP50, x.LatencyP99)
		}
		acc := "-"
		if x.AcceptedPerS > 0 {
			acc = fmt.Sprintf("%.0f", x.AcceptedPerS)
		}
		server := "-"
		if x.ServerCPUPerMillion > 0 {
			server = fmt.Sprintf("%.2f", x.ServerCPUPerMillion)
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %.0f | %s | %d | %d | %d | %d | %.1f | %.0f | %.2f | %s | %.0f | %.0f | %d | %s |\n",
			x.Name, x.Daemon, x.Path, x.OfferedPerSec, acc, x.Sent, x.Landed, x.Lost, x.Duplicates, x.DrainSeconds, x.LandedPerSec,
			x.CPUPerMillion, server, x.EventsPerCPUs, x.PeakRSSMiB, x.KernelDrops, latency)
	}
	for _, x := range r.results {
		if x.Note != "" {
			fmt.Fprintf(&md, "\n- %s (%s): %s", x.Name, x.Daemon, x.Note)
		}
	}
	md.WriteString("\n")
	path := filepath.Join(dir, "e2e-"+stamp+".md")
	if err := os.WriteFile(path, []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	fmt.Fprintln(os.Stderr, "results:", path)
	return nil
}

func (r *runner) serverVersion() string {
	v, err := r.ch.ServerVersion()
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)
}
