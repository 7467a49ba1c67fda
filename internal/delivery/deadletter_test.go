package delivery

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDeadLetterWrite(t *testing.T) {
	type line struct {
		Sink   string         `json:"sink"`
		Error  string         `json:"error"`
		Table  string         `json:"table"`
		Record map[string]any `json:"record"`
	}
	for _, tc := range []struct {
		name    string
		letters []Letter
		want    []line
	}{
		{"one line per letter, in order, with the cause on each", []Letter{
			{Table: "dcf_events", Record: map[string]any{"event_id": "a", "dst_port": 443}},
			{Table: "raw_unparsed", Record: map[string]any{"event_id": "b"}},
		}, []line{
			{"clickhouse", "no such column payload", "dcf_events", map[string]any{"event_id": "a", "dst_port": float64(443)}},
			{"clickhouse", "no such column payload", "raw_unparsed", map[string]any{"event_id": "b"}},
		}},
		{"an empty refusal still leaves a file", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dead-letter") // created on first use
			reg := prometheus.NewRegistry()
			d := NewDeadLetter(dir, reg)
			path, err := d.Write("clickhouse", "0123abcd", errors.New("no such column payload"), tc.letters)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), "clickhouse-") || !strings.HasSuffix(path, "-0123abcd.jsonl") {
				t.Errorf("file %s, want %s/clickhouse-<time>-0123abcd.jsonl", path, dir)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []line
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var l line
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("line %d is not JSON: %v: %s", len(got)+1, err, sc.Bytes())
				}
				got = append(got, l)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines, want %d", len(got), len(tc.want))
			}
			for i := range got {
				g, _ := json.Marshal(got[i])
				w, _ := json.Marshal(tc.want[i])
				if string(g) != string(w) {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
				}
			}
			if v := testutil.ToFloat64(d.lettered.WithLabelValues("clickhouse")); v != float64(len(tc.letters)) {
				t.Errorf("counted %v dead-lettered events, want %d", v, len(tc.letters))
			}
		})
	}
}

// Two refusals never share a file, even with the same tag in the same
// instant: the second one fails rather than overwrite the first.
func TestDeadLetterNeverOverwrites(t *testing.T) {
	d := NewDeadLetter(t.TempDir(), nil)
	seen := map[string]bool{}
	for i := range 50 {
		path, err := d.Write("clickhouse", "same", errors.New("refused"), []Letter{{Table: "t", Record: i}})
		if err != nil {
			if !errors.Is(err, os.ErrExist) {
				t.Fatalf("write %d: %v", i, err)
			}
			continue
		}
		if seen[path] {
			t.Fatalf("write %d reused %s", i, path)
		}
		seen[path] = true
	}
	files, _ := filepath.Glob(filepath.Join(d.Dir(), "*.jsonl"))
	if len(files) != len(seen) {
		t.Fatalf("%d files for %d successful writes", len(files), len(seen))
	}
}

func TestDeadLetterUnwritable(t *testing.T) {
	parent := t.TempDir()
	blocker := filepath.Join(parent, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		letters   []Letter
	}{
		{"the directory cannot be created", filepath.Join(blocker, "dead-letter"), []Letter{{Table: "t", Record: 1}}},
		{"a record cannot be encoded", parent, []Letter{{Table: "t", Record: func() {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDeadLetter(tc.dir, nil)
			if _, err := d.Write("clickhouse", "x", errors.New("refused"), tc.letters); err == nil {
				t.Fatal("Write reported success; the records would be committed without being set aside")
			}
		})
	}
}

// Every sink shares one metric: a second dead-letter writer on the same
// registry counts into it instead of failing to register.
func TestDeadLetterSharesItsMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewDeadLetter(t.TempDir(), reg), NewDeadLetter(t.TempDir(), reg)
	a.Write("clickhouse", "a", errors.New("x"), []Letter{{Table: "t", Record: 1}})
	b.Write("file", "b", errors.New("x"), []Letter{{Table: "t", Record: 1}, {Table: "t", Record: 2}})
	if n, err := testutil.GatherAndCount(reg, "vca_collector_dead_lettered_events_total"); err != nil || n != 2 {
		t.Fatalf("series %d (%v), want one per sink", n, err)
	}
	if v := testutil.ToFloat64(a.lettered.WithLabelValues("file")); v != 2 {
		t.Fatalf("file sink counted %v through the shared metric, want 2", v)
	}
}
