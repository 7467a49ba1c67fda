package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// received is every message the collector stored, parsed or not.
const received = `(
  SELECT event_id, received_at, parse_status, parse_error, raw FROM ${database}.dcf_events WHERE $__timeFilter(received_at)
  UNION ALL
  SELECT event_id, received_at, parse_status, parse_error, raw FROM ${database}.raw_unparsed WHERE $__timeFilter(received_at))`

var promDS = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${prometheus}")}

// promPanel is a time series of the collector's own metrics, for
// installations whose Prometheus scrapes the admin port.
func promPanel(title, question, unit string, w uint32, exprs ...[2]string) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().Title(title).Description(question).Datasource(promDS).Span(w).Height(8).Unit(unit).Legend(legend()).Tooltip(tooltip())
	for i, e := range exprs {
		b = b.WithTarget(prometheus.NewDataqueryBuilder().Expr(e[0]).LegendFormat(e[1]).RefId(string(rune('A' + i))).
			Datasource(promDS))
	}
	return b
}

func health() *dashboard.DashboardBuilder {
	d := newDashboard("vca-collector-health", "Collector health",
		"Is the audit trail complete? Ingest, parsing, the hash chain and, where Prometheus scrapes the collector, its queues and inserts.").
		Time("now-6h", "now").
		WithVariable(datasourceVar()).WithVariable(databaseVar()).
		WithVariable(dashboard.NewDatasourceVariableBuilder("prometheus").Label("Prometheus").Type("prometheus"))

	d = d.WithRow(dashboard.NewRowBuilder("From ClickHouse"))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Ingest rate",
		"How many rows per second did each collector (hash chain) insert?", 12, 8, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(inserted_at), $__interval_s) * $__interval_s) AS time, chain_id,
  sum(rows + unparsed_rows) / $__interval_s AS rows_per_second
FROM ${database}.ingest_batches
WHERE $__timeFilter(inserted_at)
GROUP BY time, chain_id
ORDER BY time, chain_id`)).Legend(legend()).Tooltip(tooltip()).Unit("rps"))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Receive-to-insert latency",
		"How long did the oldest message of each batch wait between reception and ClickHouse (median and worst batch)?", 12, 8, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(inserted_at), $__interval_s) * $__interval_s) AS time,
  quantileExact(0.5)(wait_ms) / 1000 AS median_batch, max(wait_ms) / 1000 AS worst_batch
FROM (
  SELECT inserted_at, greatest(toUnixTimestamp64Milli(inserted_at) - toUnixTimestamp64Milli(first_received), 0) AS wait_ms
  FROM (SELECT batch_id, inserted_at FROM ${database}.ingest_batches WHERE $__timeFilter(inserted_at)) AS b
  ANY INNER JOIN (
    SELECT batch_id, min(received_at) AS first_received
    FROM ${database}.dcf_events
    WHERE $__timeFilter(received_at)
    GROUP BY batch_id) AS e USING batch_id)
GROUP BY time
ORDER BY time`)).Unit("s").Legend(legend()).Tooltip(tooltip()))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Messages by parse status",
		"How many messages parsed fully (ok), partly (partial, kept with the error) or not at all (failed, kept raw)?", 12, 8, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(received_at), $__interval_s) * $__interval_s) AS time, parse_status AS status,
  count() AS messages
FROM `+received+`
GROUP BY time, status
ORDER BY time, status`)).Legend(legend()).Tooltip(tooltip()))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Parse errors by kind",
		"Which parse errors occurred, how often, when last, and what does such a line look like?", 12, 8, sql(Table, `
SELECT parse_status AS status, parse_error AS error, count() AS messages,
  toString(toDateTime(max(received_at))) AS last_seen, substring(min(raw), 1, 300) AS example
FROM `+received+`
WHERE parse_status != 'ok'
GROUP BY status, error
ORDER BY messages DESC, status, error`)))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Gateways last heard",
		"Which gateways sent decisions in the range, how many, and how long had each been silent at its end?", 12, 8, sql(Table, `
SELECT gateway, sum(events) AS decisions,
  toString(toDateTime(max(last_seen))) AS last_heard,
  intDiv(toUInt32($__toTime) - toUInt32(max(last_seen)), 60) AS silent_minutes
FROM ${database}.dcf_rollup_minute
WHERE $__timeFilter(bucket)
GROUP BY gateway
ORDER BY gateway`)))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Hash chains",
		"Per collector: batches and rows inserted, the newest batch, and batches missing from the sequence (a removed batch shows here).", 12, 8, sql(Table, `
SELECT chain_id, uniqExact(seq) AS batches, sum(rows) AS rows, sum(unparsed_rows) AS unparsed,
  toString(toDateTime(max(inserted_at))) AS last_insert,
  max(seq) - min(seq) + 1 - uniqExact(seq) AS missing_batches
