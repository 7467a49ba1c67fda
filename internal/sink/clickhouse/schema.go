package clickhouse

import (
	"fmt"
	"strings"
)

// MinServerVersion is the oldest ClickHouse release the schema, the sink's
// inserts and the project's queries are supported on: the LTS release after
// 24.7, which reworked how insert_deduplication_token reaches materialized
// views (ClickHouse #61601, #66144). Before it, blocks that two different
// inserts aggregate to the same rollup rows could be taken for duplicates
// and dropped; the rollups count decisions with that token. Every other
// feature the schema uses is older (the token itself: 22.2).
const MinServerVersion = "24.8"

const minMajor, minMinor = 24, 8

// CheckServerVersion refuses servers older than MinServerVersion.
func CheckServerVersion(major, minor int) error {
	if major < minMajor || (major == minMajor && minor < minMinor) {
		return fmt.Errorf("older than %s, the oldest ClickHouse release this collector supports (the schema and its exactly-once inserts need it)", MinServerVersion)
	}
	return nil
}

// colType is a column's ClickHouse type and its codec, if any.
type colType struct{ name, codec string }

var (
	tEventID  = colType{"FixedString(16)", ""}
	tTime     = colType{"DateTime64(3, 'UTC')", "CODEC(Delta, ZSTD(1))"}
	tIP       = colType{"IPv6", ""}
	tLow      = colType{"LowCardinality(String)", ""}
	tLowArray = colType{"Array(LowCardinality(String))", ""}
	tString   = colType{"String", ""}
	tStrArray = colType{"Array(String)", ""}
	tRaw      = colType{"String", "CODEC(ZSTD(3))"}
	tU8       = colType{"UInt8", ""}
	tNullU8   = colType{"Nullable(UInt8)", ""}
	tU16      = colType{"UInt16", ""}
	tU32      = colType{"UInt32", ""}
	tU64      = colType{"UInt64", ""}
	tI64      = colType{"Int64", ""}
	tDate     = colType{"Date", ""}
	tSHA      = colType{"FixedString(32)", ""}
)

// column is one column of a table.
type column struct {
	name    string
	typ     colType
	dflt    string // DEFAULT expression, if any
	comment string
	since   uint32 // the migration that adds it to an existing table; 0 = created with it
}

