package listen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// UDPServer reads datagrams with several SO_REUSEPORT sockets, each drained
// by its own goroutine with recvmmsg batches.
type UDPServer struct {
	cfg     UDPConfig
	src     *Source
	handler Handler
	metrics *Metrics
	log     zerolog.Logger

	conns      []*net.UDPConn
	inodes     []uint64
	rcvbuf     int // effective SO_RCVBUF, as the kernel reports it
	closing    atomic.Bool
	wg         sync.WaitGroup
	notAllowed prometheus.Counter
}

// NewUDPServer binds cfg.Readers sockets to one address.
func NewUDPServer(cfg UDPConfig, h Handler, m *Metrics, log zerolog.Logger) (*UDPServer, error) {
	s := &UDPServer{cfg: cfg, handler: h, metrics: m, src: &Source{Listener: cfg.Name, Transport: "udp"},
		log: log.With().Str("listener", cfg.Name).Logger()}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if serr != nil {
				return
			}
			// SO_RCVBUFFORCE passes net.core.rmem_max when privileged;
			// otherwise the kernel caps SO_RCVBUF there.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, int(cfg.ReceiveBuffer)) != nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, int(cfg.ReceiveBuffer))
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	addr := cfg.Address
	for i := 0; i < cfg.Readers; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			s.closeConns()
			return nil, err
		}
		c := pc.(*net.UDPConn)
		s.conns = append(s.conns, c)
		if i == 0 {
			addr = c.LocalAddr().String() // later readers share the bound port
			s.rcvbuf = effectiveRcvbuf(c)
		}
		s.inodes = append(s.inodes, socketInode(c))
	}
	if s.rcvbuf < int(cfg.ReceiveBuffer) {
		s.log.Warn().Int("requested", int(cfg.ReceiveBuffer)).Int("effective", s.rcvbuf).
			Msg("receive buffer smaller than configured; raise net.core.rmem_max or run with CAP_NET_ADMIN")
	}
	if m.reg != nil {
		labels := prometheus.Labels{"listener": cfg.Name}
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vca_collector_udp_kernel_drops_total", ConstLabels: labels,
			Help: "Datagrams the kernel dropped because this listener's receive buffers were full (from /proc/net/udp).",
		}, func() float64 { return float64(s.KernelDrops()) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vca_collector_udp_receive_buffer_bytes", ConstLabels: labels,
			Help: "Effective SO_RCVBUF of each UDP socket, as the kernel reports it.",
		}, func() float64 { return float64(s.rcvbuf) }))
	}
	s.notAllowed = m.rejected.WithLabelValues(cfg.Name, "not_allowed")
	return s, nil
}

// Addr is the bound address.
func (s *UDPServer) Addr() net.Addr { return s.conns[0].LocalAddr() }

// ReceiveBuffer is the effective SO_RCVBUF per socket.
func (s *UDPServer) ReceiveBuffer() int { return s.rcvbuf }

// Serve runs one reader per socket until Close.
func (s *UDPServer) Serve() error {
	for _, c := range s.conns {
		s.wg.Add(1)
		go s.read(c)
	}
	s.wg.Wait()
	return nil
}

type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

type v6Reader struct{ *ipv6.PacketConn }

func (r v6Reader) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	return r.PacketConn.ReadBatch(ms, flags)
}

func (s *UDPServer) read(c *net.UDPConn) {
	defer s.wg.Done()
	var br batchReader
	if la := c.LocalAddr().(*net.UDPAddr); la.IP.To4() != nil {
		br = ipv4.NewPacketConn(c)
	} else {
		br = v6Reader{ipv6.NewPacketConn(c)}
	}
	max := int(s.cfg.MaxMessageSize)
	msgs := make([]ipv4.Message, s.cfg.BatchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, max+1)} // one spare byte detects oversize
	}
	for {
		n, err := br.ReadBatch(msgs, 0)
		if err != nil {
			if s.closing.Load() {
				return
			}
			s.log.Error().Err(err).Msg("UDP read failed")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		now := time.Now()
		b := NewBatch(s.src)
		for i := 0; i < n; i++ {
			m := &msgs[i]
			peer := addrPortOf(m.Addr)
			if !allowed(s.cfg.AllowedCIDRs, peer.Addr()) {
				s.notAllowed.Inc()
				continue
			}
			data, truncated := m.Buffers[0][:m.N], false
			if m.N > max {
				data, truncated = data[:max], true
			}
			data = trimTrailer(data)
			if len(data) == 0 {
				continue
			}
			if !b.Add(data, now, peer, truncated) {
				s.metrics.count(s.src, b)
				s.handler.HandleBatch(b)
				b = NewBatch(s.src)
				b.Add(data, now, peer, truncated)
			}
		}
		if b.Len() == 0 {
			b.Release()
			continue
		}
		s.metrics.count(s.src, b)
		s.handler.HandleBatch(b)
	}
}

// Close stops the readers after the batch each is handing on.
func (s *UDPServer) Close() error {
	s.closing.Store(true)
	s.closeConns()
	s.wg.Wait()
	return nil
}

func (s *UDPServer) closeConns() {
	for _, c := range s.conns {
		c.Close()
	}
}

// KernelDrops sums the kernel's drop counters of this listener's sockets.
func (s *UDPServer) KernelDrops() uint64 {
	var total uint64
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		d, err := procUDPDrops(f, s.inodes)
		if err == nil {
			total += d
		}
	}
	return total
}

// procUDPDrops reads the "drops" column of the sockets with the given inodes.
func procUDPDrops(path string, inodes []uint64) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	want := make(map[uint64]bool, len(inodes))
	for _, in := range inodes {
		want[in] = true
	}
	var total uint64
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 13 {
			continue
		}
		inode, err1 := strconv.ParseUint(fields[9], 10, 64)
		drops, err2 := strconv.ParseUint(fields[12], 10, 64)
		if err1 == nil && err2 == nil && want[inode] {
			total += drops
		}
	}
	return total, sc.Err()
}

func socketInode(c *net.UDPConn) uint64 {
	var inode uint64
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			var st unix.Stat_t
			if unix.Fstat(int(fd), &st) == nil {
				inode = st.Ino
			}
		})
	}
	return inode
}

func effectiveRcvbuf(c *net.UDPConn) int {
	v := 0
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			v, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		})
	}
	// Linux reports double the requested size (it counts bookkeeping).
	return v / 2
}

func (s *UDPServer) String() string { return fmt.Sprintf("udp %s x%d", s.Addr(), len(s.conns)) }

// Source describes this listener.
func (s *UDPServer) Source() *Source { return s.src }
