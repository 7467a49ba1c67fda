package loadgen

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"
)

// TestEveryLineCarriesItsSequence sends a mix over TCP to a local listener
// and finds each sequence number once, in every kind of line.
func TestEveryLineCarriesItsSequence(t *testing.T) {
	pool, err := NewPool(500, DefaultMix, 3)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []uint64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		var seqs []uint64
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			m := SeqRE.FindSubmatch(sc.Bytes())
			if m == nil {
				t.Errorf("no sequence number in %q", sc.Text())
				continue
			}
			n, _ := strconv.ParseUint(string(m[1]), 10, 64)
			if fast, ok := SeqOf(sc.Bytes()); !ok || fast != n {
				t.Errorf("SeqOf(%q) = %d, %v; the expression found %d", sc.Text(), fast, ok, n)
			}
			seqs = append(seqs, n)
		}
		got <- seqs
	}()
	res, err := Run(pool, Options{Network: "tcp", Addr: l.Addr().String(), Count: 2000, First: 10, Rate: 100000})
	if err != nil || res.Sent != 2000 {
		t.Fatalf("sent %d: %v", res.Sent, err)
	}
	seqs := <-got
	if len(seqs) != 2000 || seqs[0] != 10 || seqs[1999] != 2009 {
		t.Fatalf("received %d sequence numbers, first %v", len(seqs), seqs[:min(3, len(seqs))])
	}
	if res.Elapsed < 15*time.Millisecond {
		t.Errorf("2000 messages at 100 000/s took %v", res.Elapsed)
	}
	if err := IsLoopback("192.0.2.1:514"); err == nil {
		t.Error("a non-loopback target was accepted")
	}
	// JSON escaping in the file sink's raw field still matches.
	if m := SeqRE.FindSubmatch([]byte(`"raw":"{\"vcaseq\":42}"`)); m == nil || string(m[1]) != "42" {
		t.Errorf("escaped sequence: %q", m)
	}
	if n, ok := SeqOf([]byte(`"raw":"{\"vcaseq\":42}"`)); !ok || n != 42 {
		t.Errorf("SeqOf of an escaped sequence: %d %v", n, ok)
	}
}

// TestSendersInterleave splits a UDP stream over two senders and receives
// every sequence number once.
func TestSendersInterleave(t *testing.T) {
	pool, err := NewPool(100, DefaultMix, 4)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.(*net.UDPConn).SetReadBuffer(8 << 20)
	res, err := Run(pool, Options{Network: "udp", Addr: pc.LocalAddr().String(), Count: 3001, First: 1, Rate: 50000, Senders: 2})
	if err != nil || res.Sent != 3001 {
		t.Fatalf("sent %d: %v", res.Sent, err)
	}
	seen := map[uint64]bool{}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for len(seen) < 3001 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		m := SeqRE.FindSubmatch(buf[:n])
		if m == nil {
			t.Fatalf("no sequence number in %q", buf[:n])
		}
		v, _ := strconv.ParseUint(string(m[1]), 10, 64)
		if seen[v] || v < 1 || v > 3001 {
			t.Fatalf("sequence %d twice or out of range", v)
		}
		seen[v] = true
	}
	if len(seen) != 3001 {
		t.Errorf("received %d of 3001 (loopback UDP with an 8 MiB buffer)", len(seen))
	}
}
