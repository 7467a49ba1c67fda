package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/freeport"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testkafka"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

const kafkaTopic = "vca-dcf-events"

// startKafka runs a three-broker Kafka-protocol cluster in the test
// process, on loopback; the collectors reach it over TCP.
func startKafka(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(6, kafkaTopic), kfake.GroupMinSessionTimeout(time.Second)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func brokersYAML(addrs []string) string {
	return `["` + strings.Join(addrs, `", "`) + `"]`
}

// startEdge runs an edge collector: a TCP listener, a spool, Kafka.
func startEdge(t *testing.T, dir string, brokers []string) *daemon {
	t.Helper()
	writeConfig(t, dir, fmt.Sprintf(`mode: edge
listeners:
  tcp:
    - {name: tcp, address: "127.0.0.1:0"}
spool: {dir: %q}
kafka:
  brokers: %s
  topic: %s
  producer: {max_retry_backoff: 500ms, timeout: 2s}
admin: {address: "127.0.0.1:0"}
shutdown_timeout: 10s
`, filepath.Join(dir, "spool"), brokersYAML(brokers), kafkaTopic))
	return startDaemon(t, dir, nil)
}

// startWriter runs a writer collector of the group "writers".
func startWriter(t *testing.T, dir string, brokers []string, chAddr, db string) *daemon {
	t.Helper()
	writeConfig(t, dir, fmt.Sprintf(`mode: writer
kafka:
  brokers: %s
  topic: %s
  consumer: {group: writers, session_timeout: 2s, rebalance_timeout: 10s, max_wait: 100ms}
sinks:
  clickhouse: {addresses: [%q], database: %s, flush_interval: 200ms, batch_size: 3000, max_retry_backoff: 1s}
admin: {address: "127.0.0.1:0"}
shutdown_timeout: 20s
`, brokersYAML(brokers), kafkaTopic, chAddr, db))
	return startDaemon(t, dir, nil)
}

// kafkaChains verifies every partition's hash chain the writers built.
func kafkaChains(t *testing.T, conn driver.Conn, db string) int {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT DISTINCT chain_id FROM %s.ingest_batches", db))
	if err != nil {
		t.Fatal(err)
	}
	var chains []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		chains = append(chains, c)
	}
	rows.Close()
	for _, c := range chains {
		if !strings.HasPrefix(c, "kafka:"+kafkaTopic+"/") {
			t.Errorf("chain %q is not a partition chain", c)
		}
		rep, err := clickhouse.Verify(context.Background(), conn, db, c)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("chain %s: %v", c, rep.Problems)
		}
	}
	return len(chains)
}

// An edge collector produces a stream to a three-broker cluster; two
// writers consume it into ClickHouse. One writer is killed with SIGKILL
// mid-stream and restarted, a third joins and leaves (two more
// rebalances): every message is in ClickHouse exactly once.
func TestKafkaEdgeAndWritersCountEveryEventOnce(t *testing.T) {
	chAddr := testch.Addr(t)
	conn := testch.Conn(t, chAddr)
	db := testch.Database(t, conn)
	k := startKafka(t)
	brokers := k.ListenAddrs()
	root := t.TempDir()

	wa := startWriter(t, filepath.Join(root, "writer-a"), brokers, chAddr, db)
	wb := startWriter(t, filepath.Join(root, "writer-b"), brokers, chAddr, db)
	edge := startEdge(t, filepath.Join(root, "edge"), brokers)

	const total = 60000
	st := startStream(t, edge.addrs["tcp"], total, 4000)
	waitFor(t, "first rows in clickhouse", func() (bool, string) { l := landed(t, conn, db); return l.rows > 3000, fmt.Sprintf("%+v", l) })
	wa.kill(t)
	t.Logf("writer a killed with %d rows landed", landed(t, conn, db).rows)
	time.Sleep(3 * time.Second) // the group notices (session timeout 2s) and b takes every partition
	wa = startWriter(t, filepath.Join(root, "writer-a"), brokers, chAddr, db)
	time.Sleep(2 * time.Second)
	wc := startWriter(t, filepath.Join(root, "writer-c"), brokers, chAddr, db)
	time.Sleep(2 * time.Second)
	wc.stop(t)
	st.wait(t)
	if st.err != nil {
		t.Fatal(st.err)
	}
	l := waitLanded(t, conn, db, total)
	// A writer killed with SIGKILL may have stored batches it had not
	// recorded; their next owner stores them again in other batches, which
	// merges collapse (FINAL).
	t.Logf("landed: %+v", l)
	if l.final != total || l.distinct != total || l.min != 0 || l.max != total-1 {
		t.Fatalf("want each of %d messages once, got %+v", total, l)
	}
	if ids := testch.Count(t, conn, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.dcf_events", db)); ids != total {
		t.Errorf("distinct event ids = %d, want %d", ids, total)
	}
	if n := kafkaChains(t, conn, db); n != 6 {
		t.Errorf("%d partition chains, want 6", n)
	}
	rebalances := wa.metric(t, "vca_collector_kafka_rebalances_total") + wb.metric(t, "vca_collector_kafka_rebalances_total")
	t.Logf("rebalances seen by a (restarted) and b: %v; skipped on resume: %v", rebalances,
		wa.metric(t, "vca_collector_kafka_resume_skipped_records_total")+wb.metric(t, "vca_collector_kafka_resume_skipped_records_total"))
	if rebalances < 3 {
		t.Errorf("only %v generations: the test did not rebalance", rebalances)
	}
	edge.stop(t)
	wa.stop(t)
	wb.stop(t)
}

