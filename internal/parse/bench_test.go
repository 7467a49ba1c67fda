package parse

import (
	"testing"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

// Benchmark lines: a typical 8.2 L4 session line (C-01, 480 bytes) and a
// typical L7 SNI decision (L7-13, 568 bytes), both forwarded by rsyslog.
func benchLines(b *testing.B) (l4, l7, l4rfc5424 []byte) {
	return corpusLine(b, "C-01"), corpusLine(b, "L7-13"), corpusLine(b, "L4-22")
}

func benchParse(b *testing.B, line []byte) {
	p := NewParser(Options{})
	ev := &Event{ReceivedAt: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(line, ev)
	}
	if ev.Status != StatusOK {
		b.Fatalf("status %v", ev.Status)
	}
}

// BenchmarkParseL4: envelope plus every key decoded into typed fields (UUID,
// IPs, ports, uint64 counters, inner time).
func BenchmarkParseL4(b *testing.B) { l4, _, _ := benchLines(b); benchParse(b, l4) }

// BenchmarkParseL7: envelope plus the JSON object decoded into typed fields.
func BenchmarkParseL7(b *testing.B) { _, l7, _ := benchLines(b); benchParse(b, l7) }

func BenchmarkParseL4RFC5424(b *testing.B) { _, _, l := benchLines(b); benchParse(b, l) }

// BenchmarkParseCorpus cycles through every corpus line, malformed ones too.
func BenchmarkParseCorpus(b *testing.B) {
	lines := testcorpus.All()
	p := NewParser(Options{})
	ev := &Event{ReceivedAt: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(lines[i%len(lines)].Message, ev)
		i++
	}
}

func BenchmarkAppendJSONL4(b *testing.B) {
	l4, _, _ := benchLines(b)
	ev := &Event{ReceivedAt: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
	NewParser(Options{}).Parse(l4, ev)
	buf := ev.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendJSON(buf[:0])
	}
}

// go-syslog v4 on the same lines, for comparison: its envelope only (it
// does not split the KEY=VALUE body or decode the JSON).
func BenchmarkGoSyslogRFC3164L4(b *testing.B) {
	l4, _, _ := benchLines(b)
	benchGoSyslog(b, l4, rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{})))
}

func BenchmarkGoSyslogRFC3164L7(b *testing.B) {
	_, l7, _ := benchLines(b)
	benchGoSyslog(b, l7, rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{})))
}

func BenchmarkGoSyslogRFC5424L4(b *testing.B) {
	_, _, l := benchLines(b)
	benchGoSyslog(b, l, rfc5424.NewParser(rfc5424.WithBestEffort()))
}

func benchGoSyslog(b *testing.B, line []byte, m syslog.Machine) {
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseL4Cold is BenchmarkParseL4 with the per-event memo cleared
// before every message: the cost when hostname and timestamps differ from the
// previous line (a new second, another gateway).
func BenchmarkParseL4Cold(b *testing.B) {
	line, _, _ := benchLines(b)
	p := NewParser(Options{})
	ev := &Event{ReceivedAt: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
	p.Parse(line, ev)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		*ev.memoBuf = memo{}
		p.Parse(line, ev)
	}
}