// eventColumns is dcf_events, in insert order. The batch encoder
// (encoder.go) fills them by name; a test checks the two agree.
var eventColumns = []column{
	{name: "event_id", typ: tEventID, comment: "deterministic id of the received message"},
	{name: "batch_id", typ: tEventID, comment: "ingest batch (ingest_batches.batch_id)"},
	{name: "received_at", typ: tTime, comment: "when the collector received the message"},
	{name: "event_time", typ: tTime, comment: "the gateway's own time for the decision"},
	{name: "date", typ: tDate, dflt: "toDate(event_time)"},
	{name: "time_source", typ: tLow},
	{name: "listener", typ: tLow},
	{name: "transport", typ: tLow},
	{name: "peer_ip", typ: tIP},
	{name: "peer_port", typ: tU16},
	{name: "kind", typ: tLow, comment: "l4, l7, fqdn, alert (IDS) or other"},
	{name: "parse_status", typ: tLow},
	{name: "parse_error", typ: tString},
	{name: "flags", typ: tLowArray},
	{name: "syslog_format", typ: tLow},
	{name: "facility", typ: tU8},
	{name: "severity", typ: tU8},
	{name: "hostname", typ: tLow},
	{name: "gateway", typ: tLow},
	{name: "gateway_ip", typ: tIP},
	{name: "app", typ: tLow},
	{name: "proc_id", typ: tString},
	{name: "msg_id", typ: tString},
	{name: "rule_uuid", typ: tLow},
	{name: "rule_name", typ: tLow, comment: "from the policy catalog"},
	{name: "rule_priority", typ: tU32},
	{name: "scenario", typ: tLow},
	{name: "src_groups", typ: tLowArray, comment: "source SmartGroups"},
	{name: "dst_groups", typ: tLowArray, comment: "destination SmartGroups"},
	{name: "web_group", typ: tLow},
	{name: "decrypted_by", typ: tLow},
	{name: "action", typ: tLow, comment: "PERMIT or DENY (normalised), else as sent"},
	{name: "action_raw", typ: tLow},
	{name: "enforced", typ: tNullU8, comment: "0 = monitor mode (would have been denied); NULL = not logged"},
	{name: "proto", typ: tLow},
	{name: "src_ip", typ: tIP},
	{name: "src_port", typ: tU16},
	{name: "dst_ip", typ: tIP},
	{name: "dst_port", typ: tU16},
	{name: "src_mac", typ: tString},
	{name: "dst_mac", typ: tString},
	{name: "ip_size", typ: tU32},
	{name: "payload", typ: tString},
	{name: "sni", typ: tString},
	{name: "url", typ: tString},
	{name: "session_id", typ: tU64},
	{name: "session_uuid", typ: tString},
	{name: "session_event", typ: tU8},
	{name: "session_end_reason", typ: tU8},
	{name: "session_pkts", typ: tU64},
	{name: "session_bytes", typ: tU64},
	{name: "session_duration", typ: tU64},
	{name: "session_start_ns", typ: tI64},
	{name: "session_time_ns", typ: tI64},
	{name: "session_stage", typ: tLow},
	{name: "l7_reason", typ: tLow},
	{name: "l7_stage", typ: tLow},
	{name: "ids", typ: tU8},
	{name: "signature_id", typ: tLow},
	{name: "l7_priority", typ: tLow},
	{name: "l7_message", typ: tString},
	{name: "request_bytes", typ: tU64},
	{name: "response_bytes", typ: tU64},
	{name: "fqdn_gateway", typ: tLow},
	{name: "fqdn_state", typ: tLow},
	{name: "fqdn_drop_reason", typ: tLow},
	{name: "fqdn_rule", typ: tLow},
	{name: "repeat_count", typ: tU32},
	{name: "extra_keys", typ: tStrArray, comment: "keys this collector version does not know"},
	{name: "extra_values", typ: tStrArray},
	{name: "raw", typ: tRaw, comment: "the line as received"},
	{name: "rule_action", typ: tLow, since: 2, comment: "the action the policy catalog declares for the rule"},
	{name: "rule_tags", typ: tLowArray, since: 2, comment: "OWASP LLM Top 10 and MITRE ATLAS ids of the rule"},
	{name: "admitting_web_group", typ: tLow, since: 2, comment: "for a denied name: the WebGroup of an allow rule that matches it"},
	{name: "would_be_denied", typ: tU8, since: 2, comment: "1 = DENY logged in monitor mode"},
	{name: "catalog_version", typ: tLow, since: 2, comment: "the policy catalog that enriched the row"},
	{name: "flow_id", typ: tU64, since: 4, comment: "IDS alert: Suricata flow id"},
	{name: "app_proto", typ: tLow, since: 4, comment: "IDS alert: application protocol Suricata detected"},
	{name: "alert_signature", typ: tLow, since: 4, comment: "IDS alert: signature text (its id is signature_id, as on L7 IDS verdicts)"},
	{name: "alert_category", typ: tLow, since: 4, comment: "IDS alert: signature category"},
	{name: "alert_severity", typ: tU8, since: 4, comment: "IDS alert: 1 high ... 3 low; 0 = not an alert"},
	{name: "src_workload", typ: tLow, since: 4, comment: "the Kubernetes workload a source SmartGroup selects, from the policy catalog"},
}

