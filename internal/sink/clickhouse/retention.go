package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention on the compat profile: old servers have no TTL, so whole day
// partitions of dcf_events and raw_unparsed (and month partitions of the
// rollups, once the whole month is past) are dropped when older than
// retention_days. The modern profile leaves this to TTL.

// dropExpired drops the partitions that lie entirely before now minus days
// and returns what it dropped ("table partition").
func dropExpired(ctx context.Context, conn driver.Conn, db string, days int, now time.Time) ([]string, error) {
	cutoff := now.UTC().AddDate(0, 0, -days)
	rows, err := conn.Query(ctx, `SELECT DISTINCT table, partition FROM system.parts
WHERE database = ? AND active AND table IN ('dcf_events', 'raw_unparsed', 'dcf_rollup_minute', 'dcf_rollup_hour')`, db)
	if err != nil {
		return nil, err
	}
	type part struct{ table, partition string }
	var expired []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.table, &p.partition); err != nil {
			rows.Close()
			return nil, err
		}
		if end := partitionEnd(p.table, p.partition); !end.IsZero() && !end.After(cutoff) {
			expired = append(expired, p)
		}
	}
	rows.Close()
	var dropped []string
	for _, p := range expired {
		q := fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION %s", quoteIdent(db), quoteIdent(p.table), partitionLiteral(p.table, p.partition))
		if err := conn.Exec(ctx, q); err != nil {
			return dropped, fmt.Errorf("%s: %w", q, err)
		}
		dropped = append(dropped, p.table+" "+p.partition)
	}
	return dropped, nil
}

// partitionEnd is the first instant after the partition's range, or zero
// when the partition id is not understood (then it is left alone).
func partitionEnd(table, partition string) time.Time {
	switch table {
	case "dcf_events", "raw_unparsed": // PARTITION BY date: "2026-11-25"
		d, err := time.Parse("2006-01-02", partition)
		if err != nil {
			return time.Time{}
		}
		return d.AddDate(0, 0, 1)
	default: // PARTITION BY toYYYYMM(bucket): "202611"
		m, err := time.Parse("200601", partition)
		if err != nil {
			return time.Time{}
		}
		return m.AddDate(0, 1, 0)
	}
}

func partitionLiteral(table, partition string) string {
	if table == "dcf_events" || table == "raw_unparsed" {
		return quoteString(partition)
	}
	return partition
}

// retention runs dropExpired at start and then hourly.
func (s *Store) retention() {
	defer s.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		dropped, err := dropExpired(ctx, s.conn, s.cfg.Database, s.cfg.RetentionDays, time.Now())
		cancel()
		if err != nil {
			s.log.Error().Err(err).Msg("dropping expired partitions failed; retrying in an hour")
		} else if len(dropped) > 0 {
			s.log.Info().Strs("partitions", dropped).Int("retention_days", s.cfg.RetentionDays).Msg("dropped expired partitions")
		}
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}
