// What a run measures (server CPU, the events each peer stored, read back
// from ClickHouse and from files, UDP drops) and the outage it causes.

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openclaw-vca/openclaw-vca/bench/loadgen"
	"github.com/openclaw-vca/openclaw-vca/bench/procstat"
)

// meter adds up the server's CPU seconds over a scenario, across a
// restart.
type meter struct {
	r          *runner
	mu         sync.Mutex
	start, acc float64
}

func (r *runner) serverMeter() *meter {
	return &meter{r: r, start: procstat.CPUOf(r.chPid)}
}

func (m *meter) seconds() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acc + procstat.CPUOf(m.r.chPid) - m.start
}

// outage kills the server (SIGKILL), keeps it down for d and starts it
// again on the same data and port.
func (r *runner) outage(d time.Duration, m *meter) error {
	if r.chDir == "" {
		return fmt.Errorf("the outage scenario needs -clickhouse-dir")
	}
	m.mu.Lock()
	m.acc += procstat.CPUOf(r.chPid) - m.start
	m.mu.Unlock()
	if p, err := os.FindProcess(r.chPid); err == nil {
		p.Signal(syscall.SIGKILL)
	}
	for procstat.CPUOf(r.chPid) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(d)
	_, port, _ := net.SplitHostPort(r.chAddr)
	if out, err := exec.Command("scripts/start-clickhouse.sh", r.chDir, port).CombinedOutput(); err != nil {
		return fmt.Errorf("restart clickhouse: %v\n%s", err, out)
	}
	r.readPid()
	m.mu.Lock()
	m.start = procstat.CPUOf(r.chPid)
	m.mu.Unlock()
	return nil
}

func (r *runner) count(db string) uint64 {
	var n uint64
	row := r.ch.QueryRow(context.Background(), fmt.Sprintf("SELECT (SELECT count() FROM %[1]s.dcf_events) + (SELECT count() FROM %[1]s.raw_unparsed)", db))
	if err := row.Scan(&n); err != nil {
		return 0
	}
	return n
}

func (r *runner) seqsInClickHouse(db string) ([]uint64, error) {
	rows, err := r.ch.Query(context.Background(), fmt.Sprintf(`SELECT toUInt64OrZero(extract(replaceAll(lower(raw), '\0', ''), 'vcaseq["=:]+([0-9]+)')) FROM %[1]s.dcf_events
UNION ALL SELECT toUInt64OrZero(extract(replaceAll(lower(raw), '\0', ''), 'vcaseq["=:]+([0-9]+)')) FROM %[1]s.raw_unparsed`, db))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var n uint64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func lineCount(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n uint64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += uint64(bytes.Count(buf[:k], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
}

func seqsInFile(path string) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []uint64
	for sc.Scan() {
		line := sc.Bytes()
		n, ok := loadgen.SeqOf(line)
		if !ok && bytes.Contains(line, []byte(`"raw_base64"`)) { // a line that is not UTF-8
			var ev struct {
				RawBase64 []byte `json:"raw_base64"`
			}
			if json.Unmarshal(line, &ev) == nil {
				n, ok = loadgen.SeqOf(ev.RawBase64)
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, sc.Err()
}

// metric reads one counter (summed over labels) from the admin port.
// udpDrops is the kernel's drop count for the UDP sockets on port.
func udpDrops(port int) uint64 {
	var total uint64
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		hexPort := fmt.Sprintf(":%04X", port)
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) > 12 && strings.HasSuffix(fs[1], hexPort) {
				n, _ := strconv.ParseUint(fs[len(fs)-1], 10, 64)
				total += n
			}
		}
	}
	return total
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var memKB int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &memKB)
	}
	return fmt.Sprintf("%d cores (%s), %.0f GiB RAM, %s, %s/%s", runtime.NumCPU(), model, float64(memKB)/(1<<20), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
