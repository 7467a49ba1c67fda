package listen

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testpki"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// collector is a Handler that keeps copies of what it receives.
type collector struct {
	mu   sync.Mutex
	msgs []Message
	srcs []Source
	gate chan struct{} // when set, HandleBatch waits on it
}

func (c *collector) HandleBatch(b *Batch) {
	if c.gate != nil {
		<-c.gate
	}
	c.mu.Lock()
	for _, m := range b.Msgs {
		m.Data = append([]byte(nil), m.Data...)
		c.msgs = append(c.msgs, m)
		c.srcs = append(c.srcs, *b.Source)
	}
	c.mu.Unlock()
	b.Release()
}

func (c *collector) wait(t *testing.T, n int) []Message {
	t.Helper()
	testwait.Until(t, fmt.Sprintf("%d messages", n), testwait.Idle, func() (bool, string) {
		c.mu.Lock()
		got := len(c.msgs)
		c.mu.Unlock()
		return got >= n, fmt.Sprintf("received %d messages", got)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) < n {
		t.Fatalf("received %d messages, want %d", len(c.msgs), n)
	}
	return append([]Message(nil), c.msgs...)
}

func tcpConfig(mod func(*TCPConfig)) TCPConfig {
	c := TCPConfig{Name: "t", Address: "127.0.0.1:0"}
	if mod != nil {
		mod(&c)
	}
	c.SetDefaults()
	return c
}

func startTCP(t *testing.T, cfg TCPConfig, h Handler) (*TCPServer, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	s, err := NewTCPServer(cfg, h, m, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s, m
}

func dial(t *testing.T, s *TCPServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func texts(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Data))
	}
	return out
}

func TestTCPFramesAndMetadata(t *testing.T) {
	h := &collector{}
	s, m := startTCP(t, tcpConfig(nil), h)
	c := dial(t, s)
	io.WriteString(c, "<1>lf one\n"+octet("<2>octet two")+"<3>lf three\r\n")
	got := h.wait(t, 3)
	if want := []string{"<1>lf one", "<2>octet two", "<3>lf three"}; fmt.Sprint(texts(got)) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", texts(got), want)
	}
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if got[0].Peer != local || h.srcs[0] != (Source{"t", "tcp"}) || got[0].ReceivedAt.IsZero() {
		t.Fatalf("metadata %+v %+v, want peer %v", got[0], h.srcs[0], local)
	}
	if v := testutil.ToFloat64(m.received.WithLabelValues("t", "tcp")); v != 3 {
		t.Fatalf("received metric %v", v)
	}
}

// TestTCPMalformedInputKeepsStream sends what breaks weaker receivers, then
// ordinary lines on the same connection: the ordinary lines must arrive.
func TestTCPMalformedInputKeepsStream(t *testing.T) {
	h := &collector{}
	s, m := startTCP(t, tcpConfig(func(c *TCPConfig) { c.MaxMessageSize = 64 << 10 }), h)
	c := dial(t, s)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3) // binary, NULs and newlines included
	}
	var in bytes.Buffer
	in.Write(garbage)
	in.WriteString("\n")
	in.WriteString(strings.Repeat("L", 1<<20) + "\n") // 1 MiB line
	in.WriteString(octet(strings.Repeat("O", 1<<20))) // 1 MiB octet frame
	in.WriteString("<14>Mar 14 09:00:00 h a: after-garbage\n")
	go func() { c.Write(in.Bytes()); c.(*net.TCPConn).CloseWrite() }()
	testwait.Until(t, "the line after the garbage", testwait.Idle, func() (bool, string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := len(h.msgs)
		last := ""
		if n > 0 {
			last = string(h.msgs[n-1].Data)
		}
		return last == "<14>Mar 14 09:00:00 h a: after-garbage", fmt.Sprintf("%d messages, last %.40q", n, last)
	})
	var truncated int
	for _, msg := range h.msgs {
		if len(msg.Data) > 64<<10 {
			t.Fatalf("message of %d bytes passed the limit", len(msg.Data))
		}
		if msg.Truncated {
			truncated++
		}
	}
	if truncated != 2 || testutil.ToFloat64(m.truncated.WithLabelValues("t")) != 2 {
		t.Fatalf("truncated %d, metric %v; want 2", truncated, testutil.ToFloat64(m.truncated.WithLabelValues("t")))
	}
}

