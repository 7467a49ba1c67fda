package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migration is one additive schema change. Versions only grow; a released
// migration is never edited, a later one adds to it.
type migration struct {
	version     uint32
	description string
	statements  func(Options) []statement
}

var migrations = []migration{
	{1, "dcf_events, raw_unparsed, rollups, policy_rules, ingest_batches", ddl},
	{2, "dcf_events: declared rule action, rule tags, admitting WebGroup, would-be-denied flag, catalog version",
		addColumns("dcf_events", eventColumns, 2)},
	{3, "rollups count decisions (sum of count(), deduplicated with the insert), rebuilt from dcf_events", countingRollups},
	{4, "dcf_events: IDS alert flow id, application protocol, signature text, category and severity; the source's Kubernetes workload",
		addColumns("dcf_events", eventColumns, 4)},
}

// schemaVersion is the version a fully migrated database has.
var schemaVersion = migrations[len(migrations)-1].version

// migrationTableDDL: on a cluster every server is a replica of one
// schema_migrations table (no shard in its Keeper path), so a migration
// recorded through any server is seen by all.
func migrationTableDDL(o Options) []statement {
	l := newLayout(o)
	engine := "MergeTree()"
	if l.clustered() {
		engine = fmt.Sprintf("ReplicatedMergeTree(%s, '{shard}-{replica}')", quoteString("/clickhouse/tables/vca-schema/"+o.Database+"/schema_migrations"))
	}
	return []statement{{"schema_migrations", fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.schema_migrations%s (
  version UInt32,
  description String,
  profile LowCardinality(String) COMMENT 'the server version that applied it',
  applied_at DateTime('UTC')
) ENGINE = %s ORDER BY version`, l.db, l.onCluster(), engine)}}
}

// migrate brings the database to schemaVersion and returns the migrations it
// applied.
func migrate(ctx context.Context, conn driver.Conn, server string, o Options) ([]uint32, error) {
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(o.Database)+newLayout(o).onCluster()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", o.Database, err)
	}
	for _, s := range migrationTableDDL(o) {
		if err := conn.Exec(ctx, s.sql); err != nil {
			return nil, fmt.Errorf("create %s: %w", s.what, err)
		}
	}
	applied := map[uint32]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM "+quoteIdent(o.Database)+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	var done []uint32
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		for _, s := range m.statements(o) {
			if err := conn.Exec(ctx, s.sql); err != nil {
				return done, fmt.Errorf("migration %d (%s): %w", m.version, s.what, err)
			}
		}
		if err := recordMigration(ctx, conn, o.Database, m, server); err != nil {
			return done, fmt.Errorf("record migration %d: %w", m.version, err)
		}
		done = append(done, m.version)
	}
	return done, nil
}

// recordMigration notes the migration as applied by the server version.
func recordMigration(ctx context.Context, conn driver.Conn, db string, m migration, server string) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+quoteIdent(db)+".schema_migrations (version, description, profile, applied_at)")
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(m.version, m.description, server, time.Now().UTC()); err != nil {
		return err
	}
	return b.Send()
}

// countingRollups replaces the rollups of the first schema, which held
// uniqState(event_id) so that replayed inserts could not inflate them,
// by ones that count: each row adds count() to a SimpleAggregateFunction
// sum. A retried insert carries the same insert_deduplication_token, and
// with deduplicate_blocks_in_dependent_materialized_views the server drops
// the block it would add here too, so the count is exact and far cheaper
// for the server than a uniq state per bucket.
//
// The old tables and views go, the new ones are created and filled from
// dcf_events (through the Distributed tables on a cluster). Rows inserted
// by another collector while this runs may be missing from the rollups or
// counted twice there; dcf_events is not touched.
func countingRollups(o Options) []statement {
	l := newLayout(o)
	on := l.onCluster()
	var out []statement
	for _, r := range rollups {
		out = append(out, statement{r.name + " view (old)", fmt.Sprintf("DROP VIEW IF EXISTS %s.%s%s", l.db, quoteIdent(r.name+"_mv"), on)})
		if l.clustered() {
			out = append(out, statement{r.name + " distributed (old)", fmt.Sprintf("DROP TABLE IF EXISTS %s.%s%s", l.db, quoteIdent(r.name), on)})
		}
		// SYNC: a Replicated table's Keeper path must be gone before the
		// new table claims it.
		out = append(out, statement{r.name + " (old)", fmt.Sprintf("DROP TABLE IF EXISTS %s%s SYNC", l.stored(r.name), on)})
		out = append(out, rollupDDL(l, r.name, r.bucket)...)
		out = append(out, statement{r.name + " rebuilt", fmt.Sprintf("INSERT INTO %s.%s\n%s\nFROM %s.%s\nGROUP BY bucket, gateway, kind, rule_uuid, rule_name, action, enforced, src_group",
			l.db, quoteIdent(r.name), rollupSelect(r.bucket), l.db, quoteIdent("dcf_events"))})
	}
	return out
}

// rollups are the two rollup tables and their time buckets.
var rollups = []struct{ name, bucket string }{
	{"dcf_rollup_minute", "toStartOfMinute"},
	{"dcf_rollup_hour", "toStartOfHour"},
}

// rollupSelect is what a rollup keeps of dcf_events rows.
func rollupSelect(bucket string) string {
	return fmt.Sprintf(`SELECT %s(toDateTime(event_time)) AS bucket, gateway, kind, rule_uuid, rule_name, action,
  ifNull(enforced, 2) AS enforced,
  if(empty(src_groups), '', src_groups[1]) AS src_group,
  count() AS events, max(event_time) AS last_seen`, bucket)
}

// rollupDDL creates a counting rollup, the view that fills it from
// dcf_events (on a cluster, shard by shard) and its Distributed table.
func rollupDDL(l layout, name, bucket string) []statement {
	on := l.onCluster()
	out := []statement{
		{name + " table", fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s%s (
  bucket DateTime('UTC'),
  gateway LowCardinality(String),
  kind LowCardinality(String),
  rule_uuid LowCardinality(String),
  rule_name LowCardinality(String),
  action LowCardinality(String),
  enforced UInt8 COMMENT '0 monitor, 1 enforced, 2 not logged',
  src_group LowCardinality(String) COMMENT 'the first source SmartGroup',
  events SimpleAggregateFunction(sum, UInt64) COMMENT 'decisions: sum() them',
  last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
) ENGINE = %s
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, action, rule_uuid, rule_name, enforced, src_group, gateway, kind)%s
SETTINGS %s`, l.stored(name), on, l.engine("AggregatingMergeTree", name), l.ttl("bucket"), l.dedupWindow())},
		{name + " view", fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s TO %s AS\n%s\nFROM %s\nGROUP BY bucket, gateway, kind, rule_uuid, rule_name, action, enforced, src_group",
			l.db, quoteIdent(name+"_mv"), on, l.stored(name), rollupSelect(bucket), l.stored("dcf_events"))},
	}
	return append(out, l.distributed(name, "rand()")...)
}
