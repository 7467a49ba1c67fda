package testch

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a ClickHouse server of the test's own, which the test may stop
// and start again (the shared one must stay up for other tests).
type Server struct {
	Addr    string // native protocol
	HTTP    string // host:port of the HTTP interface
	TLSAddr string // native protocol over TLS, with Options.TLS
	dir     string
	port    int
	flags   []string
	t       testing.TB
}

// Options configure a server of the test's own.
type Options struct {
	// ConfigD are server configuration fragments (<clickhouse>...</clickhouse>)
	// for config.d: remote_servers, macros, zookeeper. "{tcp_port}" in them
	// stands for the server's own native port.
	ConfigD []string
	// User and Password add a password-protected user beside the
	// passwordless default one.
	User, Password string
	// TLS, with the PEM files of a server certificate, serves the native
	// protocol over TLS as well (on TLSAddr); ClientCA makes it require a
	// client certificate signed by it.
	TLS *TLSFiles
}

// TLSFiles are PEM file paths.
type TLSFiles struct{ Cert, Key, ClientCA string }

// OwnServer starts a server in a temporary directory on a free port with
// scripts/start-clickhouse.sh, under the same rule as Addr: only where
// make test provides ClickHouse. It is stopped when the test ends.
func OwnServer(t testing.TB) *Server { return OwnServerWith(t, Options{}) }

// OwnServerWith is OwnServer with users, TLS or configuration of its own.
func OwnServerWith(t testing.TB, o Options) *Server {
	t.Helper()
	Addr(t)
	port := restartablePort(t, 3)
	dir := t.TempDir()
	s := &Server{dir: dir, port: port, t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port), HTTP: fmt.Sprintf("127.0.0.1:%d", port+1)}
	for i, x := range o.ConfigD {
		f := filepath.Join(dir, fmt.Sprintf("extra-%d.xml", i))
		if err := os.WriteFile(f, []byte(strings.ReplaceAll(x, "{tcp_port}", strconv.Itoa(port))), 0o644); err != nil {
			t.Fatal(err)
		}
		s.flags = append(s.flags, "-config-d", f)
	}
	if o.User != "" {
		f := filepath.Join(dir, "password")
		if err := os.WriteFile(f, []byte(o.Password), 0o600); err != nil {
			t.Fatal(err)
		}
		s.flags = append(s.flags, "-user", o.User, "-password-file", f)
	}
	if o.TLS != nil {
		s.TLSAddr = fmt.Sprintf("127.0.0.1:%d", port+2)
		s.flags = append(s.flags, "-tls-port", strconv.Itoa(port+2), "-tls-cert", o.TLS.Cert, "-tls-key", o.TLS.Key)
		if o.TLS.ClientCA != "" {
			s.flags = append(s.flags, "-tls-client-ca", o.TLS.ClientCA)
		}
	}
	s.Start()
	t.Cleanup(func() { syscall.Kill(s.pid(), syscall.SIGKILL) })
	return s
}

// restartablePort finds n free consecutive ports (native, HTTP, TLS)
// below the kernel's ephemeral range (32768 and up on Linux): while the
// server is down, an outgoing connection anywhere on the machine may take
// a free ephemeral port as its own, and the restart could not bind it again.
func restartablePort(t testing.TB, n int) int {
	t.Helper()
	free := func(p int) bool {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		ln.Close()
		return true
	}
	for range 200 {
		p := 20000 + 4*rand.IntN(3000)
		ok := true
		for i := range n {
			ok = ok && free(p+i)
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free ports below the ephemeral range")
	return 0
}

// Start starts the server (again, on the same data) and waits until it
// answers.
func (s *Server) Start() {
	s.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "start-clickhouse.sh")
	out, err := exec.Command(script, append([]string{s.dir, strconv.Itoa(s.port)}, s.flags...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("start clickhouse: %v\n%s", err, out)
	}
}

func (s *Server) pid() int {
	b, _ := os.ReadFile(filepath.Join(s.dir, "ch.pid"))
	var p int
	fmt.Sscan(string(b), &p)
	return p
}

// Kill stops the server with SIGKILL and waits until it is gone.
func (s *Server) Kill() {
	p := s.pid()
	syscall.Kill(p, syscall.SIGKILL)
	for range 3000 {
		if syscall.Kill(p, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("clickhouse pid %d did not exit within a minute of SIGKILL", p)
}

// PeakRSS is the server process's peak resident memory, as the kernel
// reports it (VmHWM), or "" once it is gone.
func (s *Server) PeakRSS() string { return peakRSS(s.pid()) }

func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmHWM:")); ok {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// HTTPQuery runs a statement through a server's HTTP interface (for
// statements whose data travel inline, such as INSERT ... FORMAT
// JSONEachRow) and returns the body; an error status fails the test.
func HTTPQuery(t testing.TB, httpAddr, sql string) []byte {
	t.Helper()
	resp, err := http.Post("http://"+httpAddr+"/?"+url.Values{"wait_end_of_query": {"1"}}.Encode(), "text/plain", bytes.NewBufferString(sql))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%.300s", resp.Status, bytes.TrimSpace(body), sql)
	}
	return body
}