func TestTCPClientStopsMidFrame(t *testing.T) {
	h := &collector{}
	s, _ := startTCP(t, tcpConfig(nil), h)
	a, b := dial(t, s), dial(t, s)
	io.WriteString(a, "<1>whole\n40 <2>only part of it")
	a.Close()
	io.WriteString(b, "<3>other connection\n")
	got := h.wait(t, 3)
	var part *Message
	for i := range got {
		if string(got[i].Data) == "<2>only part of it" {
			part = &got[i]
		}
	}
	if part == nil || !part.Truncated {
		t.Fatalf("partial frame not kept as truncated: %q", texts(got))
	}
}

func TestTCPConnectionLimitAndAllowList(t *testing.T) {
	t.Run("limit", func(t *testing.T) {
		h := &collector{}
		s, m := startTCP(t, tcpConfig(func(c *TCPConfig) { c.MaxConnections = 1 }), h)
		first := dial(t, s)
		io.WriteString(first, "<1>a\n")
		h.wait(t, 1)
		second := dial(t, s)
		second.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := second.Read(make([]byte, 1)); err == nil {
			t.Fatal("second connection was not closed")
		}
		if v := testutil.ToFloat64(m.rejected.WithLabelValues("t", "connection_limit")); v != 1 {
			t.Fatalf("rejected metric %v", v)
		}
	})
	t.Run("allow list", func(t *testing.T) {
		h := &collector{}
		s, m := startTCP(t, tcpConfig(func(c *TCPConfig) { c.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }), h)
		c := dial(t, s)
		io.WriteString(c, "<1>a\n")
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("connection from outside the allow-list stayed open")
		}
		if v := testutil.ToFloat64(m.rejected.WithLabelValues("t", "not_allowed")); v != 1 || len(h.msgs) != 0 {
			t.Fatalf("rejected %v, received %d", v, len(h.msgs))
		}
	})
}

func TestTCPIdleTimeout(t *testing.T) {
	h := &collector{}
	s, _ := startTCP(t, tcpConfig(func(c *TCPConfig) { c.IdleTimeout = config.Duration(150 * time.Millisecond) }), h)
	c := dial(t, s)
	io.WriteString(c, "<1>a\n<2>half a line")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("idle connection not closed in time (%v, %v)", err, time.Since(start))
	}
	got := h.wait(t, 2)
	if string(got[1].Data) != "<2>half a line" || !got[1].Truncated {
		t.Fatalf("half line %+v", got[1])
	}
}

// TestTCPBackpressure: while the handler is blocked, the sender cannot
// push unlimited data; once it unblocks, every message arrives.
func TestTCPBackpressure(t *testing.T) {
	h := &collector{gate: make(chan struct{})}
	s, _ := startTCP(t, tcpConfig(nil), h)
	c := dial(t, s)
	line := "<14>Mar 14 09:00:00 host app: " + strings.Repeat("x", 200) + "\n"
	const total = 200000 // ~46 MB, far beyond socket buffers
	done := make(chan error, 1)
	go func() {
		var buf bytes.Buffer
		for i := 0; i < total; i++ {
			buf.WriteString(line)
		}
		_, err := c.Write(buf.Bytes())
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("sender wrote 46 MB while the pipeline was blocked: no backpressure")
	case <-time.After(500 * time.Millisecond):
	}
	close(h.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.wait(t, total)
}

func TestTLSMutualAndReload(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "gateways")
	cert, key := ca.Issue(t, "collector", false).WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	h := &collector{}
	s, m := startTCP(t, tcpConfig(func(c *TCPConfig) {
		c.TLS = &TLSConfig{CertFile: cert, KeyFile: key, ClientCAFile: caFile}
	}), h)
	clientCert := ca.Issue(t, "gw-1", true).TLSCertificate(t)
	dialTLS := func(certs []tls.Certificate) (*tls.Conn, error) {
		return tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: ca.Pool(), Certificates: certs})
	}

	// Without a client certificate the handshake is refused.
	if c, err := dialTLS(nil); err == nil {
		io.WriteString(c, "<1>anonymous\n")
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("connection without a client certificate accepted")
		}
		c.Close()
	}
	old, err := dialTLS([]tls.Certificate{clientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	firstSerial := old.ConnectionState().PeerCertificates[0].SerialNumber
	io.WriteString(old, octet("<1>over mutual TLS"))
	got := h.wait(t, 1)
	if string(got[0].Data) != "<1>over mutual TLS" || h.srcs[0].Transport != "tls" {
		t.Fatalf("got %q over %s", got[0].Data, h.srcs[0].Transport)
	}

	// Rotate the server certificate: new handshakes see it, the open
	// connection keeps working.
	leaf := ca.Issue(t, "collector-rotated", false)
	leaf.WriteFiles(t, dir, "server")
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	fresh, err := dialTLS([]tls.Certificate{clientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got := fresh.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leaf.Serial) != 0 || got.Cmp(firstSerial) == 0 {
		t.Fatalf("after reload the server presented serial %v, want %v", got, leaf.Serial)
	}
	io.WriteString(old, "<2>still on the old connection\n")
	io.WriteString(fresh, "<3>on the new connection\n")
	h.wait(t, 3)

	// A broken file on reload keeps the working certificate.
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("reload of a broken certificate succeeded")
	}
	if c, err := dialTLS([]tls.Certificate{clientCert}); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	} else {
		c.Close()
	}
	if v := testutil.ToFloat64(m.rejected.WithLabelValues("t", "tls_handshake")); v < 1 {
		t.Fatalf("handshake rejections %v", v)
	}
}

