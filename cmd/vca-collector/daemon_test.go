package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testpki"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// The end-to-end tests run the built collector as a process. Every one
// starts it through startDaemon; the config helpers below only write the
// configuration it runs.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vca-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vca-collector")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the collector: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running collector process.
type daemon struct {
	cmd    *exec.Cmd
	addrs  map[string]string // listener name (and "admin") → host:port, as the collector wrote them
	events string            // the file sink's path in receiverConfig
	logs   *logBuffer
	exited chan error
	pki    *testpki.CA // issued the TLS listener's certificate, if any
	dir    string
}

// startDaemon runs a collector on dir/collector.yaml and returns once it
// serves: it has written its bound addresses (run --addresses).
func startDaemon(t *testing.T, dir string, ca *testpki.CA) *daemon {
	t.Helper()
	addrFile := filepath.Join(dir, "addresses.json")
	os.Remove(addrFile) // a restart must not read its predecessor's
	cmd := exec.Command(binary, "run", "--config", filepath.Join(dir, "collector.yaml"), "--addresses", addrFile)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, events: filepath.Join(dir, "data", "events.jsonl"), logs: &logBuffer{}, exited: make(chan error, 1), pki: ca, dir: dir}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			d.logs.add(sc.Bytes())
		}
	}()
	go func() { <-logged; d.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("collector log:\n%s", d.logs)
		}
	})
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil {
			if err := json.Unmarshal(b, &d.addrs); err != nil {
				t.Fatalf("%s: %v: %s", addrFile, err, b)
			}
			return d
		}
		select {
		case err := <-d.exited:
			t.Fatalf("collector exited at start: %v\n%s", err, d.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector did not write %s within 2 minutes of starting\n%s", addrFile, d.logs)
		}
	}
}

// writeConfig writes dir/collector.yaml.
func writeConfig(t *testing.T, dir, yaml string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startReceiver runs a collector with the UDP, TCP and TLS listeners and
// the file sink of receiverConfig.
func startReceiver(t *testing.T, dir, moreSinks, extra string) *daemon {
	t.Helper()
	return startDaemon(t, dir, receiverConfig(t, dir, moreSinks, extra))
}

// receiverConfig writes a configuration into dir: the listeners udp, tcp
// and tls (mutual TLS with the returned CA), the file sink plus moreSinks
// (YAML under "sinks:"), extra top-level YAML, and a spool in dir unless
// extra configures one.
func receiverConfig(t *testing.T, dir, moreSinks, extra string) *testpki.CA {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	ca := testpki.NewCA(t, "gateways")
	cert, key := ca.Issue(t, "collector", false).WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	cfg := fmt.Sprintf(`listeners:
  udp:
    - {name: udp, address: "127.0.0.1:0", readers: 2}
  tcp:
    - {name: tcp, address: "127.0.0.1:0", max_message_size: 64KiB}
    - name: tls
      address: "127.0.0.1:0"
      tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
sinks:
  file: {path: %q}
%s
admin: {address: "127.0.0.1:0", stall_after: 3s}
shutdown_timeout: 10s
%s
`, cert, key, caFile, filepath.Join(dir, "data", "events.jsonl"), moreSinks, extra)
	if !strings.Contains(extra, "spool:") {
		cfg += fmt.Sprintf("spool: {dir: %q}\n", filepath.Join(dir, "spool"))
	}
	writeConfig(t, dir, cfg)
	return ca
}

// restart starts a new collector on d's directory and configuration,
// spool included.
func (d *daemon) restart(t *testing.T) *daemon { return startDaemon(t, d.dir, d.pki) }

// stop sends SIGTERM and wants a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("collector exit: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("collector did not exit within 2 minutes of SIGTERM")
	}
}

// kill sends SIGKILL: nothing is drained.
func (d *daemon) kill(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		t.Fatal("collector did not die within a minute of SIGKILL")
	}
}

func (d *daemon) tlsClient(t *testing.T) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", d.addrs["tls"], &tls.Config{RootCAs: d.pki.Pool(),
		Certificates: []tls.Certificate{d.pki.Issue(t, "gw", true).TLSCertificate(t)}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readEvents waits until the file holds at least n events.
func (d *daemon) readEvents(t *testing.T, n int) []map[string]any {
	t.Helper()
	var lines [][]byte
	testwait.Until(t, fmt.Sprintf("%d events in the file sink", n), testwait.Idle, func() (bool, string) {
		data, _ := os.ReadFile(d.events)
		lines = bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		if len(data) == 0 {
			lines = nil
		}
		return len(lines) >= n, fmt.Sprintf("the file sink holds %d events", len(lines))
	})
	var out []map[string]any
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatalf("invalid JSON line %q: %v", l, err)
		}
		out = append(out, ev)
	}
	return out
}

// metric adds up every series of a metric family on /metrics.
func (d *daemon) metric(t *testing.T, name string) float64 {
	t.Helper()
	var sum float64
	for _, line := range strings.Split(get(t, "http://"+d.addrs["admin"]+"/metrics"), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += v
		}
	}
	return sum
}

// readyz returns the status code and body of the daemon's /readyz.
func readyz(t *testing.T, d *daemon) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.addrs["admin"] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logBuffer collects the collector's log lines; a reader goroutine writes
// while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) add(line []byte) {
	l.mu.Lock()
	l.b.Write(line)
	l.b.WriteByte('\n')
	l.mu.Unlock()
}

func (l *logBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

func (l *logBuffer) String() string { return string(l.Bytes()) }
