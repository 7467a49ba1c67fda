package parse

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"time"
	"unsafe"
)

// RecordDecoder reads back an event that AppendJSON wrote (a record of the
// edge collectors' stream): the raw line and its receive metadata, which
// it parses again with its Parser, so every parsed field comes out as the
// edge had it, and the enrichment, which reflects the catalog the edge had
// loaded. Other keys are skipped. It allocates only for strings it has not
// seen before (listener names, rule and group names are interned, up to a
// bound) and not for the lines themselves.
//
// A RecordDecoder is not safe for concurrent use. Events it fills point
// into the records and into its own buffer, which Reset reuses.
type RecordDecoder struct {
	p     *Parser
	buf   []byte // unescaped raw lines of the current batch
	strs  map[string]string
	lists map[string][]string
}

const maxInterned = 4096

// NewRecordDecoder parses raw lines with p, which must be configured as the
// edge's parser is (its time zone).
func NewRecordDecoder(p *Parser) *RecordDecoder {
	return &RecordDecoder{p: p, strs: map[string]string{}, lists: map[string][]string{}}
}

// Reset lets the decoder reuse the memory of the events it filled so far;
// call it once they are no longer needed (a sink copied them).
func (d *RecordDecoder) Reset() { d.buf = d.buf[:0] }

// ErrNoRawLine: a JSON object without "raw" or "raw_base64".
var ErrNoRawLine = errors.New("no raw line")

// RecordError says which key of a record was wrong.
type RecordError struct {
	Key    string
	Reason string
}

func (e *RecordError) Error() string {
	if e.Key == "" {
		return e.Reason
	}
	return e.Key + ": " + e.Reason
}

// Decode fills e from one record. e.EventID becomes the record's
// "event_id" (the edge's spool id and sequence number) when it has a valid
// one, and is kept otherwise.
func (d *RecordDecoder) Decode(data []byte, e *Event) error {
	var r record
	if err := d.readObject(data, &r); err != nil {
		return err
	}
	return d.apply(&r, e)
}

// record is what Decode reads from a record's members before it parses
// the raw line again.
type record struct {
	raw, rawB64, flags         []byte
	haveRaw, haveB64, haveID   bool
	id                         UUID
	rx                         time.Time
	listener, transport        string
	peerIP                     netip.Addr
	peerPort                   uint64
	x                          Enrichment
	tags, srcGroups, dstGroups []string
}

// readObject walks the object's members; unknown keys and nulls are
// skipped, the known ones checked for their type.
func (d *RecordDecoder) readObject(data []byte, r *record) error {
	s := jsonScanner{buf: data, out: &d.buf}
	s.ws()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return &RecordError{Reason: "not a JSON object"}
	}
	s.pos++
	for members := 0; ; members++ {
		s.ws()
		if s.pos >= len(data) {
			return &RecordError{Reason: "ends inside the object"}
		}
		if data[s.pos] == '}' && members == 0 {
			s.pos++
			break
		}
		if members > 0 {
			if data[s.pos] == '}' {
				s.pos++
				break
			}
			if data[s.pos] != ',' {
				return &RecordError{Reason: "expected , or } between members"}
			}
			s.pos++
			s.ws()
		}
		key, ok := s.str()
		if !ok {
			return &RecordError{Reason: "malformed key"}
		}
		s.ws()
		if s.pos >= len(data) || data[s.pos] != ':' {
			return &RecordError{Key: string(key), Reason: "expected :"}
		}
		s.pos++
		s.ws()
		v, ok := s.value()
		if !ok {
			return &RecordError{Key: string(key), Reason: "malformed value"}
		}
		if v.kind == 'z' {
			continue // null: as if absent
		}
		if want := d.member(key, v, r); want != "" {
			return &RecordError{Key: string(key), Reason: "not " + want}
		}
	}
	if s.ws(); s.pos < len(data) {
		return &RecordError{Reason: "data after the object"}
	}
	return nil
}

// member keeps one member's value, or returns what its type should have
// been.
func (d *RecordDecoder) member(key []byte, v jsonValue, r *record) (want string) {
	var ok bool
	switch string(key) {
	case "event_id":
		if v.kind != '"' {
			return "a string"
		}
		r.id, r.haveID = parseUUID(v.b)
	case "raw":
		if v.kind != '"' {
			return "a string"
		}
		r.raw, r.haveRaw = v.b, true
	case "raw_base64":
		if v.kind != '"' {
			return "a string"
		}
		r.rawB64, r.haveB64 = v.b, true
	case "received_at":
		t, err := time.Parse(time.RFC3339Nano, view(v.b))
		if v.kind != '"' || err != nil {
			return "an RFC 3339 time"
		}
		r.rx = t.UTC()
	case "listener":
		if r.listener, ok = d.str(v); !ok {
			return "a string"
		}
	case "transport":
		if r.transport, ok = d.str(v); !ok {
			return "a string"
		}
	case "peer_ip":
		a, err := netip.ParseAddr(view(v.b))
		if v.kind != '"' || err != nil {
			return "an IP address"
		}
		r.peerIP = a
	case "peer_port":
		if r.peerPort, ok = v.uint(65535); !ok || v.kind != 'n' {
			return "a port number"
		}
	case "flags":
		if v.kind != '{' || v.b[0] != '[' {
			return "an array"
		}
		r.flags = v.b
	default:
		return d.enrichment(key, v, r)
	}
	return ""
}