FROM ${database}.ingest_batches
WHERE $__timeFilter(inserted_at)
GROUP BY chain_id
ORDER BY chain_id`)))

	d = d.WithPanel(panel(table.NewPanelBuilder(), "Rules logging session starts without ends",
		"Which gateways log session starts for a rule but never an end, that is, log it with a profile that leaves ends out, so no bytes, packets, duration or end reason reach the evidence?", 24, 8, sql(Table, `
SELECT gateway, if(rule_name != '', rule_name, rule_uuid) AS rule,
  countIf(kind = 'l4' AND session_event = 0 OR kind = 'l7' AND session_stage = 'start') AS starts,
  countIf(kind = 'l4' AND session_event = 1 OR kind = 'l7' AND session_stage = 'end') AS ends,
  toString(toDateTime(min(event_time))) AS first_start, toString(toDateTime(max(event_time))) AS last_start
FROM ${database}.dcf_events
WHERE $__timeFilter(event_time) AND rule_uuid != ''
  AND (kind = 'l4' AND session_id != 0 OR kind = 'l7' AND session_stage IN ('start', 'end'))
GROUP BY gateway, rule
HAVING starts > 0 AND ends = 0
ORDER BY starts DESC, gateway, rule
LIMIT 50`)))
	d = d.WithRow(dashboard.NewRowBuilder("From the collector's metrics (Prometheus)"))
	d = d.WithPanel(promPanel("Dropped messages by reason", "Did the collector drop anything, and why (full spool, UDP queue, oversize)?", "short", 8,
		[2]string{`sum by (reason) (rate(vca_collector_dropped_messages_total[$__rate_interval]))`, "{{reason}}"},
		[2]string{`sum(rate(vca_collector_udp_kernel_drops_total[$__rate_interval]))`, "UDP kernel drops"}))
	d = d.WithPanel(promPanel("Spool lag", "How far behind the sinks is the spool, in records and seconds?", "short", 8,
		[2]string{`max by (instance) (vca_collector_spool_lag_records)`, "{{instance}} records"},
		[2]string{`max by (instance) (vca_collector_spool_lag_seconds)`, "{{instance}} seconds"}))
	d = d.WithPanel(promPanel("ClickHouse inserts", "How long do INSERTs take (p99), and how often do they fail and retry?", "s", 8,
		[2]string{`histogram_quantile(0.99, sum by (le) (rate(vca_collector_clickhouse_insert_duration_seconds_bucket[$__rate_interval])))`, "insert p99"},
		[2]string{`histogram_quantile(0.99, sum by (le) (rate(vca_collector_clickhouse_batch_latency_seconds_bucket[$__rate_interval])))`, "batch p99, retries included"},
		[2]string{`sum by (retriable) (rate(vca_collector_clickhouse_insert_failures_total[$__rate_interval]))`, "failures/s retriable={{retriable}}"}))
	d = d.WithPanel(promPanel("Parse errors by reason", "Which parse errors is the collector counting right now?", "short", 12,
		[2]string{`sum by (reason) (rate(vca_collector_parse_errors_total[$__rate_interval]))`, "{{reason}}"}))
	d = d.WithPanel(promPanel("Received messages", "How many messages per second arrive, per listener?", "short", 12,
		[2]string{`sum by (listener, transport) (rate(vca_collector_received_messages_total[$__rate_interval]))`, "{{listener}} ({{transport}})"}))
	d = d.WithPanel(promPanel("Kafka: edges producing", "Scale-out: do the edge collectors get their records acknowledged, how fast (p99), and how often do attempts fail?", "short", 12,
		[2]string{`sum by (instance) (rate(vca_collector_kafka_produced_records_total[$__rate_interval]))`, "{{instance}} records/s"},
		[2]string{`histogram_quantile(0.99, sum by (le) (rate(vca_collector_kafka_produce_ack_seconds_bucket[$__rate_interval])))`, "ack p99 (s)"},
		[2]string{`sum by (kind) (rate(vca_collector_kafka_produce_failures_total[$__rate_interval]))`, "failures/s {{kind}}"}))
	d = d.WithPanel(promPanel("Kafka: writers consuming", "Scale-out: how far behind the topic is each partition, and do rebalances, copies from edges or undecodable records occur?", "short", 12,
		[2]string{`max by (partition) (vca_collector_kafka_consumer_lag)`, "lag partition {{partition}}"},
		[2]string{`sum(increase(vca_collector_kafka_rebalances_total[$__rate_interval]))`, "rebalances"},
		[2]string{`sum(rate(vca_collector_kafka_duplicate_records_total[$__rate_interval]))`, "edge copies dropped/s"},
		[2]string{`sum(rate(vca_collector_kafka_undecodable_records_total[$__rate_interval]))`, "undecodable/s"}))
	d = d.WithPanel(promPanel("Session ends missing", "Which gateway and rule does the collector warn about: session starts for a while and no end (the rule's log profile leaves ends out)?", "short", 24,
		[2]string{`max by (gateway, rule) (vca_collector_session_ends_missing)`, "{{gateway}} {{rule}}"}))
	return d
}
