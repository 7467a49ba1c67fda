package parse

import (
	"bytes"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

// fixedReceive is the receive time every golden event gets: a day after the
// newest sample, so RFC3164 year inference is exercised.
var fixedReceive = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// TestGolden parses every corpus line and compares the JSON events with
// testdata/corpus.golden.jsonl (UPDATE_GOLDEN=1 rewrites it; review the diff).
func TestGolden(t *testing.T) {
	p := NewParser(Options{})
	var out bytes.Buffer
	var ev Event
	for i, l := range testcorpus.All() {
		ev.ReceivedAt = fixedReceive
		ev.EventID = UUID{15: byte(i)}
		p.Parse(l.Message, &ev)
		out.WriteString(`{"label":"` + l.Label + `","event":`)
		out.Write(ev.AppendJSON(nil))
		out.WriteString("}\n")
	}
	golden.Check(t, "testdata/corpus.golden.jsonl", out.Bytes())
}
