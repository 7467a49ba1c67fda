// Command vca-loadgen sends a realistic mix of gateway syslog (L4 session
// records, L7 SNI verdicts, legacy FQDN lines and a few malformed lines) to
// a collector on loopback over UDP, TCP (LF or octet-counted) or TLS, at a
// target rate or as fast as it can, for a bounded count or duration. Every
// line carries a sequence number (vcaseq) so the receiver can count loss
// and duplicates exactly. It prints what it sent as JSON.
//
//	vca-loadgen -net tcp -addr 127.0.0.1:5514 -rate 100000 -for 30s
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/openclaw-vca/openclaw-vca/bench/loadgen"
)

func main() {
	network := flag.String("net", "tcp", "udp, tcp or tls")
	addr := flag.String("addr", "127.0.0.1:5514", "collector address (loopback only)")
	octet := flag.Bool("octet-counted", false, "RFC 6587 octet counting instead of LF framing (TCP, TLS)")
	rate := flag.Int("rate", 0, "messages per second (0: as fast as possible)")
	count := flag.Int("count", 0, "stop after this many messages")
	dur := flag.Duration("for", 0, "stop after this long")
	first := flag.Uint64("first", 1, "first sequence number")
	l4 := flag.Int("l4", loadgen.DefaultMix.L4, "share of L4 session records")
	l7 := flag.Int("l7", loadgen.DefaultMix.L7, "share of L7 SNI verdicts")
	fqdn := flag.Int("fqdn", loadgen.DefaultMix.FQDN, "share of legacy FQDN lines")
	bad := flag.Int("malformed", loadgen.DefaultMix.Malformed, "share of malformed lines")
	flag.Parse()
	pool, err := loadgen.NewPool(4096, loadgen.Mix{L4: *l4, L7: *l7, FQDN: *fqdn, Malformed: *bad}, 1)
	if err != nil {
		fail(err)
	}
	framing := loadgen.LF
	if *octet {
		framing = loadgen.OctetCounted
	}
	res, err := loadgen.Run(pool, loadgen.Options{Network: *network, Addr: *addr, Framing: framing, Rate: *rate, Count: *count, For: *dur, First: *first})
	if err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(struct {
		loadgen.Result
		Elapsed string `json:"elapsed"`
	}{res, res.Elapsed.Round(time.Millisecond).String()})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vca-loadgen:", err)
	os.Exit(1)
}