// unparsedColumns is raw_unparsed: lines that did not parse, kept whole.
var unparsedColumns = []column{
	{name: "event_id", typ: tEventID},
	{name: "batch_id", typ: tEventID},
	{name: "received_at", typ: tTime},
	{name: "date", typ: tDate, dflt: "toDate(received_at)"},
	{name: "listener", typ: tLow},
	{name: "transport", typ: tLow},
	{name: "peer_ip", typ: tIP},
	{name: "peer_port", typ: tU16},
	{name: "parse_status", typ: tLow},
	{name: "parse_error", typ: tString},
	{name: "flags", typ: tLowArray},
	{name: "hostname", typ: tLow},
	{name: "raw", typ: tRaw},
}

var batchColumns = []column{
	{name: "chain_id", typ: tLow, comment: "one hash chain per collector"},
	{name: "seq", typ: tU64},
	{name: "batch_id", typ: tEventID},
	{name: "inserted_at", typ: tTime},
	{name: "first_event_id", typ: tEventID},
	{name: "last_event_id", typ: tEventID},
	{name: "rows", typ: tU32},
	{name: "unparsed_rows", typ: tU32},
	{name: "content_sha256", typ: tSHA, comment: "SHA-256 over the batch's rows (see Verify)"},
	{name: "prev_sha256", typ: tSHA},
	{name: "chain_sha256", typ: tSHA, comment: "SHA-256(prev_sha256 || content_sha256)"},
}

var policyColumns = []column{
	{name: "catalog_version", typ: tLow},
	{name: "loaded_at", typ: tTime},
	{name: "catalog_sha256", typ: tSHA},
	{name: "rule_uuid", typ: tLow},
	{name: "rule_name", typ: tLow},
	{name: "priority", typ: tU32},
	{name: "action", typ: tLow},
	{name: "protocol", typ: tLow},
	{name: "ports", typ: tStrArray},
	{name: "src_groups", typ: tLowArray},
	{name: "dst_groups", typ: tLowArray},
	{name: "web_groups", typ: tLowArray},
	{name: "logging", typ: tU8},
	{name: "enforced", typ: tU8},
	{name: "scenario", typ: tLow},
	{name: "tags", typ: tLowArray},
	{name: "mode", typ: tLow},
	{name: "agent_class", typ: tLow},
}

// Options shape the rendered DDL.
type Options struct {
	Database      string
	RetentionDays int // 0 keeps everything
	// Cluster, when set, renders the DDL for a ClickHouse cluster: every
	// statement ON CLUSTER, each table as a Replicated* engine named
	// <table>_local on every shard, and under the table's own name a
	// Distributed table over them, which inserts and queries use, so the
	// sink, the dashboards and the exports are unchanged. Views run on
	// each shard, from dcf_events_local into the local rollups.
	Cluster string
}

// layout names and engines the tables of a single server or a cluster.
type layout struct {
	o  Options
	db string
}

func newLayout(o Options) layout { return layout{o: o, db: quoteIdent(o.Database)} }

func (l layout) clustered() bool { return l.o.Cluster != "" }

// onCluster is the ON CLUSTER clause, or nothing.
func (l layout) onCluster() string {
	if !l.clustered() {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(l.o.Cluster)
}

// stored is the qualified name of the table that holds the rows: the table
// itself, or its shard-local part on a cluster.
func (l layout) stored(table string) string {
	if l.clustered() {
		table += "_local"
	}
	return l.db + "." + quoteIdent(table)
}

// engine is a MergeTree family engine, replicated on a cluster; the
// Keeper path holds the shard, database and table, the replica name comes
// from each server's macros.
func (l layout) engine(family, table string) string {
	if !l.clustered() {
		return family + "()"
	}
	path := fmt.Sprintf("/clickhouse/tables/{shard}/%s/%s_local", l.o.Database, table)
	return fmt.Sprintf("Replicated%s(%s, '{replica}')", family, quoteString(path))
}

// distributed is, on a cluster, the table under the plain name that spreads
// inserts over the shards by key and gathers queries from them.
func (l layout) distributed(table, shardKey string) []statement {
	if !l.clustered() {
		return nil
	}
	return []statement{{table + " distributed", fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s\nENGINE = Distributed(%s, %s, %s, %s)",
		l.db, quoteIdent(table), l.onCluster(), l.stored(table), quoteString(l.o.Cluster), quoteString(l.o.Database),
		quoteString(table+"_local"), shardKey)}}
}

