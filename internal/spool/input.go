package spool

import (
	"net/netip"
	"time"
)

// Input is a batch of received messages as Append takes it, read in place
// (a listener's batch is one).
type Input interface {
	Len() int
	Message(i int) (data []byte, receivedAt time.Time, peer netip.AddrPort, truncated bool)
}

// Origin is where an input came from, stored with each of its records,
// and what a full spool does with it.
type Origin struct {
	Listener  string
	Transport string // "udp", "tcp" or "tls"
	WhenFull  Overflow
}

// Overflow is what Append does with an input while the spool is full
// under the block policy (drop_oldest makes room instead).
type Overflow uint8

const (
	// Wait blocks the caller until commits make room: a TCP or TLS reader
	// stops reading and its sender feels the backpressure.
	Wait Overflow = iota
	// Refuse drops the input, counted in
	// vca_collector_spool_dropped_records_total{reason="full_udp"}, and
	// returns ErrFull: a blocked UDP reader would only move the loss into
	// the kernel's buffer.
	Refuse
)
