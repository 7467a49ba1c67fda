package enrich

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// sessionWatch notices a gateway that logs session starts for a rule but
// never an end: a rule logging with a profile that leaves session ends
// out (the controller's default, "start"), so no byte, packet, duration
// or end-reason record reaches the evidence. It warns once per gateway
// and rule, when a rule's starts have spanned the threshold of gateway
// time without one end, and sets a gauge the health dashboard shows; an
// end, when one comes, clears it.
type sessionWatch struct {
	after time.Duration
	log   zerolog.Logger
	gauge *prometheus.GaugeVec

	mu   sync.Mutex
	seen map[sessionKey]*sessionCount
}

type sessionKey struct {
	gateway string
	rule    parse.UUID
}

type sessionCount struct {
	firstStart time.Time
	starts     uint64
	ends       uint64
	warned     bool
}

// maxWatched bounds the state: beyond it new gateway and rule pairs are
// not watched (a flood of forged gateway names must not grow it).
const maxWatched = 100000

func newSessionWatch(after time.Duration, log zerolog.Logger) *sessionWatch {
	return &sessionWatch{after: after, log: log, seen: map[sessionKey]*sessionCount{},
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vca_collector_session_ends_missing",
			Help: "1 for a gateway and rule that logged session starts for a while but no session end (its log profile leaves ends out).",
		}, []string{"gateway", "rule_uuid", "rule"})}
}

// sessionEdge says whether an event opens (+1) or closes (-1) a session.
func sessionEdge(e *parse.Event) int {
	switch {
	case e.Status == parse.StatusFailed || e.Has&parse.HasRuleUUID == 0:
		return 0
	case e.Kind == parse.KindL4 && e.Has&parse.HasSessionEvent != 0:
		if e.SessionEvent == 1 {
			return -1
		}
		return 1
	case e.Kind == parse.KindL7 && string(e.SessionStage) == "start":
		return 1
	case e.Kind == parse.KindL7 && string(e.SessionStage) == "end":
		return -1
	}
	return 0
}

// observe counts a batch's session records; the time is the gateway's.
func (w *sessionWatch) observe(events []parse.Event) {
	if w == nil || w.after <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range events {
		e := &events[i]
		edge := sessionEdge(e)
		if edge == 0 {
			continue
		}
		c := w.seen[sessionKey{string(e.Gateway), e.RuleUUID}] // the lookup does not copy the name
		if c == nil {
			if len(w.seen) >= maxWatched {
				continue
			}
			c = &sessionCount{}
			w.seen[sessionKey{string(e.Gateway), e.RuleUUID}] = c
		}
		if edge < 0 {
			c.ends++
			if c.warned {
				c.warned = false
				w.gauge.DeleteLabelValues(string(e.Gateway), uuidText(e.RuleUUID), e.Enriched.RuleName)
				w.log.Info().Str("gateway", string(e.Gateway)).Str("rule_uuid", uuidText(e.RuleUUID)).Str("rule", e.Enriched.RuleName).
					Msg("the gateway now logs session ends for the rule")
			}
			continue
		}
		c.starts++
		if c.firstStart.IsZero() || e.EventTime.Before(c.firstStart) {
			c.firstStart = e.EventTime
		}
		if c.ends == 0 && !c.warned && e.EventTime.Sub(c.firstStart) >= w.after {
			c.warned = true
			w.gauge.WithLabelValues(string(e.Gateway), uuidText(e.RuleUUID), e.Enriched.RuleName).Set(1)
			w.log.Warn().Str("gateway", string(e.Gateway)).Str("rule_uuid", uuidText(e.RuleUUID)).Str("rule", e.Enriched.RuleName).
				Uint64("session_starts", c.starts).Dur("over", e.EventTime.Sub(c.firstStart)).
				Msg("the gateway logs session starts for this rule but no session end: the rule's log profile leaves ends out (set it to start/end), so no bytes, packets, duration or end reason reach the evidence")
		}
	}
}

func uuidText(u parse.UUID) string { return string(parse.AppendUUID(nil, u)) }