// ddl renders the statements of the first schema version (rollups as
// they were then: migration 3 replaces them).
//
// On a cluster the rows of one event always go to the same shard (the
// shard key hashes event_id), so a replay lands where the original is;
// a hash chain's batch records share a shard (the key hashes chain_id).
func ddl(o Options) []statement {
	l := newLayout(o)
	on := l.onCluster()
	ttl := func(expr string) string { return l.ttl(expr) }
	settings := "\nSETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, " + l.dedupWindow()
	index := ",\n  INDEX sni_bloom sni TYPE bloom_filter(0.01) GRANULARITY 4"
	rollup := func(name, bucket string) []statement {
		out := []statement{
			{name + " table", fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s%s (
  bucket DateTime('UTC'),
  gateway LowCardinality(String),
  kind LowCardinality(String),
  rule_uuid LowCardinality(String),
  rule_name LowCardinality(String),
  action LowCardinality(String),
  enforced UInt8,
  src_group %s,
  events AggregateFunction(uniq, FixedString(16)),
  last_seen AggregateFunction(max, %s)
) ENGINE = %s
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, action, rule_uuid, rule_name, enforced, src_group, gateway, kind)%s`,
				l.stored(name), on, "LowCardinality(String)", "DateTime64(3, 'UTC')", l.engine("AggregatingMergeTree", name), ttl("bucket"))},
			{name + " view", fmt.Sprintf(`CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s AS
SELECT %s(toDateTime(event_time)) AS bucket, gateway, kind, rule_uuid, rule_name, action,
  ifNull(enforced, 2) AS enforced,
  if(empty(src_groups), '', src_groups[1]) AS src_group,
  uniqState(event_id) AS events, maxState(event_time) AS last_seen
FROM %s
GROUP BY bucket, gateway, kind, rule_uuid, rule_name, action, enforced, src_group`,
				l.db, quoteIdent(name+"_mv"), on, l.stored(name), bucket, l.stored("dcf_events"))},
		}
		return append(out, l.distributed(name, "rand()")...)
	}
	out := []statement{
		{"database", "CREATE DATABASE IF NOT EXISTS " + l.db + on},
		{"dcf_events", fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s (\n%s%s\n) ENGINE = %s\nPARTITION BY date\nORDER BY (action, rule_uuid, gateway, event_time, event_id)%s%s",
			l.stored("dcf_events"), on, renderColumns(columnsSince(eventColumns, 0)), index, l.engine("ReplacingMergeTree", "dcf_events"), ttl("event_time"), settings)},
	}
	out = append(out, l.distributed("dcf_events", "cityHash64(event_id)")...)
	out = append(out, statement{"raw_unparsed", fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s (\n%s\n) ENGINE = %s\nPARTITION BY date\nORDER BY (received_at, event_id)%s%s",
		l.stored("raw_unparsed"), on, renderColumns(unparsedColumns), l.engine("ReplacingMergeTree", "raw_unparsed"), ttl("received_at"), settings)})
	out = append(out, l.distributed("raw_unparsed", "cityHash64(event_id)")...)
	out = append(out, rollup("dcf_rollup_minute", "toStartOfMinute")...)
	out = append(out, rollup("dcf_rollup_hour", "toStartOfHour")...)
	out = append(out, statement{"policy_rules", fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s (\n%s\n) ENGINE = %s\nPARTITION BY toYYYYMM(loaded_at)\nORDER BY (catalog_version, priority, rule_name, rule_uuid)",
		l.stored("policy_rules"), on, renderColumns(policyColumns), l.engine("ReplacingMergeTree", "policy_rules"))})
	out = append(out, l.distributed("policy_rules", "cityHash64(catalog_version)")...)
	out = append(out, statement{"ingest_batches", fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s (\n%s\n) ENGINE = %s\nPARTITION BY toYYYYMM(inserted_at)\nORDER BY (chain_id, seq)",
		l.stored("ingest_batches"), on, renderColumns(batchColumns), l.engine("ReplacingMergeTree", "ingest_batches"))})
	out = append(out, l.distributed("ingest_batches", "cityHash64(chain_id)")...)
	return out
}

// columnsSince returns the columns a migration adds (0: the table's first
// version).
func columnsSince(cols []column, v uint32) []column {
	var out []column
	for _, c := range cols {
		if c.since == v {
			out = append(out, c)
		}
	}
	return out
}

// addColumns renders the ALTERs of migration v for one table.
func addColumns(table string, cols []column, v uint32) func(Options) []statement {
	return func(o Options) []statement {
		var out []statement
		l := newLayout(o)
		targets := []string{l.stored(table)}
		if l.clustered() {
			targets = append(targets, l.db+"."+quoteIdent(table)) // the Distributed table
		}
		for _, c := range columnsSince(cols, v) {
			for _, target := range targets {
				out = append(out, statement{table + "." + c.name, fmt.Sprintf("ALTER TABLE %s%s ADD COLUMN IF NOT EXISTS %s",
					target, l.onCluster(), strings.TrimSpace(renderColumns([]column{c})))})
			}
		}
		return out
	}
}

// ttl is the TTL clause of a table whose rows age by expr, or nothing.
func (l layout) ttl(expr string) string {
	if l.o.RetentionDays <= 0 {
		return ""
	}
	return fmt.Sprintf("\nTTL toDateTime(%s) + INTERVAL %d DAY", expr, l.o.RetentionDays)
}

// dedupWindow is the setting that makes the server remember the tokens of
// the last inserts: a retried batch carries the same
// insert_deduplication_token and is dropped, and so are the blocks it
// would push into the rollups. It must cover the batches that can be
// retried at once.
func (l layout) dedupWindow() string {
	if l.clustered() {
		return "replicated_deduplication_window = 10000"
	}
	return "non_replicated_deduplication_window = 10000"
}

func renderColumns(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", quoteIdent(c.name), c.typ.name)
		if c.dflt != "" {
			b.WriteString(" DEFAULT " + c.dflt)
		}
		if c.comment != "" {
			b.WriteString(" COMMENT " + quoteString(c.comment))
		}
		if c.typ.codec != "" {
			b.WriteString(" " + c.typ.codec)
		}
	}
	return b.String()
}

// insertColumns lists the columns an INSERT names (DEFAULT columns are
// left to the server).
func insertColumns(cols []column) []string {
	var out []string
	for _, c := range cols {
		if c.dflt == "" {
			out = append(out, c.name)
		}
	}
	return out
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// statement is one DDL statement with a short name for errors and logs.
type statement struct {
	what string
	sql  string
}

// SchemaSQL returns the whole DDL as one script.
func SchemaSQL(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- vca-collector schema, version %d, for ClickHouse %s or later\n", schemaVersion, MinServerVersion)
	for _, s := range allStatements(o) {
		fmt.Fprintf(&b, "\n-- %s\n%s;\n", s.what, s.sql)
	}
	return b.String()
}

// Statements is the whole DDL, one statement each.
func Statements(o Options) []string {
	var out []string
	for _, s := range allStatements(o) {
		out = append(out, s.sql)
	}
	return out
}

// allStatements is every migration in order, then the migrations table.
func allStatements(o Options) []statement {
	var out []statement
	for _, m := range migrations {
		out = append(out, m.statements(o)...)
	}
	return append(out, migrationTableDDL(o)...)
}
