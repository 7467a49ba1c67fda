package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migration is one additive schema change. Versions only grow; a released
// migration is never edited, a later one adds to it.
type migration struct {
	version     uint32
	description string
	statements  func(Profile, Options) []statement
}

var migrations = []migration{
	{1, "dcf_events, raw_unparsed, rollups, policy_rules, ingest_batches", ddl},
	{2, "dcf_events: declared rule action, rule tags, admitting WebGroup, would-be-denied flag, catalog version",
		addColumns("dcf_events", eventColumns, 2)},
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
  profile LowCardinality(String),
  applied_at DateTime('UTC')
) ENGINE = %s ORDER BY version`, l.db, l.onCluster(), engine)}}
}

// migrate brings the database to schemaVersion and returns the migrations it
// applied.
func migrate(ctx context.Context, conn driver.Conn, p Profile, o Options) ([]uint32, error) {
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
		for _, s := range m.statements(p, o) {
			if err := conn.Exec(ctx, s.sql); err != nil && !duplicateColumn(err, s) {
				return done, fmt.Errorf("migration %d (%s): %w", m.version, s.what, err)
			}
		}
		if err := recordMigration(ctx, conn, o.Database, m, p); err != nil {
			return done, fmt.Errorf("record migration %d: %w", m.version, err)
		}
		done = append(done, m.version)
	}
	return done, nil
}

// recordMigration inserts through a batch: a plain INSERT ... VALUES sent
// with Exec waits for a data block that never comes on old servers.
func recordMigration(ctx context.Context, conn driver.Conn, db string, m migration, p Profile) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+quoteIdent(db)+".schema_migrations (version, description, profile, applied_at)")
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(m.version, m.description, p.String(), time.Now().UTC()); err != nil {
		return err
	}
	return b.Send()
}

// duplicateColumn: an ADD COLUMN that an interrupted earlier run already
// applied (servers without ADD COLUMN IF NOT EXISTS report code 15).
func duplicateColumn(err error, s statement) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == 15 && strings.Contains(s.sql, " ADD COLUMN ")
}
