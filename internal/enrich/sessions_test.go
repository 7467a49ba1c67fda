package enrich

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

func sessionEvent(gw string, rule byte, start bool, at time.Time) parse.Event {
	e := parse.Event{Kind: parse.KindL4, Gateway: []byte(gw), EventTime: at, RuleUUID: parse.UUID{15: rule},
		Has: parse.HasRuleUUID | parse.HasSessionEvent}
	if !start {
		e.SessionEvent = 1
	}
	return e
}

func TestSessionWatch(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	type rec struct {
		gw    string
		rule  byte
		start bool
		min   int // minutes after t0
	}
	for _, tc := range []struct {
		name     string
		events   []rec
		warnings int
		gauge    float64 // for gw-a, rule 1
	}{
		{"starts only, past the threshold", []rec{{"gw-a", 1, true, 0}, {"gw-a", 1, true, 10}, {"gw-a", 1, true, 16}, {"gw-a", 1, true, 30}}, 1, 1},
		{"starts only, within the threshold", []rec{{"gw-a", 1, true, 0}, {"gw-a", 1, true, 14}}, 0, 0},
		{"starts and an end", []rec{{"gw-a", 1, true, 0}, {"gw-a", 1, false, 1}, {"gw-a", 1, true, 20}}, 0, 0},
		{"an end after the warning clears it", []rec{{"gw-a", 1, true, 0}, {"gw-a", 1, true, 16}, {"gw-a", 1, false, 17}}, 1, 0},
		{"each gateway and rule on its own", []rec{{"gw-a", 1, true, 0}, {"gw-b", 1, true, 0}, {"gw-a", 2, true, 0},
			{"gw-a", 1, true, 20}, {"gw-b", 1, true, 20}, {"gw-a", 2, false, 5}, {"gw-a", 2, true, 20}}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := newSessionWatch(15*time.Minute, zerolog.New(&logs))
			var events []parse.Event
			for _, r := range tc.events {
				events = append(events, sessionEvent(r.gw, r.rule, r.start, t0.Add(time.Duration(r.min)*time.Minute)))
			}
			// One batch per event, as the pipeline may cut them.
			for i := range events {
				w.observe(events[i : i+1])
			}
			if got := strings.Count(logs.String(), `"level":"warn"`); got != tc.warnings {
				t.Errorf("%d warnings, want %d:\n%s", got, tc.warnings, logs.String())
			}
			got := testutil.ToFloat64(w.gauge.WithLabelValues("gw-a", uuidText(parse.UUID{15: 1}), ""))
			if got != tc.gauge {
				t.Errorf("gauge for gw-a rule 1 is %v, want %v", got, tc.gauge)
			}
		})
	}
}

// Lines without session fields (pre-8.2 gateways, FQDN, alerts) are not
// session records.
func TestSessionWatchIgnoresLinesWithoutSessions(t *testing.T) {
	var logs bytes.Buffer
	w := newSessionWatch(time.Minute, zerolog.New(&logs))
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for m := range 10 {
		w.observe([]parse.Event{
			{Kind: parse.KindL4, Gateway: []byte("gw"), EventTime: t0.Add(time.Duration(m) * time.Minute), Has: parse.HasRuleUUID},
			{Kind: parse.KindFQDN, Gateway: []byte("gw"), EventTime: t0.Add(time.Duration(m) * time.Minute)},
			{Kind: parse.KindAlert, Gateway: []byte("gw"), EventTime: t0.Add(time.Duration(m) * time.Minute)},
		})
	}
	if logs.Len() != 0 || len(w.seen) != 0 {
		t.Fatalf("watched lines without session records: %d pairs, logs %s", len(w.seen), logs.String())
	}
}
