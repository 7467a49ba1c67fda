// Package listen receives syslog from the network: UDP with several
// SO_REUSEPORT readers and recvmmsg batches, TCP and TLS (RFC 5425) with
// octet-counted or LF framing detected per frame, size limits, source
// allow-lists, connection limits and idle timeouts. Listeners hand batches of
// raw messages to a Handler and block while it is busy, which is how
// backpressure reaches TCP senders.
package listen

import (
	"net/netip"
	"sync"
	"time"
)

// Source names where a batch came from.
type Source struct {
	Listener  string // the configured listener name
	Transport string // "udp", "tcp" or "tls"
}

// Backpressure reports whether a reader that waits slows its sender down:
// a TCP or TLS sender stops writing, while UDP datagrams pile up in the
// kernel's buffer and overflow there.
func (s *Source) Backpressure() bool { return s.Transport != "udp" }

// Message is one received syslog message. Data points into its batch.
type Message struct {
	Data       []byte
	ReceivedAt time.Time
	Peer       netip.AddrPort
	Truncated  bool // cut at the listener's size limit
}

// Batch is a group of messages from one listener. The receiver of a batch
// owns it and must call Release when done with every Data slice.
type Batch struct {
	Source *Source
	Msgs   []Message
	buf    []byte
}

// Handler takes batches from listeners. HandleBatch may block: a full
// pipeline stops TCP readers (senders see backpressure) and leaves UDP
// datagrams in the kernel buffer, where overflow is counted.
type Handler interface {
	HandleBatch(*Batch)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(*Batch)

func (f HandlerFunc) HandleBatch(b *Batch) { f(b) }

const (
	batchBytes    = 256 << 10
	batchMessages = 1024
)

var batchPool = sync.Pool{New: func() any {
	return &Batch{buf: make([]byte, 0, batchBytes), Msgs: make([]Message, 0, batchMessages)}
}}

// NewBatch returns an empty batch from the pool.
func NewBatch(src *Source) *Batch {
	b := batchPool.Get().(*Batch)
	b.Source = src
	return b
}

// Add copies data into the batch. It returns false, adding nothing, when
// the batch is full; a message larger than an empty batch's buffer is
// accepted on its own.
func (b *Batch) Add(data []byte, rx time.Time, peer netip.AddrPort, truncated bool) bool {
	if len(b.Msgs) > 0 && (len(b.Msgs) >= batchMessages || len(b.buf)+len(data) > cap(b.buf)) {
		return false
	}
	if len(b.buf)+len(data) > cap(b.buf) {
		b.buf = make([]byte, 0, len(data))
	}
	start := len(b.buf)
	b.buf = append(b.buf, data...)
	b.Msgs = append(b.Msgs, Message{Data: b.buf[start:len(b.buf):len(b.buf)], ReceivedAt: rx, Peer: peer, Truncated: truncated})
	return true
}

// Len is the number of messages.
func (b *Batch) Len() int { return len(b.Msgs) }

// Message returns the i-th message's fields (spool.Input reads a batch
// through it).
func (b *Batch) Message(i int) (data []byte, receivedAt time.Time, peer netip.AddrPort, truncated bool) {
	m := &b.Msgs[i]
	return m.Data, m.ReceivedAt, m.Peer, m.Truncated
}

// Release returns the batch to the pool.
func (b *Batch) Release() {
	if cap(b.buf) > 4*batchBytes {
		b.buf = make([]byte, 0, batchBytes) // do not keep a giant buffer
	}
	clear(b.Msgs)
	b.Msgs, b.buf, b.Source = b.Msgs[:0], b.buf[:0], nil
	batchPool.Put(b)
}
