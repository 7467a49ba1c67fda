package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
)

type metrics struct {
	parsed        [parse.Kinds][3]prometheus.Counter // kind × status
	parseErrors   []prometheus.Counter               // by reason
	written       []prometheus.Counter               // by sink
	writeDuration []prometheus.Observer
	errors        []prometheus.Counter // by sink
	dropped       *prometheus.CounterVec
	skipped       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, p *Pipeline, sinks []sink.Sink) *metrics {
	parsed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_parsed_messages_total", Help: "Messages parsed, by kind (l4, l7, fqdn, alert, other) and status (ok, partial, failed).",
	}, []string{"kind", "status"})
	perr := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_parse_errors_total", Help: "Messages kept with a parse problem, by reason.",
	}, []string{"reason"})
	written := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_sink_events_total", Help: "Events a sink accepted.",
	}, []string{"sink"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "vca_collector_sink_write_duration_seconds", Help: "Time a sink took to accept (or refuse) one batch.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"sink"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_sink_errors_total", Help: "Failed sink writes, each retried.",
	}, []string{"sink"})
	m := &metrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_dropped_messages_total", Help: "Messages received but not accepted into the spool, by reason (shutdown, spool_write_error). Should stay zero.",
		}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_replay_skipped_events_total", Help: "Replayed events not sent again to a sink that already held them.",
		}, []string{"sink"}),
	}
	for k := range parse.Kind(parse.Kinds) {
		for s := parse.StatusOK; s <= parse.StatusFailed; s++ {
			m.parsed[k][s] = parsed.WithLabelValues(k.String(), s.String())
		}
	}
	m.parseErrors = make([]prometheus.Counter, len(parse.Reasons())+1)
	for _, r := range parse.Reasons() {
		m.parseErrors[r] = perr.WithLabelValues(r.Label())
	}
	for _, s := range sinks {
		m.written = append(m.written, written.WithLabelValues(s.Name()))
		m.writeDuration = append(m.writeDuration, dur.WithLabelValues(s.Name()))
		m.errors = append(m.errors, errs.WithLabelValues(s.Name()))
		m.skipped.WithLabelValues(s.Name())
	}
	m.dropped.WithLabelValues("shutdown")
	m.dropped.WithLabelValues("spool_write_error")
	if reg != nil {
		reg.MustRegister(parsed, perr, written, dur, errs, m.dropped, m.skipped,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "vca_collector_queue_batches", Help: "Spool batches read ahead of the parse workers.",
			}, func() float64 { return float64(p.QueueDepth()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "vca_collector_spool_lag_seconds", Help: "Age of the oldest record read from the spool and not yet durable in every sink.",
			}, func() float64 {
				if j, ok := p.track.Oldest(); ok {
					return time.Since(j.firstRx).Seconds()
				}
				return 0
			}))
	}
	return m
}

func (m *metrics) count(ev *parse.Event) {
	m.parsed[ev.Kind][ev.Status].Inc()
	if ev.Reason != parse.ReasonNone {
		m.parseErrors[ev.Reason].Inc()
	}
}
