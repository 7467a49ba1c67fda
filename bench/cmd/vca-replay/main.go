// Command vca-replay sends gateway syslog to a collector over TCP as RFC
// 6587 octet-counted frames: the built-in corpus (every sample of the
// gateway log formats and the project's own lines, malformed ones
// included) and, with -sim, the simulated fleet's traffic for the period
// that ends now, every scenario in enforce and monitor mode.
//
//	vca-replay [-addr 127.0.0.1:5514] [-repeat 1] [-sim 24h [-sim-rate 40]]
//	vca-replay -write-catalog FILE    the simulated fleet's policy catalog
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5514", "collector TCP listener (loopback)")
	repeat := flag.Int("repeat", 1, "times to send the corpus")
	sim := flag.Duration("sim", 0, "also send the simulated fleet's traffic for this period, ending now")
	simRate := flag.Int("sim-rate", 40, "simulated decisions per gateway per minute")
	catalog := flag.String("write-catalog", "", "write the simulated fleet's policy catalog to this file and exit")
	flag.Parse()
	if *catalog != "" {
		if err := os.WriteFile(*catalog, gatewaysim.CatalogJSON(), 0o644); err != nil {
			fail(err)
		}
		return
	}
	if err := replay(*addr, *repeat, *sim, *simRate); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vca-replay:", err)
	os.Exit(1)
}

func replay(addr string, repeat int, sim time.Duration, simRate int) error {
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
	send := func(msg []byte) {
		fmt.Fprintf(w, "%d ", len(msg))
		w.Write(msg)
	}
	lines := testcorpus.All()
	for range repeat {
		for _, l := range lines {
			send(l.Message)
		}
	}
	var simulated int
	if sim > 0 {
		end := time.Now().UTC().Truncate(time.Minute)
		err := gatewaysim.Generate(gatewaysim.Options{Start: end.Add(-sim), Duration: sim, PerMinute: simRate, Seed: uint64(end.Unix())},
			func(l gatewaysim.Line) error {
				send(l.Text)
				simulated++
				return nil
			})
		if err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("sent %d corpus and %d simulated messages to %s\n", repeat*len(lines), simulated, addr)
	return conn.Close()
}
