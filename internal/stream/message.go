package stream

import (
	"net/netip"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// AppendKey appends the record key of an event: the gateway that logged
// it, else its syslog hostname, else the address it came from. Records of
// one gateway share a partition, so a writer sees them in order.
func AppendKey(dst []byte, e *parse.Event) []byte {
	switch {
	case len(e.Gateway) > 0:
		return append(dst, e.Gateway...)
	case len(e.Hostname) > 0:
		return append(dst, e.Hostname...)
	case e.Peer.IsValid():
		return e.Peer.Addr().AppendTo(dst)
	}
	return dst
}

// AppendValue appends the record value: the event as the collector's JSON
// object (parse.Event.AppendJSON), whose keys are the audit store's column
// names, so ClickHouse's Kafka engine reads it with JSONEachRow.
func AppendValue(dst []byte, e *parse.Event) []byte { return e.AppendJSON(dst) }

// Decoder turns records back into events (see parse.RecordDecoder). It is
// not safe for concurrent use; each partition has its own.
type Decoder struct{ rd *parse.RecordDecoder }

// NewDecoder parses raw lines with p, which must be configured as the
// edge's parser is (its time zone).
func NewDecoder(p *parse.Parser) *Decoder { return &Decoder{rd: parse.NewRecordDecoder(p)} }

// Reset reuses the memory of the events decoded so far; call it when a
// batch of them has been handed to the sink.
func (d *Decoder) Reset() { d.rd.Reset() }

// Decode fills e from one record value; e.EventID is the record's own
// event id when it carries one (see parse.RecordDecoder) and is kept
// otherwise. A value that is not a collector event becomes a failed event,
// received at the record's time at, that keeps the value whole as its raw
// line, so it lands in raw_unparsed instead of vanishing; Decode reports
// whether the value was an event.
func (d *Decoder) Decode(value []byte, at time.Time, e *parse.Event) bool {
	if err := d.rd.Decode(value, e); err != nil {
		e.ReceivedAt, e.Listener, e.Transport, e.Peer = at.UTC(), "stream", "kafka", netip.AddrPort{}
		e.SetUndecodable(value, []byte(err.Error()))
		return false
	}
	return true
}
