package listen

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the listeners' counters, shared by every listener and
// labelled by listener name.
type Metrics struct {
	received      *prometheus.CounterVec
	receivedBytes *prometheus.CounterVec
	truncated     *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	connections   *prometheus.GaugeVec
	reg           prometheus.Registerer
}

// NewMetrics registers the listener metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_received_messages_total", Help: "Syslog messages received, by listener and transport.",
		}, []string{"listener", "transport"}),
		receivedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_received_bytes_total", Help: "Bytes of syslog messages received, after framing.",
		}, []string{"listener", "transport"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_truncated_messages_total", Help: "Messages cut at the listener's max_message_size (kept, flagged).",
		}, []string{"listener"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_rejected_total", Help: "Connections or datagrams refused, by reason (not_allowed, connection_limit, tls_handshake).",
		}, []string{"listener", "reason"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vca_collector_open_connections", Help: "Open TCP and TLS connections.",
		}, []string{"listener"}),
		reg: reg,
	}
	if reg != nil {
		reg.MustRegister(m.received, m.receivedBytes, m.truncated, m.rejected, m.connections)
	}
	return m
}

func (m *Metrics) count(src *Source, b *Batch) {
	var bytes, trunc int
	for i := range b.Msgs {
		bytes += len(b.Msgs[i].Data)
		if b.Msgs[i].Truncated {
			trunc++
		}
	}
	m.received.WithLabelValues(src.Listener, src.Transport).Add(float64(len(b.Msgs)))
	m.receivedBytes.WithLabelValues(src.Listener, src.Transport).Add(float64(bytes))
	if trunc > 0 {
		m.truncated.WithLabelValues(src.Listener).Add(float64(trunc))
	}
}
