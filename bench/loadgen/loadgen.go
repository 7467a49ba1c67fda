// Package loadgen sends a realistic mix of gateway syslog to a collector
// on loopback, at a target rate or as fast as it can, and stamps a
// sequence number into every line so that loss and duplication can be
// counted exactly at the other end.
package loadgen

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
)

// Mix is the share of each kind of line, in parts.
type Mix struct {
	L4, L7, FQDN, Malformed int
}

// DefaultMix is what a gateway sends: mostly L4 session records and L7
// SNI verdicts, some legacy FQDN lines, a few lines that do not parse.
var DefaultMix = Mix{L4: 55, L7: 40, FQDN: 4, Malformed: 1}

// SeqRE finds the sequence number in a received line, whichever kind;
// SeqOf does the same without a regular expression, for big files.
var SeqRE = regexp.MustCompile(`(?i)vcaseq[\\"=:]+([0-9]+)`)

// SeqOf returns the sequence number a line carries.
func SeqOf(line []byte) (uint64, bool) {
	i := bytes.Index(line, []byte("VCASEQ="))
	if i < 0 {
		if i = bytes.Index(line, []byte("vcaseq")); i < 0 {
			return 0, false
		}
	}
	j := i + len("vcaseq")
	for j < len(line) && (line[j] == '"' || line[j] == '\\' || line[j] == '=' || line[j] == ':') {
		j++
	}
	var n uint64
	k := j
	for ; k < len(line) && line[k] >= '0' && line[k] <= '9'; k++ {
		n = n*10 + uint64(line[k]-'0')
	}
	return n, k > j
}

// template is a line split around where the sequence number goes.
type template struct{ head, tail []byte }

// Pool holds pre-rendered lines of the mix, so sending allocates nothing.
type Pool struct{ lines []template }

