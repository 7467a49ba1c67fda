package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// TCPServer accepts syslog over TCP or, with TLS configured, RFC 5425.
type TCPServer struct {
	cfg     TCPConfig
	src     *Source
	handler Handler
	metrics *Metrics
	log     zerolog.Logger
	tls     *certStore // nil for plain TCP

	ln      net.Listener
	active  atomic.Int64
	closing atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// NewTCPServer binds the listener; Serve starts accepting.
func NewTCPServer(cfg TCPConfig, h Handler, m *Metrics, log zerolog.Logger) (*TCPServer, error) {
	s := &TCPServer{cfg: cfg, handler: h, metrics: m, conns: map[net.Conn]struct{}{},
		log: log.With().Str("listener", cfg.Name).Logger()}
	transport := "tcp"
	if cfg.TLS != nil {
		transport = "tls"
		store, err := newCertStore(*cfg.TLS)
		if err != nil {
			return nil, err
		}
		s.tls = store
	}
	s.src = &Source{Listener: cfg.Name, Transport: transport}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *TCPServer) Addr() net.Addr { return s.ln.Addr() }

// Source describes this listener.
func (s *TCPServer) Source() *Source { return s.src }

// ReloadTLS re-reads the certificate, key and client CA. Open connections
// keep the certificate they negotiated; new handshakes use the new one.
func (s *TCPServer) ReloadTLS() error {
	if s.tls == nil {
		return nil
	}
	return s.tls.load()
}

// Serve accepts connections until Close.
func (s *TCPServer) Serve() error {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			s.log.Error().Err(err).Msg("accept failed")
			time.Sleep(50 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		peer := addrPortOf(conn.RemoteAddr())
		if !allowed(s.cfg.AllowedCIDRs, peer.Addr()) {
			s.metrics.rejected.WithLabelValues(s.cfg.Name, "not_allowed").Inc()
			conn.Close()
			continue
		}
		if s.active.Load() >= int64(s.cfg.MaxConnections) {
			s.metrics.rejected.WithLabelValues(s.cfg.Name, "connection_limit").Inc()
			conn.Close()
			continue
		}
		s.active.Add(1)
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(conn, peer)
	}
}

func (s *TCPServer) serveConn(conn net.Conn, peer netip.AddrPort) {
	s.metrics.connections.WithLabelValues(s.cfg.Name).Inc()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		s.active.Add(-1)
		s.metrics.connections.WithLabelValues(s.cfg.Name).Dec()
		s.wg.Done()
	}()
	var r io.Reader = conn
	if s.tls != nil {
		tc := tls.Server(conn, s.tls.config)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.metrics.rejected.WithLabelValues(s.cfg.Name, "tls_handshake").Inc()
			s.log.Warn().Err(err).Str("peer", peer.String()).Msg("TLS handshake failed")
			return
		}
		r = tc
	}
	dr := &deadlineReader{r: r, conn: conn, idle: time.Duration(s.cfg.IdleTimeout), closing: &s.closing}
	fr := NewFrameReader(dr, int(s.cfg.MaxMessageSize))
	b := NewBatch(s.src)
	flush := func() {
		if b.Len() == 0 {
			return
		}
		s.metrics.count(s.src, b)
		s.handler.HandleBatch(b) // blocks while the pipeline is full: backpressure
		b = NewBatch(s.src)
	}
	// Frames that one read brought in share its receive time: the clock is
	// read when the reader has to go back to the socket.
	var now time.Time
	fresh := true
	for {
		msg, truncated, err := fr.Next()
		if err != nil {
			flush()
			b.Release()
			if !errors.Is(err, io.EOF) && !errors.Is(err, errClosing) && !s.closing.Load() {
				s.log.Debug().Err(err).Str("peer", peer.String()).Msg("connection closed")
			}
			return
		}
		if fresh {
			now, fresh = time.Now(), false
		}
		if !b.Add(msg, now, peer, truncated) {
			flush()
			b.Add(msg, now, peer, truncated)
		}
		// Hand the batch on once no more input is waiting, so batches grow
		// under load and latency stays low when traffic is light.
		if !fr.Buffered() {
			flush()
			fresh = true
		}
	}
}

// Close stops accepting, ends every connection after the messages it has
// already read are handed on, and waits for that.
func (s *TCPServer) Close() error {
	s.closing.Store(true)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

var errClosing = errors.New("listener closing")

// deadlineReader applies the idle timeout to every read.
type deadlineReader struct {
	r       io.Reader
	conn    net.Conn
	idle    time.Duration
	closing *atomic.Bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.closing.Load() {
		return 0, errClosing
	}
	if d.idle > 0 {
		d.conn.SetReadDeadline(time.Now().Add(d.idle))
	}
	return d.r.Read(p)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.AddrPort()
	case *net.UDPAddr:
		return v.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
