package parse

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testcorpus"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedReceive is the receive time every golden event gets: a day after the
// newest sample, so RFC3164 year inference is exercised.
var fixedReceive = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// TestGolden parses every corpus line and compares the JSON events with
// testdata/corpus.golden.jsonl (regenerate with -update and review the diff).
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
	const golden = "testdata/corpus.golden.jsonl"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(want, out.Bytes()) {
		gl, wl := bytes.Split(out.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("golden mismatch at line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("golden mismatch: %d lines, want %d", len(gl), len(wl))
	}
}
