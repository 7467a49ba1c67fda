// Command vca-replay sends the built-in corpus of gateway syslog (every
// sample of the gateway log formats and the project's own lines, malformed
// ones included) to a collector over TCP as RFC 6587 octet-counted frames.
//
//	vca-replay [-addr 127.0.0.1:5514] [-repeat 1]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/openclaw-vca/openclaw-vca/internal/testcorpus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5514", "collector TCP listener (loopback)")
	repeat := flag.Int("repeat", 1, "times to send the corpus")
	flag.Parse()
	if err := replay(*addr, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "vca-replay:", err)
		os.Exit(1)
	}
}

func replay(addr string, repeat int) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	lines := testcorpus.All()
	for range repeat {
		for _, l := range lines {
			fmt.Fprintf(w, "%d ", len(l.Message))
			w.Write(l.Message)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("sent %d messages to %s\n", repeat*len(lines), addr)
	return conn.Close()
}
