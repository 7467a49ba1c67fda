package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"time"
)

// On disk a record is
//
//	u32 payload length | u32 CRC-32C of the payload | payload
//
// and the payload is
//
//	i64 receive time (Unix ns) | u8 flags | u8 transport | u16 peer port |
//	[16]byte peer address | u8 listener name length | listener name | message
//
// all little endian. A record's sequence number is not stored: it is the
// segment's first sequence number plus the record's index in the segment.
const (
	recordHeader = 8
	payloadFixed = 8 + 1 + 1 + 2 + 16 + 1
	// MaxRecord bounds a payload; anything longer is corruption.
	MaxRecord = 16 << 20
)

const (
	flagTruncated = 1 << iota
	flagPeer4
	flagPeerValid
)

var transports = [...]string{"", "udp", "tcp", "tls"}

func transportCode(t string) byte {
	for i, v := range transports {
		if v == t {
			return byte(i)
		}
	}
	return 0
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one message as it was received.
type Record struct {
	Seq        uint64
	ReceivedAt time.Time
	Peer       netip.AddrPort
	Listener   string
	Transport  string
	Truncated  bool
	Data       []byte // points into the batch that holds the record
}

// appendRecord encodes one record onto buf.
func appendRecord(buf []byte, rx time.Time, peer netip.AddrPort, listener, transport string, truncated bool, data []byte) []byte {
	if len(listener) > 255 {
		listener = listener[:255]
	}
	start := len(buf)
	buf = append(buf, make([]byte, recordHeader+payloadFixed)...)
	p := buf[start+recordHeader:]
	binary.LittleEndian.PutUint64(p[0:], uint64(rx.UnixNano()))
	var flags byte
	if truncated {
		flags |= flagTruncated
	}
	if peer.IsValid() {
		flags |= flagPeerValid
		if peer.Addr().Is4() {
			flags |= flagPeer4
		}
		a := peer.Addr().As16()
		copy(p[12:28], a[:])
	}
	p[8] = flags
	p[9] = transportCode(transport)
	binary.LittleEndian.PutUint16(p[10:], peer.Port())
	p[28] = byte(len(listener))
	buf = append(buf, listener...)
	buf = append(buf, data...)
	payload := buf[start+recordHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf
}

var (
	errShort   = errors.New("record incomplete")
	errLength  = errors.New("record length out of range")
	errCRC     = errors.New("record checksum mismatch")
	errPayload = errors.New("record payload malformed")
)

// decodeRecord reads the record at the start of b. It returns the bytes
// the record takes, or errShort when b holds only part of it, or another
// error when the bytes are not a valid record. names interns listener
// names so that decoding does not allocate per record.
func decodeRecord(b []byte, r *Record, names map[string]string) (int, error) {
	if len(b) < recordHeader {
		return 0, errShort
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < payloadFixed || n > MaxRecord {
		return 0, errLength
	}
	if len(b) < recordHeader+n {
		return 0, errShort
	}
	p := b[recordHeader : recordHeader+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, errCRC
	}
	nameLen := int(p[28])
	if payloadFixed+nameLen > n || p[9] >= byte(len(transports)) {
		return 0, errPayload
	}
	r.ReceivedAt = time.Unix(0, int64(binary.LittleEndian.Uint64(p)))
	flags := p[8]
	r.Truncated = flags&flagTruncated != 0
	r.Peer = netip.AddrPort{}
	if flags&flagPeerValid != 0 {
		addr := netip.AddrFrom16([16]byte(p[12:28]))
		if flags&flagPeer4 != 0 {
			addr = addr.Unmap()
		}
		r.Peer = netip.AddrPortFrom(addr, binary.LittleEndian.Uint16(p[10:]))
	}
	r.Transport = transports[p[9]]
	name := p[payloadFixed : payloadFixed+nameLen]
	if s, ok := names[string(name)]; ok {
		r.Listener = s
	} else {
		r.Listener = string(name)
		if len(names) < 1024 {
			names[r.Listener] = r.Listener
		}
	}
	r.Data = p[payloadFixed+nameLen:]
	return recordHeader + n, nil
}
