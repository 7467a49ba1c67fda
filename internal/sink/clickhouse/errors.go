package clickhouse

import (
	"errors"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
)

// encodeError is a value the client could not encode for its column: the
// same batch will fail the same way.
type encodeError struct {
	column string
	err    error
}

func (e *encodeError) Error() string { return "column " + e.column + ": " + e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// retriableCodes are server errors that a later attempt can outlive:
// overload, timeouts, replicas and parts under pressure.
var retriableCodes = map[int32]bool{
	3:   true, // UNEXPECTED_END_OF_FILE
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS
	319: true, // UNKNOWN_STATUS_OF_INSERT
	425: true, // SYSTEM_ERROR
	999: true, // KEEPER_EXCEPTION
}

// Retriable reports whether retrying the same insert may succeed. Lost
// connections, refused dials, EOFs and timeouts are; the server rejecting the
// data (unknown column, type mismatch, unknown table) and values the client
// cannot encode are not.
func Retriable(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return retriableCodes[ex.Code]
	}
	if nx, ok := ch.AsException(err); ok {
		return retriableCodes[int32(nx.Code)]
	}
	var enc *encodeError
	return !errors.As(err, &enc)
}

type metrics struct {
	failures       *prometheus.CounterVec
	rows           *prometheus.CounterVec
	insertDuration *prometheus.HistogramVec
	latency        prometheus.Histogram
	batchRows      prometheus.Histogram
	pending        prometheus.Gauge
	blocked        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_clickhouse_insert_failures_total",
			Help: "Failed ClickHouse inserts; retriable ones are retried, the others dead-lettered.",
		}, []string{"retriable"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_clickhouse_inserted_rows_total", Help: "Rows ClickHouse accepted, by table.",
		}, []string{"table"}),
		insertDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vca_collector_clickhouse_insert_duration_seconds", Help: "Duration of one successful INSERT.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"table"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vca_collector_clickhouse_batch_latency_seconds", Help: "From sealing a batch to ClickHouse holding all of it, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vca_collector_clickhouse_batch_rows", Help: "Rows per sealed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vca_collector_clickhouse_pending_batches", Help: "Sealed batches not yet inserted.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_clickhouse_backpressure_total", Help: "Times a full batch had to wait for an inserter.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.rows, m.insertDuration, m.latency, m.batchRows, m.pending, m.blocked)
	}
	return m
}

// deadLetter sets a refused batch aside, one letter per row with the
// server's message, and reports whether the rows are safely there; if not,
// the batch is not reported durable and the spool keeps its events for the
// next start. It logs once per batch.
func (s *Store) deadLetter(b *batch, cause error) bool {
	letters := make([]delivery.Letter, 0, b.rows())
	for _, t := range []struct {
		name string
		rows tableRows
	}{{"dcf_events", &b.events}, {"raw_unparsed", &b.unparsed}} {
		cols := t.rows.columns()
		for i := range t.rows.rows() {
			row := make(map[string]any, len(cols))
			for _, c := range cols {
				row[c.name] = c.col.value(i)
			}
			letters = append(letters, delivery.Letter{Table: t.name, Record: row})
		}
	}
	path, err := s.dead.Write("clickhouse", b.token[:8], cause, letters)
	ev := s.log.Error().Err(cause).Int("rows", b.rows()).Int("chains", len(b.segs)).Str("file", path)
	if err != nil {
		ev.AnErr("dead_letter_error", err).
			Msg("clickhouse refused a batch permanently and the dead-letter file could not be written; the spool keeps the events until the next start")
		return false
	}
	ev.Msg("clickhouse refused a batch permanently; rows written to the dead-letter directory")
	return true
}