func startUDP(t *testing.T, mod func(*UDPConfig), h Handler) *UDPServer {
	t.Helper()
	cfg := UDPConfig{Name: "u", Address: "127.0.0.1:0", Readers: 3}
	if mod != nil {
		mod(&cfg)
	}
	cfg.SetDefaults()
	s, err := NewUDPServer(cfg, h, NewMetrics(prometheus.NewRegistry()), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

func TestUDP(t *testing.T) {
	h := &collector{}
	s := startUDP(t, func(c *UDPConfig) { c.MaxMessageSize = 1024 }, h)
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 500
	for i := 0; i < n; i++ {
		fmt.Fprintf(c, "<14>Mar 14 09:00:00 h a: %d\n", i)
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // stay far below the receive buffer
		}
	}
	c.Write(bytes.Repeat([]byte("Z"), 4000))
	got := h.wait(t, n+1)
	seen := map[string]bool{}
	var big *Message
	for i := range got {
		seen[string(got[i].Data)] = true
		if got[i].Data[0] == 'Z' {
			big = &got[i]
		}
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("<14>Mar 14 09:00:00 h a: %d", i)] {
			t.Fatalf("datagram %d missing", i)
		}
	}
	if big == nil || !big.Truncated || len(big.Data) != 1024 {
		t.Fatalf("oversized datagram not cut to 1024 and flagged: %+v", big)
	}
	if s.ReceiveBuffer() < 1<<20 {
		t.Logf("effective receive buffer only %d bytes (not root?)", s.ReceiveBuffer())
	}
	if s.KernelDrops() != 0 {
		t.Fatalf("kernel drops %d at a gentle rate", s.KernelDrops())
	}
}

func TestUDPAllowList(t *testing.T) {
	h := &collector{}
	s := startUDP(t, func(c *UDPConfig) { c.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} }, h)
	c, _ := net.Dial("udp", s.Addr().String())
	defer c.Close()
	c.Write([]byte("<1>refused"))
	time.Sleep(200 * time.Millisecond)
	if len(h.msgs) != 0 {
		t.Fatal("datagram from outside the allow-list accepted")
	}
}

func TestProcUDPDrops(t *testing.T) {
	f := filepath.Join(t.TempDir(), "udp")
	os.WriteFile(f, []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:158A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  101: 0100007F:158A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  102: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 1000
`), 0o600)
	got, err := procUDPDrops(f, []uint64{4242, 4243})
	if err != nil || got != 22 {
		t.Fatalf("drops %d, %v; want 22", got, err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  TCPConfig
		want string
	}{
		{"no name", TCPConfig{Address: "x"}, "name: is required"},
		{"tls without key", TCPConfig{Name: "a", Address: "x", TLS: &TLSConfig{CertFile: "c"}}, "tls.key_file"},
		{"bad client auth", TCPConfig{Name: "a", Address: "x", TLS: &TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "maybe"}}, "tls.client_auth"},
		{"require without CA", TCPConfig{Name: "a", Address: "x", TLS: &TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "require"}}, "tls.client_ca_file"},
		{"tiny limit", TCPConfig{Name: "a", Address: "x", MaxMessageSize: 10}, "max_message_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SetDefaults()
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
