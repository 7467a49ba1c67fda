package stream

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

// events parses and enriches every corpus line and an hour of simulated
// fleet traffic, as an edge collector would.
func events(t testing.TB) []parse.Event {
	t.Helper()
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.json")
	if err := os.WriteFile(cat, gatewaysim.CatalogJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	en, err := enrich.New(enrich.Config{File: cat}, prometheus.NewRegistry(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range testcorpus.All() {
		lines = append(lines, l.Message)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	err = gatewaysim.Generate(gatewaysim.Options{Start: start, Duration: time.Hour, Seed: 7}, func(l gatewaysim.Line) error {
		lines = append(lines, bytes.Clone(l.Text))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, []byte("<14>Nov 20 10:00:00 gw \xff\xfe not utf-8\n"), []byte("garbage without a header"))
	p := parse.NewParser(parse.Options{})
	out := make([]parse.Event, len(lines))
	for i, raw := range lines {
		e := &out[i]
		e.EventID[0], e.EventID[15] = byte(i>>8), byte(i)
		e.ReceivedAt, e.Listener, e.Transport = start.Add(time.Duration(i)*time.Millisecond+123456), "tls", "tls"
		p.Parse(raw, e)
		if i%97 == 0 {
			e.MarkTruncated()
		}
	}
	en.EnrichBatch(out)
	return out
}

// A writer rebuilds from a record exactly the event the edge produced it
// from: re-encoding gives the same bytes.
func TestRecordRoundTrip(t *testing.T) {
	evs := events(t)
	dec := NewDecoder(parse.NewParser(parse.Options{}))
	var enriched, truncated int
	for i := range evs {
		want := AppendValue(nil, &evs[i])
		var got parse.Event
		got.EventID = evs[i].EventID
		if !dec.Decode(want, time.Time{}, &got) {
			t.Fatalf("event %d: not decoded: %s", i, got.AppendError(nil))
		}
		if again := AppendValue(nil, &got); !bytes.Equal(again, want) {
			t.Fatalf("event %d differs after the round trip:\nedge:   %s\nwriter: %s", i, want, again)
		}
		if got.Enriched.RuleName != "" {
			enriched++
		}
		if got.Flags&parse.FlagListenerTruncated != 0 {
			truncated++
		}
	}
	if enriched < len(evs)/2 || truncated == 0 {
		t.Fatalf("the round trip covered %d enriched and %d truncated events of %d", enriched, truncated, len(evs))
	}
	t.Logf("%d events, %d enriched, %d truncated", len(evs), enriched, truncated)
}

func TestKeyIsTheGateway(t *testing.T) {
	evs := events(t)
	for i := range evs {
		e := &evs[i]
		k := string(AppendKey(nil, e))
		switch {
		case len(e.Gateway) > 0 && k != string(e.Gateway):
			t.Fatalf("event %d: key %q, gateway %q", i, k, e.Gateway)
		case len(e.Gateway) == 0 && len(e.Hostname) > 0 && k != string(e.Hostname):
			t.Fatalf("event %d: key %q, hostname %q", i, k, e.Hostname)
		}
	}
}

// Records that are not collector events are kept whole as failed events.
func TestUndecodableRecordsAreKept(t *testing.T) {
	dec := NewDecoder(parse.NewParser(parse.Options{}))
	for _, tt := range []struct{ value, why string }{
		{`not json`, "not a JSON object"},
		{`{"event_id":"x"}`, "no raw line"},
		{`{"raw": 7}`, "raw: not a string"},
		{`{"raw":"<14>x","received_at":"yesterday"}`, "received_at: not an RFC 3339 time"},
		{``, "not a JSON object"},
		{`{"raw":"<14>x"} {}`, "data after the object"},
		{`{"raw":"<14>x","raw_base64":"!!"}`, "raw_base64: not base64"},
		{`{"raw":"<14>x","src_groups":["a",1]}`, "src_groups: not an array of strings"},
		{`{"raw":"<14>x"`, "ends inside the object"},
	} {
		var e parse.Event
		e.EventID[15] = 9
		at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		if dec.Decode([]byte(tt.value), at, &e) {
			t.Errorf("%q decoded", tt.value)
			continue
		}
		if e.Status != parse.StatusFailed || string(e.Raw) != tt.value || e.EventID[15] != 9 ||
			!bytes.Contains(e.AppendError(nil), []byte(tt.why)) {
			t.Errorf("%q: status %v, raw %q, error %q; want failed, the value whole, and %q", tt.value, e.Status, e.Raw, e.AppendError(nil), tt.why)
		}
		if !e.ReceivedAt.Equal(at) {
			t.Errorf("%q: received_at %v, want the record's time", tt.value, e.ReceivedAt)
		}
		if e.Reason.Label() != "not_event" {
			t.Errorf("%q: reason %q", tt.value, e.Reason.Label())
		}
	}
}

func FuzzDecode(f *testing.F) {
	for i, e := range events(f) {
		if i%50 == 0 {
			f.Add(AppendValue(nil, &e))
		}
	}
	f.Add([]byte(`{"raw":"x","raw_base64":"!!"}`))
	f.Add([]byte(`{"raw":"<14>a b","peer_ip":"::1","peer_port":70000}`))
	dec := NewDecoder(parse.NewParser(parse.Options{}))
	oracle := parse.NewParser(parse.Options{})
	f.Fuzz(func(t *testing.T, value []byte) {
		dec.Reset()
		var e parse.Event
		if !dec.Decode(value, time.Time{}, &e) {
			if e.Status != parse.StatusFailed || !bytes.Equal(e.Raw, value) {
				t.Fatalf("undecodable record not kept whole: status %v", e.Status)
			}
			return
		}
		// What the hand-written decoder accepts, encoding/json reads the
		// same way, where their rules agree: keys match exactly here and
		// case-insensitively there, null is "absent" here, and invalid UTF-8
		// is kept here and replaced there.
		var w wireEvent
		comparable := utf8.Valid(value) && !bytes.Contains(value, []byte("null")) && exactKeys(value)
		if comparable && json.Unmarshal(value, &w) == nil && (w.Raw != nil || w.RawBase64 != nil) {
			var o parse.Event
			w.fill(oracle, &o)
			if a, b := AppendValue(nil, &e), AppendValue(nil, &o); !bytes.Equal(a, b) {
				t.Fatalf("decoders disagree on %q:\nhand:          %s\nencoding/json: %s", value, a, b)
			}
		}
		// A decoded record re-encodes and decodes to the same event: the
		// encoding is a fixed point from the second round on (the first may
		// turn an invalid UTF-8 byte's "\ufffd" escape into the character).
		round := func(in []byte) []byte {
			var again parse.Event
			if !dec.Decode(in, time.Time{}, &again) {
				t.Fatalf("re-encoded record does not decode: %s", in)
			}
			return AppendValue(nil, &again)
		}
		twice := round(AppendValue(nil, &e))
		if thrice := round(twice); !bytes.Equal(twice, thrice) {
			t.Fatalf("not stable:\n%s\n%s", twice, thrice)
		}
	})
}

// wireEvent is the reference decoding, with encoding/json, of what a
// writer reads from a record.
type wireEvent struct {
	EventID           string    `json:"event_id"`
	ReceivedAt        time.Time `json:"received_at"`
	Listener          string    `json:"listener"`
	Transport         string    `json:"transport"`
	PeerIP            string    `json:"peer_ip"`
	PeerPort          uint16    `json:"peer_port"`
	Flags             []string  `json:"flags"`
	Raw               *string   `json:"raw"`
	RawBase64         []byte    `json:"raw_base64"`
	RuleName          string    `json:"rule_name"`
	RulePriority      uint32    `json:"rule_priority"`
	RuleAction        string    `json:"rule_action"`
	Scenario          string    `json:"scenario"`
	RuleTags          []string  `json:"rule_tags"`
	SrcGroups         []string  `json:"src_groups"`
	DstGroups         []string  `json:"dst_groups"`
	WebGroup          string    `json:"web_group"`
	AdmittingWebGroup string    `json:"admitting_web_group"`
	WouldBeDenied     bool      `json:"would_be_denied"`
	CatalogVersion    string    `json:"catalog_version"`
}

func (w *wireEvent) fill(p *parse.Parser, e *parse.Event) {
	raw := w.RawBase64
	if raw == nil {
		raw = []byte(*w.Raw)
	}
	if id, ok := parse.ParseUUID(w.EventID); ok {
		e.EventID = id
	}
	e.ReceivedAt, e.Listener, e.Transport = w.ReceivedAt.UTC(), w.Listener, w.Transport
	if ip, err := netip.ParseAddr(w.PeerIP); err == nil {
		e.Peer = netip.AddrPortFrom(ip, w.PeerPort)
	}
	p.Parse(raw, e)
	if slices.Contains(w.Flags, "listener_truncated") {
		e.MarkTruncated()
	}
	if w.CatalogVersion != "" {
		e.Enriched = parse.Enrichment{
			CatalogVersion: w.CatalogVersion, RuleName: w.RuleName, RulePriority: w.RulePriority,
			RuleAction: w.RuleAction, Scenario: w.Scenario, Tags: w.RuleTags, SrcGroups: w.SrcGroups,
			DstGroups: w.DstGroups, WebGroup: w.WebGroup, AdmittingWebGroup: w.AdmittingWebGroup,
			WouldBeDenied: w.WouldBeDenied,
		}
	}
}

// exactKeys reports whether every top-level key of the object is spelled
// either exactly as a wireEvent key or unlike any of them.
func exactKeys(value []byte) bool {
	known := map[string]bool{}
	for f := range reflect.TypeFor[wireEvent]().Fields() {
		known[f.Tag.Get("json")] = true
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		for name := range known {
			if strings.EqualFold(k, name) && k != name {
				return false
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return true
}

// BenchmarkDecode reads the simulated fleet's records back, as a writer
// does: the hand-written decoder and the parse of the raw line.
func BenchmarkDecode(b *testing.B) {
	evs := events(b)
	values := make([][]byte, len(evs))
	var size int
	for i := range evs {
		values[i] = AppendValue(nil, &evs[i])
		size += len(values[i])
	}
	dec := NewDecoder(parse.NewParser(parse.Options{}))
	var e parse.Event
	b.SetBytes(int64(size / len(values)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%1000 == 0 {
			dec.Reset()
		}
		dec.Decode(values[i%len(values)], time.Time{}, &e)
	}
}

// BenchmarkEncode writes records as the edge does.
func BenchmarkEncode(b *testing.B) {
	evs := events(b)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		buf = AppendValue(buf[:0], &evs[i%len(evs)])
	}
}
