// The two peers of a run: the collector and rsyslog, started as
// processes whose CPU and memory procstat samples.

package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/bench/procstat"
)

func (r *runner) startCollector(s Scenario, dir, addr, admin, db, outFile string) (*procstat.Proc, error) {
	listener := fmt.Sprintf("  tcp:\n    - {name: tcp, address: %q}\n", addr)
	if s.Network == "udp" {
		listener = fmt.Sprintf("  udp:\n    - {name: udp, address: %q}\n", addr)
	}
	sink := fmt.Sprintf("  file: {path: %q, max_size: 16GiB}\n", outFile)
	if s.Sink == "clickhouse" {
		sink = fmt.Sprintf("  clickhouse: {addresses: [%q], database: %s, chain_id: bench}\n", r.chAddr, db)
	}
	cfg := fmt.Sprintf("listeners:\n%scatalog: {file: %q}\nspool: {dir: %q}\npipeline: {dead_letter_dir: %q}\nsinks:\n%sadmin: {address: %q}\nlog: {level: warn}\n%s",
		listener, filepath.Join(r.dir, "catalog.json"), filepath.Join(dir, "spool"), filepath.Join(dir, "dead"), sink, admin, s.Collector)
	path := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	p, err := procstat.Start(r.bin, []string{"run", "--config", path}, filepath.Join(dir, "collector.log"))
	if err != nil {
		return nil, err
	}
	for i := 0; i < 300; i++ {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	log, _ := os.ReadFile(filepath.Join(dir, "collector.log"))
	return nil, fmt.Errorf("collector not ready:\n%s", log)
}

// rsyslog configured for speed as the peers' measurements did: one input
// thread, a FixedArray main queue dequeued in batches of 1024, the raw
// message written by an asynchronous omfile with a 256 KiB buffer.
func (r *runner) startRsyslog(s Scenario, dir string, port int, outFile string) (*procstat.Proc, error) {
	input := fmt.Sprintf(`module(load="imptcp" threads="1")
input(type="imptcp" port="%d" address="127.0.0.1")`, port)
	if s.Network == "udp" {
		input = fmt.Sprintf(`module(load="imudp" threads="1" batchSize="128")
input(type="imudp" port="%d" address="127.0.0.1" rcvbufSize="8m")`, port)
	}
	cfg := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
main_queue(queue.type="FixedArray" queue.size="200000" queue.dequeueBatchSize="1024")
%s
template(name="raw" type="string" string="%%rawmsg%%\n")
action(type="omfile" file=%q template="raw" asyncWriting="on" ioBufferSize="256k" flushOnTXEnd="off" flushInterval="1")
`, dir, input, outFile)
	path := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	p, err := procstat.Start(r.rsyslogd, []string{"-n", "-f", path, "-i", filepath.Join(dir, "rsyslog.pid")}, filepath.Join(dir, "rsyslog.log"))
	if err != nil {
		return nil, err
	}
	for i := 0; i < 100; i++ {
		if s.Network == "udp" {
			if _, err := os.Stat(filepath.Join(dir, "rsyslog.pid")); err == nil {
				time.Sleep(300 * time.Millisecond)
				return p, nil
			}
		} else if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	log, _ := os.ReadFile(filepath.Join(dir, "rsyslog.log"))
	return nil, fmt.Errorf("rsyslog did not start:\n%s", log)
}

// readPid reads the server's pid from its directory.
func (r *runner) readPid() {
	if r.chDir == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(r.chDir, "ch.pid"))
	if err == nil {
		r.chPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
}
