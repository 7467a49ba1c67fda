package clickhouse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/chdb"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
)

const testCluster = "vca_test"

var (
	chdbOnce sync.Once
	chdbDB   *chdb.DB
	chdbErr  error
)

// chdbExec opens the process's libchdb session, configured with a cluster
// of one local shard (remote_servers and macros), and returns a function
// that runs one statement and returns its JSONEachRow output.
func chdbExec(t *testing.T) func(string) []byte {
	t.Helper()
	if os.Getenv("CHDB_LIB_PATH") == "" {
		if os.Getenv("CHDB_REQUIRED") == "1" {
			t.Fatal("CHDB_LIB_PATH is not set but CHDB_REQUIRED=1")
		}
		t.Skip("CHDB_LIB_PATH not set (scripts/fetch-chdb.sh)")
	}
	chdbOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vca-chdb")
		if err != nil {
			chdbErr = err
			return
		}
		cfg := filepath.Join(dir, "config.xml")
		chdbErr = os.WriteFile(cfg, []byte(`<clickhouse>
  <tcp_port>9000</tcp_port>
  <macros><shard>01</shard><replica>r1</replica></macros>
  <remote_servers><`+testCluster+`><shard><internal_replication>true</internal_replication>
    <replica><host>127.0.0.1</host><port>9000</port></replica></shard></`+testCluster+`></remote_servers>
</clickhouse>`), 0o600)
		if chdbErr == nil {
			chdbDB, chdbErr = chdb.OpenWith(filepath.Join(dir, "data"), "--config-file="+cfg)
		}
	})
	if chdbErr != nil {
		t.Fatal(chdbErr)
	}
	return func(sql string) []byte {
		t.Helper()
		out, err := chdbDB.Query(sql, "JSONEachRow")
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return out
	}
}

var (
	onClusterRE  = regexp.MustCompile(" ON CLUSTER `" + testCluster + "`")
	replicatedRE = regexp.MustCompile(`Replicated(\w*MergeTree)\('[^']*', '[^']*'\)`)
)

// withoutReplication turns cluster DDL into what one server without
// Keeper can run: no ON CLUSTER, each Replicated engine its plain twin.
// The Distributed tables, the _local tables and the views stay as they are.
func withoutReplication(sql string) string {
	return replicatedRE.ReplaceAllString(onClusterRE.ReplaceAllString(sql, ""), "$1()")
}

// The cluster DDL: rendered as the golden file says, every statement
// parses on ClickHouse 26.7, every statement runs ON CLUSTER and every
// MergeTree is replicated; and, run on one server without replication, the
// Distributed tables take the sink's inserts, the views fill the shard's
// rollups and FINAL through the Distributed table counts a replay once.
// A real multi-server cluster with Keeper is not run here.
func TestClusterDDLOnChdb(t *testing.T) {
	exec := chdbExec(t)
	o := Options{Database: "vca_cluster", Cluster: testCluster, RetentionDays: 400}
	got := SchemaSQL(Modern, o) + "\n-- migration 2 on an existing cluster\n"
	for _, s := range addColumns("dcf_events", eventColumns, 2)(Modern, o) {
		got += s.sql + ";\n"
	}
	golden := filepath.Join("testdata", "schema-cluster-modern.sql")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("cluster DDL differs from %s (UPDATE_GOLDEN=1 rewrites it)", golden)
	}

	stmts := allStatements(Modern, o)
	distributed := map[string]bool{}
	for _, s := range stmts {
		exec("SELECT formatQuery(" + quoteString(s.sql) + ") AS q FORMAT Null")
		if !strings.Contains(s.sql, " ON CLUSTER `"+testCluster+"`") {
			t.Errorf("%s: not ON CLUSTER", s.what)
		}
		if strings.Contains(s.sql, "MergeTree") && !strings.Contains(s.sql, "ReplicatedReplacingMergeTree(") &&
			!strings.Contains(s.sql, "ReplicatedAggregatingMergeTree(") && !strings.Contains(s.sql, "ReplicatedMergeTree(") {
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

	exec("DROP DATABASE IF EXISTS vca_cluster")
	local := o
	local.RetentionDays = 0 // the corpus has old lines, which a TTL would drop on insert
	for _, s := range allStatements(Modern, local) {
		exec(withoutReplication(s.sql))
	}
	all := corpusEvents(t, 0)
	var events []parse.Event
	for i := range all {
		copy(all[i].EventID[:], fmt.Sprintf("cl%014d", i))
		events = append(events, all[i])
	}
	inserts, err := JSONEachRowInserts(local, Modern, events, "batch00000000001", "insert_distributed_sync = 1",
		"insert_deduplication_token = 'b1'")
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) string {
		return strings.TrimSpace(string(exec("SELECT toUInt32(" + q + ") AS n FROM vca_cluster." + strings.SplitN(q, " FROM ", 2)[1])))
	}
	_ = count
	for _, ins := range inserts {
		exec(ins)
	}
	parsed, failed := 0, 0
	for _, e := range events {
		if e.Status == parse.StatusFailed {
			failed++
		} else {
			parsed++
		}
	}
	expect := func(q string, n int) {
		t.Helper()
		if got := strings.TrimSpace(string(exec(q))); got != fmt.Sprintf(`{"n":%d}`, n) {
			t.Errorf("%s = %s, want %d", q, got, n)
		}
	}
	expect("SELECT toUInt32(count()) AS n FROM vca_cluster.dcf_events_local", parsed)
	expect("SELECT toUInt32(count()) AS n FROM vca_cluster.raw_unparsed_local", failed)
	// The replay of an insert whose answer was lost. Without Keeper the
	// shard's stand-in tables keep the duplicate rows (block deduplication
	// is the Replicated engines' part); what queries read must not change.
	for _, ins := range inserts {
		exec(ins)
	}
	for _, q := range []string{
		"SELECT toUInt32(count()) AS n FROM vca_cluster.dcf_events FINAL",
		"SELECT toUInt32(uniqExact(event_id)) AS n FROM vca_cluster.dcf_events",
		"SELECT toUInt32(uniqMerge(events)) AS n FROM vca_cluster.dcf_rollup_minute",
		"SELECT toUInt32(uniqMerge(events)) AS n FROM vca_cluster.dcf_rollup_hour",
	} {
		expect(q, parsed)
	}
	expect("SELECT toUInt32(count()) AS n FROM vca_cluster.raw_unparsed FINAL", failed)
}

