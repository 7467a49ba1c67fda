// Package clickhouse is the collector's audit store: the schema (defined
// once, rendered for two server generations), its migrations, and a sink
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
//     days (a TTL with ttl_only_drop_parts on modern servers, ALTER ... DROP
//     PARTITION on old ones), and a day is the unit an auditor asks about.
//   - Within a day the primary key is (action, rule_uuid, gateway,
//     event_time, event_id): "all denies of rule X in the range" reads one
//     contiguous key range; per-rule counts group along the key. Low
//     cardinality columns come first so the sparse index stays selective,
//     event_time next so a range within a rule is contiguous, and event_id
//     last so that the ReplacingMergeTree key identifies one event: a
//     replayed insert collapses onto the original row.
//   - Source groups are an array (an IP can be in several SmartGroups) and
//     cannot be a key column; the rollups key on the first source group, and
//     drill-down filters with has(src_groups, ...), which the day partitions
//     and the action/rule prefix keep small.
//   - dcf_rollup_minute and dcf_rollup_hour (materialized views into
//     AggregatingMergeTree, monthly partitions) hold uniqState(event_id) per
//     bucket, gateway, kind, rule, action, enforced and source group, so long
//     ranges read thousands of rows instead of millions, and a replayed insert
//     cannot inflate them (uniq is exact up to 65 536 distinct ids per merged
//     state, approximate beyond).
//   - raw_unparsed keeps lines that did not parse, keyed by receive time;
//     ingest_batches keeps one row per batch keyed by (chain_id, seq).
//
// # Profiles
//
// Modern (22.8+): DateTime64(3), IPv6, LowCardinality, ZSTD on the raw line,
// Delta+ZSTD on times, a bloom filter on SNI, TTL, and
// insert_deduplication_token with non_replicated_deduplication_window, so a
// retried batch is dropped by the server, views included. Compat (older,
// such as Debian's 18.16): DateTime plus a milliseconds column,
// FixedString(16) addresses, plain String where 18.16 or clickhouse-go cannot
// handle LowCardinality (computed view keys, arrays), no codecs, no TTL, no
// insert deduplication: ReplacingMergeTree on event_id, and every query the
// project ships counts with FINAL, uniqExact(event_id) or the uniq rollups.
// One encoder serves both: every Go value it produces is accepted for the
// column's type in either profile.
package clickhouse
