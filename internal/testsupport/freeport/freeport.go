// Package freeport picks ports for servers that must be told their port
// before they start (a broker restarted on the same ports, a container's
// published port, an engine's own listeners), where listening on port 0
// and reading the address back is not possible.
package freeport

import (
	"fmt"
	"net"
)

// On returns n distinct ports of host that were free for both TCP and UDP
// when it returned. Each is held until all are picked, so none repeats;
// another process may still take one before the caller binds it.
func On(host string, n int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 20*n {
			return nil, fmt.Errorf("freeport: %d tries on %s found %d of %d ports free for TCP and UDP", tries, host, len(ports), n)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue // the UDP port is taken: keep the TCP one held, try another
		}
		pc.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Loopback is On("127.0.0.1", n).
func Loopback(n int) ([]int, error) { return On("127.0.0.1", n) }