// waitFor waits while observe's state keeps changing (see testwait).
func waitFor(t *testing.T, what string, observe func() (bool, string)) {
	t.Helper()
	testwait.Until(t, what, testwait.Idle, observe)
}

// spoolDrained observes the spool's lag until it is zero.
func (d *daemon) spoolDrained(t *testing.T) func() (bool, string) {
	return func() (bool, string) {
		lag := d.metric(t, "vca_collector_spool_lag_records")
		return lag == 0, fmt.Sprintf("spool lag %v records, %v produce failures", lag, d.metric(t, "vca_collector_kafka_produce_failures_total"))
	}
}

// readTopic reads every record of the topic, up to each partition's end
// as the leader reports it, and returns how often each vcaseq appears.
func readTopic(t *testing.T, brokers []string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for p := 0; p < 6; p++ {
		for _, m := range testkafka.ReadPartition(t, brokers, nil, kafkaTopic, p) {
			i := strings.Index(string(m.Value), "vcaseq=")
			var n int
			fmt.Sscanf(string(m.Value[i+len("vcaseq="):]), "%d", &n)
			seen[n]++
		}
	}
	return seen
}

// The brokers are down when the edge starts and go down again mid-stream:
// the edge keeps accepting into its spool and, once they are back, produces
// everything, nothing lost.
func TestKafkaOutageEdgeSpoolsAndDrains(t *testing.T) {
	ports, err := freeport.Loopback(3)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	data := filepath.Join(root, "kafka")
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])}
	edge := startEdge(t, filepath.Join(root, "edge"), brokers)

	const first, second = 5000, 5000
	st := startStream(t, edge.addrs["tcp"], first, 0)
	st.wait(t)
	if st.err != nil || st.written.Load() != first {
		t.Fatalf("sending with the brokers down: %v, %d written", st.err, st.written.Load())
	}
	waitFor(t, "the spool to hold the first part", func() (bool, string) {
		lag := edge.metric(t, "vca_collector_spool_lag_records")
		return lag >= first, fmt.Sprintf("spool lag %v records", lag)
	})
	waitFor(t, "a failed produce attempt to be counted", func() (bool, string) {
		n := edge.metric(t, "vca_collector_kafka_produce_failures_total")
		return n > 0, fmt.Sprintf("%v failed produce attempts", n)
	})
	t.Logf("brokers down: %v records wait in the spool, %v failed produce attempts so far", edge.metric(t, "vca_collector_spool_lag_records"),
		edge.metric(t, "vca_collector_kafka_produce_failures_total"))

	k := startKafkaAt(t, ports, data)
	waitFor(t, "the spool to drain", edge.spoolDrained(t))
	k.Close()

	st = startStreamFrom(t, edge.addrs["tcp"], first, second)
	st.wait(t)
	if st.err != nil {
		t.Fatal(st.err)
	}
	waitFor(t, "the spool to hold the second part", func() (bool, string) {
		lag := edge.metric(t, "vca_collector_spool_lag_records")
		return lag >= second, fmt.Sprintf("spool lag %v records", lag)
	})
	k = startKafkaAt(t, ports, data)
	waitFor(t, "the spool to drain again", edge.spoolDrained(t))

	seen := readTopic(t, k.ListenAddrs())
	var missing, dup int
	for n := 0; n < first+second; n++ {
		switch c := seen[n]; {
		case c == 0:
			missing++
		case c > 1:
			dup += c - 1
		}
	}
	t.Logf("records in the topic: %d distinct, %d duplicates", len(seen), dup)
	if missing > 0 {
		t.Fatalf("%d messages never reached Kafka", missing)
	}
	edge.stop(t)
}

// startKafkaAt starts (or restarts, from dataDir) the cluster on fixed ports.
func startKafkaAt(t *testing.T, ports []int, dataDir string) *kfake.Cluster {
	t.Helper()
	return startKafka(t, kfake.Ports(ports...), kfake.DataDir(dataDir))
}

// mode all with a kafka section runs both halves in one process: what it
// receives goes through the topic into ClickHouse.
func TestKafkaModeAllRunsBothHalves(t *testing.T) {
	chAddr := testch.Addr(t)
	conn := testch.Conn(t, chAddr)
	db := testch.Database(t, conn)
	k := startKafka(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listeners:
  tcp:
    - {name: tcp, address: "127.0.0.1:0"}
spool: {dir: %q}
kafka:
  brokers: %s
  topic: %s
  consumer: {group: all-in-one, session_timeout: 2s, rebalance_timeout: 10s, max_wait: 100ms}
sinks:
  clickhouse: {addresses: [%q], database: %s, flush_interval: 200ms, dead_letter_dir: %q}
admin: {address: "127.0.0.1:0"}
shutdown_timeout: 20s
`, filepath.Join(dir, "spool"), brokersYAML(k.ListenAddrs()), kafkaTopic, chAddr, db, filepath.Join(dir, "dl"))
	writeConfig(t, dir, cfg)
	d := startDaemon(t, dir, nil)
	const total = 5000
	st := startStream(t, d.addrs["tcp"], total, 0)
	st.wait(t)
	l := waitLanded(t, conn, db, total)
	if l.rows != total || l.distinct != total {
		t.Fatalf("want %d messages once, got %+v", total, l)
	}
	if n := d.metric(t, "vca_collector_kafka_produced_records_total"); n != total {
		t.Errorf("produced %v records, want %d", n, total)
	}
	if n := d.metric(t, "vca_collector_kafka_consumed_records_total"); n != total {
		t.Errorf("consumed %v records, want %d", n, total)
	}
	d.stop(t)
}
