package clickhouse

import (
	"fmt"
	"strings"
)

// KafkaEngineOptions shape the Kafka-engine alternative to writer
// collectors.
type KafkaEngineOptions struct {
	Brokers   []string
	Topic     string
	Group     string
	Consumers int // consumers per server; at most the topic's partitions
}

// KafkaEngineSQL renders the alternative to writer collectors: ClickHouse
// itself consumes the edge collectors' topic through a Kafka engine table
// (JSONEachRow, one record per event) and two materialized views move
// each record into dcf_events, or raw_unparsed for lines that did not
// parse. The rollups fill from dcf_events as usual. It needs the schema
// created first. What it does not give: the hash chain
// (ingest_batches, batch_id stay empty) and offset-derived event ids; event
// ids are the edge's, so a record produced twice is stored twice until a
// merge collapses it (ReplacingMergeTree on event_id), and counted twice in
// the rollups.
func KafkaEngineSQL(o Options, k KafkaEngineOptions) []string {
	l := newLayout(o)
	on := l.onCluster()
	queue := l.db + "." + quoteIdent("dcf_kafka_queue")
	consumers := max(k.Consumers, 1)
	out := []string{fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s%s (
%s
) ENGINE = Kafka
SETTINGS kafka_broker_list = %s, kafka_topic_list = %s, kafka_group_name = %s,
  kafka_format = 'JSONEachRow', kafka_num_consumers = %d, kafka_handle_error_mode = 'stream',
  input_format_skip_unknown_fields = 1, date_time_input_format = 'best_effort'`,
		queue, on, renderColumns(kafkaQueueColumns()), quoteString(strings.Join(k.Brokers, ",")),
		quoteString(k.Topic), quoteString(k.Group), consumers)}
	return append(out, kafkaViews(l, queue, true)...)
}

// kafkaViews are the two views from a queue table (the Kafka engine, or
// anything of the same columns) into the stored tables. With engineErrors
// the queue is a Kafka engine in kafka_handle_error_mode 'stream': a
// record that is not JSON arrives with _error set and is kept whole, as
// _raw_message, in raw_unparsed.
func kafkaViews(l layout, queue string, engineErrors bool) []string {
	on := l.onCluster()
	okRows, failedRows := "parse_status != 'failed'", "parse_status = 'failed'"
	if engineErrors {
		okRows, failedRows = okRows+" AND length(_error) = 0", failedRows+" OR length(_error) > 0"
	}
	return []string{
		fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s AS\nSELECT %s\nFROM %s\nWHERE %s",
			l.db, quoteIdent("dcf_kafka_events_mv"), on, l.db, quoteIdent("dcf_events"), kafkaSelect(eventColumns, false), queue, okRows),
		fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s.%s AS\nSELECT %s\nFROM %s\nWHERE %s",
			l.db, quoteIdent("dcf_kafka_unparsed_mv"), on, l.db, quoteIdent("raw_unparsed"), kafkaSelect(unparsedColumns, engineErrors), queue, failedRows),
	}
}

// kafkaQueueColumns are the record's JSON keys with the types they are
// read as: the stored column's type, except where the record spells a
// value differently (the event id as UUID text, the unknown keys as one
// object, the exact raw bytes in base64 when they are not UTF-8).
func kafkaQueueColumns() []column {
	var cols []column
	for _, c := range eventColumns {
		switch c.name {
		case "batch_id", "date", "extra_keys", "extra_values":
			continue
		case "event_id":
			c.typ = tString
		case "received_at", "event_time":
			c.typ.codec = ""
		case "raw":
			c.typ = tString
		}
		c.comment, c.dflt = "", ""
		cols = append(cols, c)
	}
	return append(cols,
		column{name: "extra", typ: colType{"Map(String, String)", ""}},
		column{name: "raw_base64", typ: tString},
	)
}

// onEngineError is what a column gets for a record the Kafka engine could
// not read as JSON (_error set): the record's position stands for its id,
// the message is kept whole.
var onEngineError = map[string]string{
	"event_id":     "toFixedString(substring(SHA256(concat(_topic, '/', toString(_partition), '/', toString(_offset))), 1, 16), 16)",
	"received_at":  "ifNull(_timestamp_ms, now64(3))",
	"parse_status": "'failed'",
	"parse_error":  "concat('kafka record is not JSON: ', _error)",
	"raw":          "_raw_message",
}

// kafkaSelect converts a queue row into a stored table's columns.
func kafkaSelect(stored []column, engineErrors bool) string {
	var exprs []string
	for _, name := range insertColumns(stored) {
		expr := quoteIdent(name)
		switch name {
		case "batch_id":
			continue // no hash chain on this path
		case "event_id":
			expr = "toFixedString(unhex(replaceAll(event_id, '-', '')), 16)"
		case "extra_keys":
			expr = "mapKeys(extra)"
		case "extra_values":
			expr = "mapValues(extra)"
		case "raw":
			expr = "if(raw_base64 != '', base64Decode(raw_base64), raw)"
		}
		if e, ok := onEngineError[name]; ok && engineErrors {
			expr = "if(length(_error) > 0, " + e + ", " + expr + ")"
		}
		if expr != quoteIdent(name) {
			expr += " AS " + name
		}
		exprs = append(exprs, expr)
	}
	return strings.Join(exprs, ",\n  ")
}
