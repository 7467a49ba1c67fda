// Package clickhouse is the collector's audit store: the schema (defined
// once, in Go, and rendered), its migrations, and a sink
// that writes events in large columnar batches over the native protocol,
// retries what can be retried, dead-letters what cannot, and chains every
// batch into a hash chain that Verify checks.
//
// # Layout and why
//
// Dashboards and evidence exports ask the same shape of question: a time
// range, then action (DENY first), then rule, then the agent's source
// group or gateway. So:
//
//   - dcf_events is partitioned by day (the date of event_time). A time range
//     prunes whole partitions before any index is read, retention drops whole
//     days (a TTL with ttl_only_drop_parts), and a day is the unit an
//     auditor asks about.
//   - Within a day the primary key is (action, rule_uuid, gateway,
//     event_time, event_id): "all denies of rule X in the range" reads one
//     contiguous key range; per-rule counts group along the key. Low
//     cardinality columns come first so the sparse index stays selective,
//     event_time next so a range within a rule is contiguous, and event_id
//     last so that the ReplacingMergeTree key identifies one event (see
//     below for when that matters).
//   - Source groups are an array (an IP can be in several SmartGroups) and
//     cannot be a key column; the rollups key on the first source group, and
//     drill-down filters with has(src_groups, ...), which the day partitions
//     and the action/rule prefix keep small.
//   - dcf_rollup_minute and dcf_rollup_hour (materialized views into
//     AggregatingMergeTree, monthly partitions) count decisions per bucket,
//     gateway, kind, rule, action, enforced and source group (events, a
//     SimpleAggregateFunction(sum)), so long ranges read thousands of rows
//     instead of millions.
//   - raw_unparsed keeps lines that did not parse, keyed by receive time;
//     ingest_batches keeps one row per batch keyed by (chain_id, seq).
//
// # Each event once
//
// Every INSERT carries an insert_deduplication_token derived from its
// batches' ids, every table a deduplication window, and every INSERT asks
// for deduplicate_blocks_in_dependent_materialized_views: an INSERT the
// server committed but whose answer was lost is sent again with the same
// token and dropped, the rollups' blocks included. Plain count() is exact
// after an ack loss, a server killed during an INSERT or an outage. One case
// is left to the ReplacingMergeTree on event_id: a collector killed between
// storing a batch's rows and recording its ingest_batches row sends those
// events again after the restart, in batches cut anew (other tokens); the
// copies collapse when the parts merge (FINAL sees them once at once) and
// the rollups count them twice. At most the batches in flight at the crash.
//
// MinServerVersion explains the oldest server supported; OpenStore refuses
// older ones.
package clickhouse