// The Kafka-engine alternative: the DDL parses on 26.7 (and creates, where
// the build has the Kafka engine), and its views, fed the edge's records
// through a queue table of the same columns, store exactly the rows the
// sink stores for the same events (batch_id aside: no chain on that path).
func TestKafkaEngineViewsOnChdb(t *testing.T) {
	exec := chdbExec(t)
	k := KafkaEngineOptions{Brokers: []string{"127.0.0.1:1"}, Topic: "vca-dcf-events", Group: "clickhouse", Consumers: 2}
	for _, o := range []Options{{Database: "vca_ke"}, {Database: "vca_ke", Cluster: testCluster}} {
		for _, sql := range KafkaEngineSQL(o, k) {
			exec("SELECT formatQuery(" + quoteString(sql) + ") AS q FORMAT Null")
		}
	}
	for _, db := range []string{"vca_ke", "vca_ke_ref"} {
		exec("DROP DATABASE IF EXISTS " + db)
		for _, s := range allStatements(Modern, Options{Database: db}) {
			exec(s.sql)
		}
	}
	// The engine itself, where this build has it: the views' references to
	// its virtual columns (_error, _raw_message, _topic ...) must resolve.
	exec("DROP DATABASE IF EXISTS vca_ke_engine")
	for _, s := range allStatements(Modern, Options{Database: "vca_ke_engine"}) {
		exec(s.sql)
	}
	sqls := KafkaEngineSQL(Options{Database: "vca_ke_engine"}, k)
	if _, err := chdbDB.Query(sqls[0], "JSONEachRow"); err != nil {
		t.Logf("this libchdb cannot create the Kafka engine table (%v); its syntax is checked above", firstLine(err.Error()))
	} else {
		for _, v := range sqls[1:] {
			exec(v)
		}
		exec("DROP DATABASE vca_ke_engine")
	}
	l := newLayout(Options{Database: "vca_ke"})
	exec("CREATE TABLE vca_ke.dcf_kafka_queue (\n" + renderColumns(kafkaQueueColumns(), Modern) + "\n) ENGINE = Null")
	for _, v := range kafkaViews(l, "`vca_ke`.`dcf_kafka_queue`", false) {
		exec(v)
	}

	events := corpusEvents(t, 0)
	var records bytes.Buffer
	for i := range events {
		copy(events[i].EventID[:], fmt.Sprintf("ke%014d", i))
		records.Write(stream.AppendValue(nil, &events[i]))
		records.WriteByte('\n')
	}
	exec("INSERT INTO vca_ke.dcf_kafka_queue SETTINGS date_time_input_format = 'best_effort', input_format_skip_unknown_fields = 1 FORMAT JSONEachRow\n" + records.String())
	inserts, err := JSONEachRowInserts(Options{Database: "vca_ke_ref"}, Modern, events, "batch00000000001")
	if err != nil {
		t.Fatal(err)
	}
	for _, ins := range inserts {
		exec(ins)
	}
	for _, table := range []string{"dcf_events", "raw_unparsed"} {
		q := func(db string) []byte {
			return exec(fmt.Sprintf("SELECT * EXCEPT (batch_id) FROM %s.%s ORDER BY event_id", db, table))
		}
		got, want := q("vca_ke"), q("vca_ke_ref")
		if len(want) == 0 {
			t.Fatalf("%s: the reference holds no rows", table)
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
