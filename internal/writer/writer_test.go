package writer

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	segkafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

const topic = "vca-writer-test"

// records encodes n events as the edge does, cycling through the corpus.
func records(n int) []segkafka.Message {
	lines := testcorpus.All()
	p := parse.NewParser(parse.Options{})
	rx := time.Now().UTC().Add(-time.Hour)
	out := make([]segkafka.Message, n)
	var e parse.Event
	for i := range out {
		e.EventID = parse.UUID{0: 0xed, 1: 0x9e}
		e.EventID = parse.NewEventID(e.EventID.Origin(), uint64(i))
		e.ReceivedAt, e.Listener, e.Transport = rx.Add(time.Duration(i)*time.Millisecond), "tcp", "tcp"
		e.Peer = netip.MustParseAddrPort("10.1.0.5:41000")
		p.Parse(lines[i%len(lines)].Message, &e)
		out[i] = segkafka.Message{Key: stream.AppendKey(nil, &e), Value: stream.AppendValue(nil, &e)}
	}
	return out
}

// produce writes the records to the test topic, acknowledged by all.
func produce(t *testing.T, brokers []string, msgs []segkafka.Message) {
	t.Helper()
	w := &segkafka.Writer{Addr: segkafka.TCP(brokers...), Topic: topic, Balancer: &segkafka.Murmur2Balancer{}, RequiredAcks: segkafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

// consumerConfig is a writer's Kafka configuration with short timeouts.
func consumerConfig(brokers []string) stream.Config {
	kc := stream.Config{Brokers: brokers, Topic: topic,
		Consumer: stream.ConsumerConfig{SessionTimeout: config.Duration(2 * time.Second), RebalanceTimeout: config.Duration(10 * time.Second), MaxWait: config.Duration(50 * time.Millisecond)}}
	kc.SetDefaults()
	return kc
}

// startWriter opens a store and runs a writer on it; stop ends both.
func startWriter(t *testing.T, kc stream.Config, cc clickhouse.Config, level zerolog.Level) (w *Writer, reg *prometheus.Registry, stop func()) {
	t.Helper()
	reg = prometheus.NewRegistry()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(level)
	st, err := clickhouse.OpenStore(context.Background(), cc, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	w, err = New(kc, st, parse.Options{}, reg, log)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return w, reg, func() {
		cancel()
		err := <-done
		ctx, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancelShutdown()
		st.Shutdown(ctx) // bounded: after a failure ClickHouse may be down
		if err != nil {
			t.Fatal(err)
		}
	}
}

// run consumes with a writer of the given group until cond holds, then
// stops it and returns its metrics. stored counts the rows in ClickHouse,
// for the failure message when the writer stops making progress.
func run(t *testing.T, kc stream.Config, cc clickhouse.Config, group string, stored func() uint64, cond func(*metrics) bool) *metrics {
	t.Helper()
	kc.Consumer.Group = group
	w, _, stop := startWriter(t, kc, cc, zerolog.WarnLevel)
	defer stop()
	testwait.Until(t, "group "+group+" to consume the topic", testwait.Idle, func() (bool, string) {
		return cond(w.m), progress(w, stored())
	})
	return w.m
}

// progress describes what a writer has done so far.
func progress(w *Writer, stored uint64) string {
	m := w.m
	var offsets []string
	for p := range 8 {
		l := strconv.Itoa(p)
		if c := testutil.ToFloat64(m.consumed.WithLabelValues(l)); c > 0 {
			offsets = append(offsets, fmt.Sprintf("p%d read %v committed %v", p, c, testutil.ToFloat64(m.committed.WithLabelValues(l))))
		}
	}
	return fmt.Sprintf("%d rows stored; %v generations, %v skipped on resume, %v edge copies dropped, %v undecodable; %s; stall: %v",
		stored, testutil.ToFloat64(m.generations), testutil.ToFloat64(m.skipped), testutil.ToFloat64(m.duplicates),
		testutil.ToFloat64(m.undecodable), strings.Join(offsets, ", "), w.Stall(10*time.Second))
}

// A writer inserts every record once; a second group, which has committed
// nothing, finds in each partition's chain that ClickHouse already holds
// the records and reads none of them again. A record that is not an event
// lands in raw_unparsed, whole.
func TestWriterInsertsOnceAndResumesFromClickHouse(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(4, topic), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n, replayed = 3000, 100
	msgs := records(n)
	msgs = append(msgs, segkafka.Message{Key: []byte("x"), Value: []byte("\x00not an event")})
	// An edge that crashed after the brokers acknowledged these, before its
	// spool cursor moved, produces them again.
	msgs = append(msgs, msgs[:replayed]...)
	produce(t, c.ListenAddrs(), msgs)

	kc := consumerConfig(c.ListenAddrs())
	cc := clickhouse.Config{Addresses: []string{addr}, Database: db, FlushInterval: config.Duration(100 * time.Millisecond), MaxConnections: 16, DeadLetterDir: t.TempDir()}
	cc.SetDefaults()
	stored := func() uint64 {
		return testch.Count(t, conn, fmt.Sprintf("SELECT (SELECT count() FROM %[1]s.dcf_events) + (SELECT count() FROM %[1]s.raw_unparsed)", db))
	}
	m := run(t, kc, cc, "g1", stored, func(m *metrics) bool {
		return stored() >= n+1 && testutil.ToFloat64(m.duplicates) >= replayed
	})
	if got := testutil.ToFloat64(m.undecodable); got != 1 {
		t.Errorf("undecodable records = %v, want 1", got)
	}
	if got := stored(); got != n+1 {
		t.Fatalf("stored %d rows, want %d (the edge's copies dropped)", got, n+1)
	}
	if got := testutil.ToFloat64(m.duplicates); got != replayed {
		t.Errorf("duplicates dropped = %v, want %d", got, replayed)
	}
	if got := testch.Count(t, conn, fmt.Sprintf("SELECT (SELECT sum(events) FROM %[1]s.dcf_rollup_minute) + (SELECT count() FROM %[1]s.raw_unparsed)", db)); got != n+1 {
		t.Errorf("the rollup and raw_unparsed count %d events, want %d", got, n+1)
	}
	if got := testch.Count(t, conn, fmt.Sprintf("SELECT count() FROM %s.raw_unparsed WHERE raw = '\\0not an event' AND parse_error LIKE 'stream record is not a collector event:%%'", db)); got != 1 {
		t.Errorf("the undecodable record is not in raw_unparsed whole (%d rows)", got)
	}
	var chains uint64
	rows, _ := conn.Query(context.Background(), fmt.Sprintf("SELECT DISTINCT chain_id FROM %s.ingest_batches", db))
	for rows.Next() {
		var id string
		rows.Scan(&id)
		rep, err := clickhouse.Verify(context.Background(), conn, db, id)
		if err != nil || !rep.OK() {
			t.Errorf("chain %s: %v %v", id, err, rep.Problems)
		}
		chains++
	}
	rows.Close()
	if chains != 4 {
		t.Errorf("%d chains, want one per partition (4)", chains)
	}

	// A group with no commits starts at the first offset of every
	// partition; the chains say ClickHouse holds all of it.
	m = run(t, kc, cc, "g2", stored, func(m *metrics) bool {
		return testutil.ToFloat64(m.generations) >= 1 && testutil.ToFloat64(m.skipped)+testutil.ToFloat64(m.duplicates) >= n+1+replayed
	})
	time.Sleep(500 * time.Millisecond)
	if got := stored(); got != n+1 {
		t.Errorf("after the second group: %d rows stored, want %d (nothing read twice)", got, n+1)
	}
	// Records past the last stored one (the edge's copies at the end of a
	// partition) are read again, and the window read back drops them.
	if skipped, dups := testutil.ToFloat64(m.skipped), testutil.ToFloat64(m.duplicates); skipped+dups != n+1+replayed || skipped < n {
		t.Errorf("skipped %v records on resume and dropped %v copies, want %d together", skipped, dups, n+1+replayed)
	}
}

func TestWindowRemembersTheLastRecords(t *testing.T) {
	id := func(n byte) parse.UUID { return parse.UUID{15: n} }
	for _, tt := range []struct {
		size int
		adds []byte
		want []bool
	}{
		{3, []byte{1, 2, 1, 3, 4, 3, 1}, []bool{true, true, false, true, true, false, true}}, // 4 evicts 1
		{1, []byte{1, 1, 2, 1}, []bool{true, false, true, true}},
		{0, []byte{1, 1}, []bool{true, true}},  // off
		{-1, []byte{1, 1}, []bool{true, true}}, // off
	} {
		w := newWindow(tt.size)
		for i, a := range tt.adds {
			if got := w.add(id(a)); got != tt.want[i] {
				t.Errorf("size %d, add #%d (%d) = %v, want %v", tt.size, i, a, got, tt.want[i])
			}
		}
		if len(w.ids) > max(tt.size, 0) {
			t.Errorf("size %d: remembers %d ids", tt.size, len(w.ids))
		}
	}
}

// ClickHouse goes down while a writer consumes: nothing past what is
// stored is committed, the inserts are retried, and once the server is
// back every record is there once.
func TestWriterRidesOutAClickHouseOutage(t *testing.T) {
	srv := testch.OwnServer(t)
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all := records(4000)
	kc := consumerConfig(c.ListenAddrs())
	cc := clickhouse.Config{Addresses: []string{srv.Addr}, Database: db, FlushInterval: config.Duration(100 * time.Millisecond),
		MaxRetryBackoff: config.Duration(500 * time.Millisecond), DialTimeout: config.Duration(time.Second), DeadLetterDir: t.TempDir()}
	cc.SetDefaults()
	w, reg, stop := startWriter(t, kc, cc, zerolog.ErrorLevel)
	defer stop()
	countQuery := fmt.Sprintf("SELECT (SELECT count() FROM %[1]s.dcf_events) + (SELECT count() FROM %[1]s.raw_unparsed)", db)
	count := func() uint64 { return testch.Count(t, conn, countQuery) }
	rows := func() uint64 { // for progress reports, also while the server is down
		var n uint64
		conn.QueryRow(context.Background(), countQuery).Scan(&n)
		return n
	}
	committed := func() float64 {
		var sum float64
		for _, p := range []string{"0", "1"} {
			sum += testutil.ToFloat64(w.m.committed.WithLabelValues(p))
		}
		return sum
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		testwait.Until(t, what, testwait.Idle, func() (bool, string) {
			return cond(), fmt.Sprintf("committed offsets sum to %v; %s", committed(), progress(w, rows()))
		})
	}

	produce(t, c.ListenAddrs(), all[:2000])
	waitUntil("the first half in ClickHouse and committed", func() bool { return count() == 2000 && committed() == 2000 })
	srv.Kill()
	produce(t, c.ListenAddrs(), all[2000:])
	// With ClickHouse down the writer reads on until its batches are full
	// (how far depends on how the records arrived: backpressure stops it
	// at a batch boundary), stores nothing, commits nothing more, and says
	// so: a stall, named by partition in Stall (what /readyz reports) and
	// in the metric.
	consumed := func() float64 {
		return testutil.ToFloat64(w.m.consumed.WithLabelValues("0")) + testutil.ToFloat64(w.m.consumed.WithLabelValues("1"))
	}
	maxStall := func() float64 {
		var stalled float64
		for _, p := range []string{"0", "1"} {
			stalled = max(stalled, gauge(t, reg, "vca_collector_kafka_partition_stall_seconds", p))
		}
		return stalled
	}
	waitUntil("records read past what is stored, and the stall reported", func() bool {
		return consumed() > 2000 && w.Stall(time.Second) != nil && maxStall() >= 1
	})
	if got := committed(); got != 2000 {
		t.Fatalf("committed offsets sum to %v with ClickHouse down and %v records read, want 2000 (nothing past what is stored)", got, consumed())
	}
	if stall := w.Stall(time.Second); stall == nil || !strings.Contains(stall.Error(), "partition") {
		t.Fatalf("with ClickHouse down and records read, Stall(1s) = %v", stall)
	} else {
		t.Logf("stall reported after %v records read: %v", consumed(), stall)
	}
	srv.Start()
	waitUntil("the second half in ClickHouse and committed", func() bool { return rows() >= 4000 && committed() == 4000 })
	testwait.For(t, "the stall to clear", time.Minute, func() bool { return w.Stall(time.Second) == nil }, func() string { return progress(w, rows()) })
	if got := count(); got != 4000 {
		t.Errorf("ClickHouse holds %d rows for 4000 records (a retried insert must be dropped by its token)", got)
	}
	if got := testch.Count(t, conn, fmt.Sprintf("SELECT (SELECT sum(events) FROM %[1]s.dcf_rollup_hour) + (SELECT count() FROM %[1]s.raw_unparsed)", db)); got != 4000 {
		t.Errorf("the rollup and raw_unparsed count %d events, want 4000", got)
	}
}

// gauge reads one labelled value of a gauge from the registry (0 if absent).
func gauge(t *testing.T, reg *prometheus.Registry, name, partition string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "partition" && l.GetValue() == partition {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}
