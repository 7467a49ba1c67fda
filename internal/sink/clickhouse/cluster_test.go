package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

const testCluster = "vca_test"

// oneShardCluster configures a server as the one shard of testCluster.
var oneShardCluster = `<clickhouse>
  <macros><shard>01</shard><replica>r1</replica></macros>
  <remote_servers><` + testCluster + `><shard><internal_replication>true</internal_replication>
    <replica><host>127.0.0.1</host><port>{tcp_port}</port></replica></shard></` + testCluster + `></remote_servers>
</clickhouse>`

var (
	onClusterRE  = regexp.MustCompile(" ON CLUSTER `" + testCluster + "`")
	replicatedRE = regexp.MustCompile(`Replicated(\w*MergeTree)\('[^']*', '[^']*'\)`)
)

// withoutReplication turns cluster DDL into what one server without
// Keeper can run: no ON CLUSTER, each Replicated engine its plain twin
// with the plain twin's deduplication window. The Distributed tables, the
// _local tables and the views stay as they are.
func withoutReplication(sql string) string {
	sql = replicatedRE.ReplaceAllString(onClusterRE.ReplaceAllString(sql, ""), "$1()")
	return strings.ReplaceAll(sql, "replicated_deduplication_window", "non_replicated_deduplication_window")
}

