package spool

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	appended  prometheus.Counter
	committed prometheus.Counter
	rotations prometheus.Counter
	blocked   prometheus.Counter
	dropped   *prometheus.CounterVec
	fsync     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Spool) *metrics {
	m := &metrics{
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_spool_appended_records_total", Help: "Messages appended to the spool (accepted).",
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_spool_committed_records_total", Help: "Records every sink holds; the cursor moved past them.",
		}),
		rotations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_spool_segment_rotations_total", Help: "Segments started.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_spool_blocked_seconds_total", Help: "Time listeners spent waiting for space in a full spool (backpressure).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_spool_dropped_records_total",
			Help: "Records lost in the spool, by reason: drop_oldest, full_udp, corrupt (records after a bad checksum in a segment), torn_tail (tails cut at start-up).",
		}, []string{"reason"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vca_collector_spool_fsync_seconds", Help: "Duration of each group commit fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	for _, r := range []string{"drop_oldest", "full_udp", "corrupt", "torn_tail"} {
		m.dropped.WithLabelValues(r)
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.appended, m.committed, m.rotations, m.blocked, m.dropped, m.fsync,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vca_collector_spool_bytes", Help: "Bytes in spool segments."},
			func() float64 { return float64(s.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vca_collector_spool_segments", Help: "Spool segment files."},
			func() float64 { return float64(s.Stats().Segments) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vca_collector_spool_lag_records", Help: "Records appended but not yet committed by every sink."},
			func() float64 { return float64(s.Stats().LagRecords) }),
	)
	return m
}
