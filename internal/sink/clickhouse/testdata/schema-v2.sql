-- vca-collector schema, modern profile, version 2

-- database
CREATE DATABASE IF NOT EXISTS `vca`;

-- dcf_events
CREATE TABLE IF NOT EXISTS `vca`.`dcf_events` (
  `event_id` FixedString(16) COMMENT 'deterministic id of the received message',
  `batch_id` FixedString(16) COMMENT 'ingest batch (ingest_batches.batch_id)',
  `received_at` DateTime64(3, 'UTC') COMMENT 'when the collector received the message' CODEC(Delta, ZSTD(1)),
  `event_time` DateTime64(3, 'UTC') COMMENT 'the gateway\'s own time for the decision' CODEC(Delta, ZSTD(1)),
  `date` Date DEFAULT toDate(event_time),
  `time_source` LowCardinality(String),
  `listener` LowCardinality(String),
  `transport` LowCardinality(String),
  `peer_ip` IPv6,
  `peer_port` UInt16,
  `kind` LowCardinality(String) COMMENT 'l4, l7, fqdn or other',
  `parse_status` LowCardinality(String),
  `parse_error` String,
  `flags` Array(LowCardinality(String)),
  `syslog_format` LowCardinality(String),
  `facility` UInt8,
  `severity` UInt8,
  `hostname` LowCardinality(String),
  `gateway` LowCardinality(String),
  `gateway_ip` IPv6,
  `app` LowCardinality(String),
  `proc_id` String,
  `msg_id` String,
  `rule_uuid` LowCardinality(String),
  `rule_name` LowCardinality(String) COMMENT 'from the policy catalog',
  `rule_priority` UInt32,
  `scenario` LowCardinality(String),
  `src_groups` Array(LowCardinality(String)) COMMENT 'source SmartGroups',
  `dst_groups` Array(LowCardinality(String)) COMMENT 'destination SmartGroups',
  `web_group` LowCardinality(String),
  `decrypted_by` LowCardinality(String),
  `action` LowCardinality(String) COMMENT 'PERMIT or DENY (normalised), else as sent',
  `action_raw` LowCardinality(String),
  `enforced` Nullable(UInt8) COMMENT '0 = monitor mode (would have been denied); NULL = not logged',
  `proto` LowCardinality(String),
  `src_ip` IPv6,
  `src_port` UInt16,
  `dst_ip` IPv6,
  `dst_port` UInt16,
  `src_mac` String,
  `dst_mac` String,
  `ip_size` UInt32,
  `payload` String,
  `sni` String,
  `url` String,
  `session_id` UInt64,
  `session_uuid` String,
  `session_event` UInt8,
  `session_end_reason` UInt8,
  `session_pkts` UInt64,
  `session_bytes` UInt64,
  `session_duration` UInt64,
  `session_start_ns` Int64,
  `session_time_ns` Int64,
  `session_stage` LowCardinality(String),
  `l7_reason` LowCardinality(String),
  `l7_stage` LowCardinality(String),
  `ids` UInt8,
  `signature_id` LowCardinality(String),
  `l7_priority` LowCardinality(String),
  `l7_message` String,
  `request_bytes` UInt64,
  `response_bytes` UInt64,
  `fqdn_gateway` LowCardinality(String),
  `fqdn_state` LowCardinality(String),
  `fqdn_drop_reason` LowCardinality(String),
  `fqdn_rule` LowCardinality(String),
  `repeat_count` UInt32,
  `extra_keys` Array(String) COMMENT 'keys this collector version does not know',
  `extra_values` Array(String),
  `raw` String COMMENT 'the line as received' CODEC(ZSTD(3)),
  INDEX sni_bloom sni TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplacingMergeTree()
PARTITION BY date
ORDER BY (action, rule_uuid, gateway, event_time, event_id)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

-- raw_unparsed
CREATE TABLE IF NOT EXISTS `vca`.`raw_unparsed` (
  `event_id` FixedString(16),
  `batch_id` FixedString(16),
  `received_at` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  `date` Date DEFAULT toDate(received_at),
  `listener` LowCardinality(String),
  `transport` LowCardinality(String),
  `peer_ip` IPv6,
  `peer_port` UInt16,
  `parse_status` LowCardinality(String),
  `parse_error` String,
  `flags` Array(LowCardinality(String)),
  `hostname` LowCardinality(String),
  `raw` String CODEC(ZSTD(3))
) ENGINE = ReplacingMergeTree()
PARTITION BY date
ORDER BY (received_at, event_id)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

-- dcf_rollup_minute table
CREATE TABLE IF NOT EXISTS `vca`.`dcf_rollup_minute` (
  bucket DateTime('UTC'),
  gateway LowCardinality(String),
  kind LowCardinality(String),
  rule_uuid LowCardinality(String),
  rule_name LowCardinality(String),
  action LowCardinality(String),
  enforced UInt8,
  src_group LowCardinality(String),
  events AggregateFunction(uniq, FixedString(16)),
  last_seen AggregateFunction(max, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, action, rule_uuid, rule_name, enforced, src_group, gateway, kind);

-- dcf_rollup_minute view
CREATE MATERIALIZED VIEW IF NOT EXISTS `vca`.`dcf_rollup_minute_mv` TO `vca`.`dcf_rollup_minute` AS
SELECT toStartOfMinute(toDateTime(event_time)) AS bucket, gateway, kind, rule_uuid, rule_name, action,
  ifNull(enforced, 2) AS enforced,
  if(empty(src_groups), '', src_groups[1]) AS src_group,
  uniqState(event_id) AS events, maxState(event_time) AS last_seen
FROM `vca`.`dcf_events`
GROUP BY bucket, gateway, kind, rule_uuid, rule_name, action, enforced, src_group;

-- dcf_rollup_hour table
CREATE TABLE IF NOT EXISTS `vca`.`dcf_rollup_hour` (
  bucket DateTime('UTC'),
  gateway LowCardinality(String),
  kind LowCardinality(String),
  rule_uuid LowCardinality(String),
  rule_name LowCardinality(String),
  action LowCardinality(String),
  enforced UInt8,
  src_group LowCardinality(String),
  events AggregateFunction(uniq, FixedString(16)),
  last_seen AggregateFunction(max, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, action, rule_uuid, rule_name, enforced, src_group, gateway, kind);

-- dcf_rollup_hour view
CREATE MATERIALIZED VIEW IF NOT EXISTS `vca`.`dcf_rollup_hour_mv` TO `vca`.`dcf_rollup_hour` AS
SELECT toStartOfHour(toDateTime(event_time)) AS bucket, gateway, kind, rule_uuid, rule_name, action,
  ifNull(enforced, 2) AS enforced,
  if(empty(src_groups), '', src_groups[1]) AS src_group,
  uniqState(event_id) AS events, maxState(event_time) AS last_seen
FROM `vca`.`dcf_events`
GROUP BY bucket, gateway, kind, rule_uuid, rule_name, action, enforced, src_group;

-- policy_rules
CREATE TABLE IF NOT EXISTS `vca`.`policy_rules` (
  `catalog_version` LowCardinality(String),
  `loaded_at` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  `catalog_sha256` FixedString(32),
  `rule_uuid` LowCardinality(String),
  `rule_name` LowCardinality(String),
  `priority` UInt32,
  `action` LowCardinality(String),
  `protocol` LowCardinality(String),
  `ports` Array(String),
  `src_groups` Array(LowCardinality(String)),
  `dst_groups` Array(LowCardinality(String)),
  `web_groups` Array(LowCardinality(String)),
  `logging` UInt8,
  `enforced` UInt8,
  `scenario` LowCardinality(String),
  `tags` Array(LowCardinality(String)),
  `mode` LowCardinality(String),
  `agent_class` LowCardinality(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(loaded_at)
ORDER BY (catalog_version, priority, rule_name, rule_uuid);

-- ingest_batches
CREATE TABLE IF NOT EXISTS `vca`.`ingest_batches` (
  `chain_id` LowCardinality(String) COMMENT 'one hash chain per collector',
  `seq` UInt64,
  `batch_id` FixedString(16),
  `inserted_at` DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  `first_event_id` FixedString(16),
  `last_event_id` FixedString(16),
  `rows` UInt32,
  `unparsed_rows` UInt32,
  `content_sha256` FixedString(32) COMMENT 'SHA-256 over the batch\'s rows (see Verify)',
  `prev_sha256` FixedString(32),
  `chain_sha256` FixedString(32) COMMENT 'SHA-256(prev_sha256 || content_sha256)'
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(inserted_at)
ORDER BY (chain_id, seq);

-- dcf_events.rule_action
ALTER TABLE `vca`.`dcf_events` ADD COLUMN IF NOT EXISTS `rule_action` LowCardinality(String) COMMENT 'the action the policy catalog declares for the rule';

-- dcf_events.rule_tags
ALTER TABLE `vca`.`dcf_events` ADD COLUMN IF NOT EXISTS `rule_tags` Array(LowCardinality(String)) COMMENT 'OWASP LLM Top 10 and MITRE ATLAS ids of the rule';

-- dcf_events.admitting_web_group
ALTER TABLE `vca`.`dcf_events` ADD COLUMN IF NOT EXISTS `admitting_web_group` LowCardinality(String) COMMENT 'for a denied name: the WebGroup of an allow rule that matches it';

-- dcf_events.would_be_denied
ALTER TABLE `vca`.`dcf_events` ADD COLUMN IF NOT EXISTS `would_be_denied` UInt8 COMMENT '1 = DENY logged in monitor mode';

-- dcf_events.catalog_version
ALTER TABLE `vca`.`dcf_events` ADD COLUMN IF NOT EXISTS `catalog_version` LowCardinality(String) COMMENT 'the policy catalog that enriched the row';

-- schema_migrations
CREATE TABLE IF NOT EXISTS `vca`.schema_migrations (
  version UInt32,
  description String,
  profile LowCardinality(String),
  applied_at DateTime('UTC')
) ENGINE = MergeTree() ORDER BY version;
