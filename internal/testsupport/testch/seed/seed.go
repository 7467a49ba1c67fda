// Package seed writes events into the test ClickHouse server through the
// collector's own ClickHouse sink, so tests read what production writes.
package seed

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// Write inserts events into database db on the server at addr in batches
// of batchRows, records the catalog in policy_rules, and returns the number
// of batches once every one is durable.
func Write(t testing.TB, addr, db, chainID string, ix *enrich.Index, events []parse.Event, batchRows int) int {
	t.Helper()
	cfg := clickhouse.Config{Addresses: []string{addr}, Database: db, ChainID: chainID, BatchSize: batchRows}
	cfg.SetDefaults()
	cfg.DeadLetterDir = t.TempDir()
	ctx := context.Background()
	s, err := clickhouse.New(ctx, cfg, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	if ix != nil {
		s.Store().RecordCatalog(ix)
	}
	done := make(chan struct{}, len(events)/batchRows+1)
	var writes int
	for i := 0; i < len(events); i += batchRows {
		if err := s.Write(ctx, events[i:min(i+batchRows, len(events))], func() { done <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
		writes++
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(done) != writes {
		t.Fatalf("%d of %d writes durable after Close", len(done), writes)
	}
	if ix != nil {
		conn := testch.Conn(t, addr)
		testwait.For(t, "the catalog in policy_rules", testwait.Idle, func() bool {
			return testch.Count(t, conn, "SELECT count() FROM "+db+".policy_rules WHERE catalog_version = ?", ix.Version()) > 0
		}, func() string { return "policy_rules holds none of its rules" })
	}
	return writes
}