// The cluster DDL: rendered as the golden file says, every statement
// parses on the server, runs ON CLUSTER and every MergeTree is
// replicated; and, run on a server that is the one shard of a cluster
// (Replicated engines swapped for their plain twins: no Keeper), the sink
// inserts through the Distributed tables, the views fill the shard's
// rollups, and an INSERT replayed after its answer was lost is dropped:
// count() is exact in the tables and in the rollups.
func TestClusterSchemaOnAServer(t *testing.T) {
	o := Options{Database: "vca_cluster", Cluster: testCluster, RetentionDays: 400}
	got := SchemaSQL(o)
	golden.Check(t, filepath.Join("testdata", "schema-cluster.sql"), []byte(got))

	srv := testch.OwnServerWith(t, testch.Options{ConfigD: []string{oneShardCluster}})
	conn := testch.Conn(t, srv.Addr)
	ctx := context.Background()
	distributed := map[string]bool{}
	for _, s := range allStatements(o) {
		var formatted string
		if err := conn.QueryRow(ctx, "SELECT formatQuery(?)", s.sql).Scan(&formatted); err != nil {
			t.Errorf("%s does not parse: %v", s.what, err)
		}
		if !strings.Contains(s.sql, " ON CLUSTER `"+testCluster+"`") && !strings.HasPrefix(s.sql, "INSERT INTO ") { // an INSERT goes through the Distributed tables
			t.Errorf("%s: not ON CLUSTER", s.what)
		}
		if strings.Contains(s.sql, "MergeTree") && !regexp.MustCompile(`Replicated\w*MergeTree\(`).MatchString(s.sql) {
			t.Errorf("%s: not replicated", s.what)
		}
		if m := regexp.MustCompile("ENGINE = Distributed\\('" + testCluster + "', 'vca_cluster', '(\\w+)_local'").FindStringSubmatch(s.sql); m != nil {
			distributed[m[1]] = true
		}
	}
	for _, table := range []string{"dcf_events", "raw_unparsed", "dcf_rollup_minute", "dcf_rollup_hour", "policy_rules", "ingest_batches"} {
		if !distributed[table] {
			t.Errorf("%s has no Distributed table over %s_local", table, table)
		}
	}

	local := o
	local.RetentionDays = 0 // the corpus has old lines, which a TTL would drop on insert
	for _, s := range allStatements(local) {
		if err := conn.Exec(ctx, withoutReplication(s.sql)); err != nil {
			t.Fatalf("%s: %v\n%s", s.what, err, withoutReplication(s.sql))
		}
	}
	proxy := newAckDropProxy(t, srv.Addr)
	cfg := testConfigIn(t, proxy.ln.Addr().String(), local.Database)
	cfg.Cluster, cfg.Compression = testCluster, "none"
	no := false
	cfg.CreateSchema = &no
	s, _ := newSink(t, cfg)
	events := corpusEvents(t, 0)
	proxy.armed.Store(true)
	if err := s.Write(ctx, events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	if proxy.dropped.Load() != 1 {
		t.Fatalf("the proxy dropped %d answers, want 1", proxy.dropped.Load())
	}
	parsed, failed := countStatus(events)
	for q, want := range map[string]uint64{
		"SELECT count() FROM vca_cluster.dcf_events_local":                       parsed,
		"SELECT count() FROM vca_cluster.dcf_events":                             parsed,
		"SELECT count() FROM vca_cluster.raw_unparsed":                           failed,
		"SELECT sum(events) FROM vca_cluster.dcf_rollup_minute":                  parsed,
		"SELECT sum(events) FROM vca_cluster.dcf_rollup_hour_local":              parsed,
		"SELECT count() FROM vca_cluster.ingest_batches WHERE chain_id = 'test'": 1,
	} {
		if got := testch.Count(t, conn, q); got != want {
			t.Errorf("%s = %d after a replayed INSERT, want %d", q, got, want)
		}
	}
	if rep, err := Verify(ctx, conn, local.Database, "test"); err != nil || !rep.OK() {
		t.Errorf("chain through the Distributed tables: %+v %v", rep, err)
	}
}

// countStatus counts the events that go to dcf_events and to raw_unparsed.
func countStatus(events []parse.Event) (parsed, failed uint64) {
	for _, e := range events {
		if e.Status == parse.StatusFailed {
			failed++
		} else {
			parsed++
		}
	}
	return parsed, failed
}

// The Kafka-engine alternative: the DDL parses (single server and
// cluster), the engine table and its views are created, and the views,
// fed the edge's records through a queue table of the same columns, store
// exactly the rows the sink stores for the same events (batch_id aside:
// no chain on that path).
func TestKafkaEngineViews(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	httpAddr := testch.HTTPAddr(t)
	ctx := context.Background()
	k := KafkaEngineOptions{Brokers: []string{"127.0.0.1:1"}, Topic: "vca-dcf-events", Group: "clickhouse", Consumers: 2}
	for _, o := range []Options{{Database: "vca_ke"}, {Database: "vca_ke", Cluster: testCluster}} {
		for _, sql := range KafkaEngineSQL(o, k) {
			var formatted string
			if err := conn.QueryRow(ctx, "SELECT formatQuery(?)", sql).Scan(&formatted); err != nil {
				t.Errorf("does not parse: %v\n%s", err, sql)
			}
		}
	}
	// The engine itself: the views' references to its virtual columns
	// (_error, _raw_message, _topic ...) must resolve.
	engineDB := testch.Database(t, conn)
	for _, s := range Statements(Options{Database: engineDB}) {
		if err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range KafkaEngineSQL(Options{Database: engineDB}, k) {
		if err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}

	viaViews, viaSink := testch.Database(t, conn), testch.Database(t, conn)
	for _, s := range Statements(Options{Database: viaViews}) {
		if err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	l := newLayout(Options{Database: viaViews})
	queue := l.db + ".`dcf_kafka_queue`"
	if err := conn.Exec(ctx, "CREATE TABLE "+queue+" (\n"+renderColumns(kafkaQueueColumns())+"\n) ENGINE = Null"); err != nil {
		t.Fatal(err)
	}
	for _, v := range kafkaViews(l, queue, false) {
		if err := conn.Exec(ctx, v); err != nil {
			t.Fatalf("%v\n%s", err, v)
		}
	}
	events := corpusEvents(t, 0)
	var records bytes.Buffer
	for i := range events {
		records.Write(stream.AppendValue(nil, &events[i]))
		records.WriteByte('\n')
	}
	testch.HTTPQuery(t, httpAddr, "INSERT INTO "+queue+" SETTINGS date_time_input_format = 'best_effort', input_format_skip_unknown_fields = 1 FORMAT JSONEachRow\n"+records.String())
	s, _ := newSink(t, testConfigIn(t, addr, viaSink))
	if err := s.Write(ctx, events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	for _, table := range []string{"dcf_events", "raw_unparsed"} {
		q := func(db string) []byte {
			return testch.HTTPQuery(t, httpAddr, fmt.Sprintf("SELECT * EXCEPT (batch_id) FROM %s.%s ORDER BY event_id FORMAT JSONEachRow", db, table))
		}
		got, want := q(viaViews), q(viaSink)
		if len(want) == 0 {
			t.Fatalf("%s: the sink stored no rows", table)
		}
		if !bytes.Equal(got, want) {
			gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
			for i := range min(len(gl), len(wl)) {
				if !bytes.Equal(gl[i], wl[i]) {
					t.Fatalf("%s row %d differs (of %d vs %d):\nkafka engine: %s\nsink:         %s", table, i, len(gl), len(wl), gl[i], wl[i])
				}
			}
			t.Fatalf("%s: %d rows through the views, %d through the sink", table, len(gl), len(wl))
		}
		t.Logf("%s: %d rows identical", table, bytes.Count(got, []byte("\n")))
	}
}
