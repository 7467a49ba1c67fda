package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// TestModernProfileOnChdb runs the modern DDL, a deduplicated replay and the
// project's queries on ClickHouse 26.7 (libchdb). Debian's server is too old
// for the modern profile and chdb has no TCP server, so rows go in as
// JSONEachRow built from the same encoder the sink uses.
func TestModernProfileOnChdb(t *testing.T) {
	exec := chdbExec(t)
	const name = "vca_modern"
	exec("DROP DATABASE IF EXISTS " + name)
	// The DDL with a retention TTL must be valid; the replay below runs
	// without one, since TTL drops old rows as they are inserted and would
	// blur the counts (the corpus has lines from 2022).
	ttlDB := Options{Database: name + "_ttl", RetentionDays: 400}
	exec("DROP DATABASE IF EXISTS " + ttlDB.Database)
	for _, s := range allStatements(Modern, ttlDB) {
		exec(s.sql)
	}
	if ddlOut := exec("SHOW CREATE TABLE " + ttlDB.Database + ".dcf_events"); !strings.Contains(string(ddlOut), "TTL") || !strings.Contains(string(ddlOut), "bloom_filter") {
		t.Errorf("modern dcf_events lacks TTL or the SNI bloom filter: %s", ddlOut)
	}
	o := Options{Database: name}
	for _, s := range allStatements(Modern, o) {
		exec(s.sql)
	}

	// Rows of the corpus, with event ids that are 16 printable bytes so
	// JSON can carry them into FixedString(16).
	all := corpusEvents(t, 0)
	var events []parse.Event
	for i := range all {
		if all[i].Status == parse.StatusFailed {
			continue
		}
		copy(all[i].EventID[:], fmt.Sprintf("ev%014d", i))
		events = append(events, all[i])
	}
	want := len(events)
	inserts, err := JSONEachRowInserts(o, Modern, events, "batch00000000001",
		"insert_deduplication_token = 'b1-dcf_events'", "deduplicate_blocks_in_dependent_materialized_views = 1")
	if err != nil || len(inserts) != 1 {
		t.Fatalf("%d inserts, %v", len(inserts), err)
	}
	insert := inserts[0]
	count := func(q string) int {
		t.Helper()
		var r map[string]int
		if err := json.Unmarshal(exec(q), &r); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r["n"]
	}
	queries := []string{
		"SELECT toUInt32(count()) AS n FROM " + name + ".dcf_events",
		"SELECT toUInt32(count()) AS n FROM " + name + ".dcf_events FINAL",
		"SELECT toUInt32(uniqExact(event_id)) AS n FROM " + name + ".dcf_events",
		"SELECT toUInt32(uniqMerge(events)) AS n FROM " + name + ".dcf_rollup_minute",
		"SELECT toUInt32(uniqMerge(events)) AS n FROM " + name + ".dcf_rollup_hour",
	}
	exec(insert)
	before := make([]int, len(queries))
	for i, q := range queries {
		before[i] = count(q)
	}
	exec(insert) // the replay of an INSERT whose answer was lost
	for i, q := range queries {
		if n := count(q); n != before[i] {
			t.Errorf("%s = %d after a replayed INSERT, %d before", q, n, before[i])
		}
	}
	if before[0] != want {
		t.Errorf("dcf_events holds %d rows, want %d", before[0], want)
	}
	// Values survive the modern types.
	out := exec("SELECT toString(src_ip) AS ip, toUnixTimestamp64Milli(event_time) AS ms, rule_uuid FROM " + name + ".dcf_events WHERE event_id = 'ev00000000000000'")
	e0 := events[0]
	if !strings.Contains(string(out), fmt.Sprintf(`"ip":"::ffff:%s"`, e0.SrcIP)) || !strings.Contains(string(out), fmt.Sprintf(`"ms":%d`, e0.EventTime.UnixMilli())) {
		t.Errorf("first row read back as %s; want src_ip %s, event_time %d ms", out, e0.SrcIP, e0.EventTime.UnixMilli())
	}
	// The query Verify runs, and the rollup read dashboards use.
	exec(fmt.Sprintf(`SELECT event_id, any(raw) FROM (
  SELECT event_id, raw FROM %[1]s.dcf_events WHERE batch_id = 'batch00000000001'
  UNION ALL SELECT event_id, raw FROM %[1]s.raw_unparsed WHERE batch_id = 'batch00000000001'
) GROUP BY event_id ORDER BY event_id`, name))
	exec("SELECT bucket, rule_uuid, action, enforced, uniqMerge(events) AS events, maxMerge(last_seen) AS last_seen FROM " + name +
		".dcf_rollup_hour GROUP BY bucket, rule_uuid, action, enforced ORDER BY events DESC")
}
