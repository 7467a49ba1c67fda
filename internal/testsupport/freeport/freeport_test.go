package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestLoopbackPortsAreDistinctAndBindable(t *testing.T) {
	for _, n := range []int{1, 3, 16} {
		ports, err := Loopback(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(ports) != n {
			t.Fatalf("asked for %d ports, got %v", n, ports)
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d twice in %v", p, ports)
			}
			seen[p] = true
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("port %d of %v: %v", p, ports, err)
			}
			l.Close()
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				t.Fatalf("UDP port %d of %v: %v", p, ports, err)
			}
			pc.Close()
		}
	}
}