// enrichment keeps a member the catalog added; Decode sets them on the
// event only when catalog_version says there was a catalog.
func (d *RecordDecoder) enrichment(key []byte, v jsonValue, r *record) (want string) {
	x := &r.x
	switch string(key) {
	case "rule_name", "rule_action", "scenario", "web_group", "admitting_web_group", "catalog_version", "src_workload":
		str, ok := d.str(v)
		if !ok {
			return "a string"
		}
		switch string(key) {
		case "rule_name":
			x.RuleName = str
		case "rule_action":
			x.RuleAction = str
		case "scenario":
			x.Scenario = str
		case "web_group":
			x.WebGroup = str
		case "admitting_web_group":
			x.AdmittingWebGroup = str
		case "catalog_version":
			x.CatalogVersion = str
		case "src_workload":
			x.SrcWorkload = str
		}
	case "rule_priority":
		n, ok := v.uint(1<<32 - 1)
		if !ok || v.kind != 'n' {
			return "a number"
		}
		x.RulePriority = uint32(n)
	case "would_be_denied":
		if v.kind != 't' && v.kind != 'f' {
			return "true or false"
		}
		x.WouldBeDenied = v.kind == 't'
	case "rule_tags", "src_groups", "dst_groups":
		list, ok := d.list(v)
		if !ok {
			return "an array of strings"
		}
		switch string(key) {
		case "rule_tags":
			r.tags = list
		case "src_groups":
			r.srcGroups = list
		case "dst_groups":
			r.dstGroups = list
		}
	}
	return ""
}

// apply parses the raw line into e and sets on it what the record says of
// how it was received and enriched.
func (d *RecordDecoder) apply(r *record, e *Event) error {
	raw := r.raw
	if r.haveB64 {
		from := len(d.buf)
		var err error
		if d.buf, err = base64.StdEncoding.AppendDecode(d.buf, r.rawB64); err != nil {
			return &RecordError{Key: "raw_base64", Reason: "not base64"}
		}
		raw = d.buf[from:len(d.buf):len(d.buf)]
	} else if !r.haveRaw {
		return ErrNoRawLine
	}
	e.ReceivedAt, e.Listener, e.Transport = r.rx, r.listener, r.transport
	e.Peer = netip.AddrPort{}
	if r.peerIP.IsValid() {
		e.Peer = netip.AddrPortFrom(r.peerIP, uint16(r.peerPort))
	}
	if r.haveID {
		e.EventID = r.id
	}
	d.p.Parse(raw, e)
	if bytes.Contains(r.flags, []byte(`"listener_truncated"`)) {
		e.MarkTruncated()
	}
	if r.x.CatalogVersion != "" {
		r.x.Tags, r.x.SrcGroups, r.x.DstGroups = r.tags, r.srcGroups, r.dstGroups
		e.Enriched = r.x
	}
	return nil
}

// view is b as a string without a copy, for a call that does not keep it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// str interns a string value.
func (d *RecordDecoder) str(v jsonValue) (string, bool) {
	if v.kind != '"' {
		return "", false
	}
	if s, ok := d.strs[view(v.b)]; ok {
		return s, true
	}
	s := string(v.b)
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s, true
}

// list interns an array of strings, keyed by its text. Catalog lists are
// shared and never modified, so events may share them.
func (d *RecordDecoder) list(v jsonValue) ([]string, bool) {
	if v.kind != '{' || v.b[0] != '[' {
		return nil, false
	}
	if l, ok := d.lists[view(v.b)]; ok {
		return l, true
	}
	var scratch []byte
	s := jsonScanner{buf: v.b, pos: 1, out: &scratch}
	out := []string{}
	for {
		s.ws()
		if s.pos < len(s.buf) && s.buf[s.pos] == ']' && len(out) == 0 {
			break
		}
		str, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, string(str))
		s.ws()
		if s.pos >= len(s.buf) {
			return nil, false
		}
		if s.buf[s.pos] == ']' {
			break
		}
		if s.buf[s.pos] != ',' {
			return nil, false
		}
		s.pos++
	}
	if len(d.lists) < maxInterned {
		d.lists[string(v.b)] = out
	}
	return out, true
}
