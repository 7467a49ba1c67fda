// Package procstat runs a daemon under measurement and reads what the
// benchmarks report: from /proc its CPU seconds and its peak resident
// memory (VmHWM, sampled; rusage of a child started from a large Go
// process reports the parent's), and from its admin endpoint its
// Prometheus counters.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a daemon under measurement.
type Proc struct {
	Cmd  *exec.Cmd
	hwm  int64 // kB, sampled
	mu   sync.Mutex
	done chan struct{}
}

// Start runs the command with its output in logPath and samples its peak
// RSS until it exits.
func Start(name string, args []string, logPath string) (*Proc, error) {
	cmd := exec.Command(name, args...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	go func() { // VmHWM until exit: the last sample before it is the peak
		for {
			select {
			case <-p.done:
				return
			case <-time.After(200 * time.Millisecond):
				p.sample()
			}
		}
	}()
	return p, nil
}

func (p *Proc) sample() {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			p.mu.Lock()
			p.hwm = max(p.hwm, kb)
			p.mu.Unlock()
		}
	}
}

// CPU is the daemon's user+system seconds so far.
func (p *Proc) CPU() float64 { return CPUOf(p.Cmd.Process.Pid) }

// CPUOf is any process's user+system seconds so far (0 if it is gone).
func CPUOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// Stop sends SIGTERM and waits (a minute, then SIGKILL).
func (p *Proc) Stop() {
	p.sample()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { p.Cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		p.Cmd.Process.Kill()
		<-exited
	}
	close(p.done)
}

// PeakMiB is the highest VmHWM sampled.
func (p *Proc) PeakMiB() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.hwm) / 1024
}

// Metric is the sum of every series of a metric family the daemon serves
// on admin (host:port), or 0 when it cannot be read.
func Metric(admin, name string) uint64 {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return uint64(sum)
}