// NewPool renders n lines of the simulated fleet in the given mix.
func NewPool(n int, mix Mix, seed uint64) (*Pool, error) {
	total := mix.L4 + mix.L7 + mix.FQDN + mix.Malformed
	if total <= 0 {
		return nil, errors.New("the mix is empty")
	}
	var l4, l7 [][]byte
	var malformed [][]byte
	err := gatewaysim.Generate(gatewaysim.Options{Start: time.Now().UTC().Add(-time.Hour), Duration: time.Hour, PerMinute: max(n/60, 60),
		Seed: seed, MalformedEvery: 200}, func(l gatewaysim.Line) error {
		switch {
		case l.Decision == nil:
			malformed = append(malformed, l.Text)
		case l.Decision.Kind == "l4":
			l4 = append(l4, l.Text)
		default:
			l7 = append(l7, l.Text)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &Pool{}
	for i := 0; i < n; i++ {
		k := rng.IntN(total)
		var t template
		switch {
		case k < mix.L4:
			line := l4[rng.IntN(len(l4))]
			t = template{head: append(append([]byte{}, line...), " VCASEQ="...)}
		case k < mix.L4+mix.L7:
			line := l7[rng.IntN(len(l7))]
			cut := bytes.LastIndexByte(line, '}')
			t = template{head: append(append([]byte{}, line[:cut]...), `,"vcaseq":`...), tail: []byte("}")}
		case k < mix.L4+mix.L7+mix.FQDN:
			t = template{head: fmt.Appendf(nil, "<10>%s GW-egress-gw-1-54.10.20.30 avx-nfq: AviatrixFQDNRule1[CRIT]nfq_ssl_handle_client_hello() L#291  Gateway=egress-gw-1 S_IP=10.20.1.%d D_IP=140.82.112.3 hostname=github.com state=MATCHED  Rule=github.com;6;443 vcaseq=",
				time.Now().UTC().Format(time.Stamp), 10+rng.IntN(6))}
		default:
			line := malformed[rng.IntN(len(malformed))]
			t = template{head: append(append([]byte{}, line...), " vcaseq="...)}
		}
		p.lines = append(p.lines, t)
	}
	return p, nil
}

// Line appends to dst the i-th line of the pool (cycling) stamped with
// sequence number seq, as Run sends it.
func (p *Pool) Line(dst []byte, i int, seq uint64) []byte {
	t := &p.lines[i%len(p.lines)]
	return append(strconv.AppendUint(append(dst, t.head...), seq, 10), t.tail...)
}

// Framing is how lines are delimited on a stream.
type Framing int

const (
	LF           Framing = iota // one line per LF (rsyslog's default)
	OctetCounted                // RFC 6587 "LEN SP MSG"
)

// Options shape a run.
type Options struct {
	Network string // udp, tcp or tls
	Addr    string // loopback host:port
	Framing Framing
	Rate    int           // messages per second; 0 = as fast as possible
	Count   int           // stop after this many (0 = no limit)
	For     time.Duration // stop after this long (0 = no limit)
	First   uint64        // first sequence number
	// Senders splits the stream over this many sockets and goroutines
	// (default 1), sender k sending First+k, First+k+Senders, ...: one
	// goroutine's write calls top out near 150 000 UDP datagrams a second.
	Senders int
	// Sent, when set, is told (seq, time) every 1 000 messages, for
	// latency measurements.
	Sent func(seq uint64, at time.Time)
}

// Result is what a run sent.
type Result struct {
	Sent    uint64        `json:"sent"`
	First   uint64        `json:"first_seq"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Rate    float64       `json:"offered_per_second"`
}

// IsLoopback refuses anything but a loopback target: this tool floods.
func IsLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return nil
}

// Run sends lines from the pool until Count or For is reached.
func Run(p *Pool, o Options) (Result, error) {
	if err := IsLoopback(o.Addr); err != nil {
		return Result{}, err
	}
	if o.Count == 0 && o.For == 0 {
		return Result{}, errors.New("give a count or a duration")
	}
	k := max(o.Senders, 1)
	if k == 1 {
		return runOne(p, o, 0, 1)
	}
	results := make([]Result, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range k {
		part := o
		part.Rate = o.Rate / k
		if o.Count > 0 {
			part.Count = o.Count / k
			if i < o.Count%k {
				part.Count++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runOne(p, part, uint64(i), uint64(k))
		}()
	}
	wg.Wait()
	out := Result{First: o.First, Elapsed: time.Since(start)}
	for i := range k {
		out.Sent += results[i].Sent
	}
	out.Rate = float64(out.Sent) / out.Elapsed.Seconds()
	// The senders stop at slightly different counts under a duration:
	// report the contiguous prefix every one of them reached.
	if o.Count == 0 {
		least := results[0].Sent
		for i := range k {
			least = min(least, results[i].Sent)
		}
		out.Sent = least * uint64(k)
	}
	return out, errors.Join(errs...)
}

// runOne is one sender: sequence numbers First+offset, then every stride.
func runOne(p *Pool, o Options, offset, stride uint64) (Result, error) {
	var conn net.Conn
	var err error
	switch o.Network {
	case "udp", "tcp":
		conn, err = net.Dial(o.Network, o.Addr)
	case "tls":
		conn, err = tls.Dial("tcp", o.Addr, &tls.Config{InsecureSkipVerify: true}) // loopback, a test CA
	default:
		err = fmt.Errorf("network %q: want udp, tcp or tls", o.Network)
	}
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	var w io.Writer = conn
	var bw *bufio.Writer
	if o.Network != "udp" {
		bw = bufio.NewWriterSize(conn, 256<<10)
		w = bw
	}
	var msg, frame []byte
	start := time.Now()
	seq := o.First + offset
	var n uint64
	// Pacing in slices of 1 ms keeps the offered rate smooth without a
	// timer per message.
	const slice = time.Millisecond
	perSlice := float64(o.Rate) * slice.Seconds()
	var owed float64
	next := start
	for i := 0; ; i++ {
		if o.Count > 0 && n >= uint64(o.Count) {
			break
		}
		if o.Rate > 0 && owed < 1 {
			if bw != nil {
				bw.Flush()
			}
			next = next.Add(slice)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			owed += perSlice
			if o.For > 0 && time.Since(start) >= o.For {
				break
			}
			continue
		}
		if o.Rate == 0 && o.For > 0 && n%4096 == 0 && time.Since(start) >= o.For {
			break
		}
		msg = p.Line(msg[:0], i, seq)
		switch {
		case o.Network == "udp":
			_, err = conn.Write(msg)
		case o.Framing == OctetCounted:
			frame = append(strconv.AppendInt(frame[:0], int64(len(msg)), 10), ' ')
			_, err = w.Write(append(frame, msg...))
		default:
			_, err = w.Write(append(msg, '\n'))
		}
		if err != nil && o.Network != "udp" {
			return Result{Sent: n, First: o.First}, err
		}
		if o.Sent != nil && seq%1000 == 0 {
			o.Sent(seq, time.Now())
		}
		seq += stride
		n++
		owed--
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return Result{Sent: n, First: o.First}, err
		}
	}
	el := time.Since(start)
	return Result{Sent: n, First: o.First, Elapsed: el, Rate: float64(n) / el.Seconds()}, nil
}
