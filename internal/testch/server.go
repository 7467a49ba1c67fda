package testch

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Server is a ClickHouse server of the test's own, which the test may stop
// and start again (the shared one must stay up for other tests).
type Server struct {
	Addr string
	dir  string
	port int
	t    testing.TB
}

// OwnServer starts a server in a temporary directory on a free port with
// scripts/start-clickhouse.sh, under the same rule as Addr: only where
// make test provides ClickHouse. It is stopped when the test ends.
func OwnServer(t testing.TB) *Server {
	t.Helper()
	Addr(t)
	port := restartablePort(t)
	s := &Server{dir: t.TempDir(), port: port, t: t, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.Start()
	t.Cleanup(func() { syscall.Kill(s.pid(), syscall.SIGTERM) })
	return s
}

// restartablePort finds a free port, and the HTTP port after it, below the
// kernel's ephemeral range (32768 and up on Linux): while the server is
// down, an outgoing connection anywhere on the machine may take a free
// ephemeral port as its own, and the restart could not bind it again.
func restartablePort(t testing.TB) int {
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
		p := 20000 + 2*rand.IntN(6000)
		if free(p) && free(p+1) {
			return p
		}
	}
	t.Fatal("no free port pair below the ephemeral range")
	return 0
}

// Start starts the server (again) and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "start-clickhouse.sh")
	out, err := exec.Command(script, s.dir, fmt.Sprint(s.port)).CombinedOutput()
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
	for range 250 {
		if syscall.Kill(p, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("clickhouse pid %d did not exit", p)
}
