package parse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

var fuzzRx = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// checkInvariants holds for any input: the raw line is kept, the JSON
// event is valid JSON, and a failed parse says why.
func checkInvariants(t *testing.T, in []byte, ev *Event) {
	t.Helper()
	if !bytes.Equal(ev.Raw, in) {
		t.Fatal("raw line not kept")
	}
	out := ev.AppendJSON(nil)
	if !json.Valid(out) {
		t.Fatalf("invalid JSON for %q: %s", in, out)
	}
	if ev.Status != StatusOK && ev.Reason == ReasonNone {
		t.Fatalf("status %v without a reason for %q", ev.Status, in)
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, l := range testcorpus.All() {
		f.Add(l.Message)
	}
	f.Add([]byte("<0>Jan  1 00:00:00 h a: m"))
	f.Add([]byte("<191>1 - - - - - -"))
	p := NewParser(Options{})
	f.Fuzz(func(t *testing.T, in []byte) {
		ev := &Event{ReceivedAt: fuzzRx}
		p.Parse(in, ev)
		checkInvariants(t, in, ev)
		hdr := &Event{ReceivedAt: fuzzRx}
		p.envelopeOnly(in, hdr)
		if hdr.Status == StatusOK {
			if d := oracleDisagreement(trimTrailer(in), hdr); d != "" {
				t.Fatalf("fast path and go-syslog disagree on %q: %s", in, d)
			}
		}
	})
}

const l4Header = "<158>Mar 14 09:07:40 GW-prod-use1-spoke1-3.91.10.20-sink /usr/local/bin/avx-gw-state-sync 2026/03/14 09:07:40 AviatrixGwMicrosegPacket: "

func FuzzL4(f *testing.F) {
	for _, l := range testcorpus.All() {
		if i := bytes.Index(l.Message, []byte("AviatrixGwMicrosegPacket: ")); i >= 0 {
			f.Add(l.Message[i+len("AviatrixGwMicrosegPacket: "):])
		}
	}
	p := NewParser(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		in := append([]byte(l4Header), body...)
		ev := &Event{ReceivedAt: fuzzRx}
		p.Parse(in, ev)
		checkInvariants(t, in, ev)
		if ev.Kind != KindL4 {
			t.Fatalf("kind %v for an L4 keyword line", ev.Kind)
		}
	})
}

const l7Header = "<153>Mar 14 10:00:01 GW-prod-use1-spoke1-3.91.10.20-sink traffic_server[4410]: "

// FuzzL7 also checks the hand-written JSON scanner against encoding/json:
// for a valid flat object, the typed fields must equal the decoded values.
func FuzzL7(f *testing.F) {
	for _, l := range testcorpus.All() {
		if i := bytes.Index(l.Message, []byte(": {")); i >= 0 {
			f.Add(l.Message[i+2:])
		}
	}
	p := NewParser(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		in := append([]byte(l7Header), body...)
		ev := &Event{ReceivedAt: fuzzRx}
		p.Parse(in, ev)
		checkInvariants(t, in, ev)
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&obj) != nil || dec.More() || ev.Kind != KindL7 || ev.Status != StatusOK {
			return
		}
		// encoding/json turns invalid UTF-8 into U+FFFD; the parser keeps
		// the bytes the gateway sent.
		if s, ok := obj["sni_hostname"].(string); ok && s != string(ev.SNI) && !bytes.ContainsRune(body, '\\') && utf8.Valid(body) {
			t.Fatalf("sni %q, encoding/json says %q", ev.SNI, s)
		}
		if n, ok := obj["dest_port"].(json.Number); ok && ev.Has&HasDstPort != 0 && n.String() != itoa(int64(ev.DstPort)) {
			t.Fatalf("dest_port %d, encoding/json says %s", ev.DstPort, n)
		}
		if n, ok := obj["session_start"].(json.Number); ok && ev.Has&HasSessionStart != 0 && n.String() != itoa(ev.SessionStart) {
			t.Fatalf("session_start %d, encoding/json says %s", ev.SessionStart, n)
		}
	})
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func FuzzFQDN(f *testing.F) {
	for _, l := range testcorpus.All() {
		if i := bytes.Index(l.Message, []byte("avx-nfq: ")); i >= 0 {
			f.Add(l.Message[i+len("avx-nfq: "):])
		}
	}
	p := NewParser(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		in := append([]byte("<10>Mar 14 11:00:01 GW-egress-gw-1-54.10.20.30 avx-nfq: "), body...)
		ev := &Event{ReceivedAt: fuzzRx}
		p.Parse(in, ev)
		checkInvariants(t, in, ev)
	})
}

// FuzzAlert feeds Suricata EVE bodies; where encoding/json reads the same
// object as a complete alert, the typed fields must agree with it.
func FuzzAlert(f *testing.F) {
	for _, l := range testcorpus.All() {
		if i := bytes.Index(l.Message, []byte("suricata[4]: ")); i >= 0 {
			f.Add(l.Message[i+len("suricata[4]: "):])
		}
	}
	p := NewParser(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		in := append([]byte("<174>Mar 14 09:10:03 GW-prod-use1-spoke1-3.91.10.20-sink suricata[4]: "), body...)
		ev := &Event{ReceivedAt: fuzzRx}
		p.Parse(in, ev)
		checkInvariants(t, in, ev)
		var obj struct {
			EventType string      `json:"event_type"`
			FlowID    json.Number `json:"flow_id"`
			DestPort  json.Number `json:"dest_port"`
			Alert     struct {
				SignatureID json.Number `json:"signature_id"`
				Signature   string      `json:"signature"`
				Severity    json.Number `json:"severity"`
			} `json:"alert"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&obj) != nil || dec.More() {
			return
		}
		if obj.EventType != "alert" && ev.Kind == KindAlert {
			t.Fatalf("event_type %q taken for an alert", obj.EventType)
		}
		if ev.Kind != KindAlert || ev.Status != StatusOK || bytes.ContainsRune(body, '\\') || !utf8.Valid(body) {
			return
		}
		if obj.Alert.SignatureID.String() != string(ev.SignatureID) {
			t.Fatalf("signature_id %q, encoding/json says %s", ev.SignatureID, obj.Alert.SignatureID)
		}
		if obj.Alert.Signature != string(ev.AlertSignature) {
			t.Fatalf("signature %q, encoding/json says %q", ev.AlertSignature, obj.Alert.Signature)
		}
		if n := obj.FlowID.String(); n != "" && ev.Has&HasFlowID != 0 && n != strconv.FormatUint(ev.FlowID, 10) {
			t.Fatalf("flow_id %d, encoding/json says %s", ev.FlowID, n)
		}
		if n := obj.DestPort.String(); n != "" && ev.Has&HasDstPort != 0 && n != itoa(int64(ev.DstPort)) {
			t.Fatalf("dest_port %d, encoding/json says %s", ev.DstPort, n)
		}
	})
}
