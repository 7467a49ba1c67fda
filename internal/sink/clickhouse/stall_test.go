package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testwait"
)

// Many chains written through one store, whose inserters combine sealed
// batches of several chains into one INSERT: every write becomes durable
// and every chain verifies. Before the ingest_batches rows were recorded
// apart from the grouped inserts, two inserters draining the queue at once
// could each hold a batch whose chain predecessor the other held, and both
// waited for ever (a Kafka writer's partitions stalled this way); this
// test saw it in 3 of 5 runs.
func TestManyChainsThroughOneStoreAllBecomeDurable(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.BatchSize = 4000
	cfg.FlushInterval = config.Duration(10 * time.Millisecond) // batches are sealed small, by age
	cfg.Inserters = 8
	cfg.MaxPendingBatches = 64
	cfg.MaxConnections = 16
	ctx := context.Background()
	st, err := OpenStore(ctx, cfg, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		st.Shutdown(sctx)
	}()

	const chains, writes = 16, 200
	events := corpusEvents(t, 0)[:20]
	var parsed uint64
	for _, e := range events {
		if e.Status != parse.StatusFailed {
			parsed++
		}
	}
	durable := make([]atomic.Int32, chains)
	sinks := make([]*Sink, chains)
	for c := range sinks {
		if sinks[c], err = st.NewSink(ctx, fmt.Sprintf("chain-%02d", c), chains); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for c, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]parse.Event, len(events))
			for w := range writes {
				copy(batch, events)
				for i := range batch {
					batch[i].EventID = parse.UUID{0: byte(c + 1)}
					binary.BigEndian.PutUint64(batch[i].EventID[8:], uint64(w*len(events)+i))
				}
				if err := s.Write(ctx, batch, func() { durable[c].Add(1) }); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Duration(c%4) * time.Millisecond)
			}
		}()
	}
	total := func() (n int32) {
		for c := range durable {
			n += durable[c].Load()
		}
		return n
	}
	testwait.Until(t, "every write to be durable", testwait.Idle, func() (bool, string) {
		per := make([]string, chains)
		for c := range durable {
			per[c] = fmt.Sprint(durable[c].Load())
		}
		return total() == chains*writes, fmt.Sprintf("%d of %d durable (per chain %s of %d)", total(), chains*writes, strings.Join(per, " "), writes)
	})
	wg.Wait()
	for _, s := range sinks {
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, want := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events"), parsed*chains*writes; n != want {
		t.Errorf("dcf_events holds %d rows, want %d", n, want)
	}
	for c := range sinks {
		rep, err := Verify(ctx, conn, db, fmt.Sprintf("chain-%02d", c))
		if err != nil || !rep.OK() {
			t.Errorf("chain %d: %v %+v", c, err, rep)
		}
	}
}

// The stall above, made certain: two groups, each holding one chain's
// first batch and the other chain's second, inserted at once, as two
// inserters draining the queue together can form them. Both finish and
// every write becomes durable.
func TestCrossedGroupsDoNotWaitForEachOther(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.Inserters = 0 // this test is the inserters
	cfg.MaxPendingBatches = 8
	ctx := context.Background()
	st, err := OpenStore(ctx, cfg, prometheus.NewRegistry(), zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := corpusEvents(t, 0)[:10]
	var durable atomic.Int32
	sealed := map[string][]*batch{}
	for _, chain := range []string{"x", "y"} {
		s, err := st.NewSink(ctx, chain, 1)
		if err != nil {
			t.Fatal(err)
		}
		for w := range 2 {
			batch := slices.Clone(events)
			for i := range batch {
				batch[i].EventID = parse.UUID{0: chain[0]}
				binary.BigEndian.PutUint64(batch[i].EventID[8:], uint64(w*len(events)+i))
			}
			if err := s.Write(ctx, batch, func() { durable.Add(1) }); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			err := s.sealLocked() // unless the ticker just did
			s.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			sealed[chain] = append(sealed[chain], <-st.pending)
		}
	}
	groups := []*group{
		newGroup([]*batch{sealed["x"][0], sealed["y"][1]}),
		newGroup([]*batch{sealed["y"][0], sealed["x"][1]}),
	}
	for _, g := range groups {
		go st.insert(g)
	}
	testwait.For(t, "every write of the crossed groups to be durable", testwait.Idle, func() bool { return durable.Load() == 4 }, func() string {
		return fmt.Sprintf("%d of 4 writes durable; ingest_batches holds %d rows, dcf_events %d", durable.Load(),
			testch.Count(t, conn, "SELECT count() FROM "+db+".ingest_batches"), testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events"))
	})
	for _, chain := range []string{"x", "y"} {
		if rep, err := Verify(ctx, conn, db, chain); err != nil || !rep.OK() || rep.Batches != 2 {
			t.Errorf("chain %s: %v %+v", chain, err, rep)
		}
	}
}
