package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/chdb"
	"github.com/openclaw-vca/openclaw-vca/internal/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testch/seed"
)

// The dataset every panel is checked against: six hours of the simulated
// fleet (both gateways, every scenario, monitor and enforce mode, a few
// malformed lines), parsed and enriched as the collector does.
var (
	simStart = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	simEnd   = simStart.Add(6 * time.Hour)
)

const batchRows = 2000

type dataset = gatewaysim.Dataset

var (
	simOnce sync.Once
	simData *dataset
	simErr  error
)

func simulated(t *testing.T) *dataset {
	t.Helper()
	simOnce.Do(func() {
		simData, simErr = gatewaysim.Simulate(gatewaysim.Options{Start: simStart, Duration: simEnd.Sub(simStart), Seed: 20261120, MalformedEvery: 300})
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simData
}

// engine runs a statement and returns its rows as text.
type engine interface {
	query(sql string) (columns []string, rows [][]string, err error)
}

// chdbEngine is ClickHouse 26.7 in-process, with the modern profile
// seeded through JSONEachRow.
type chdbEngine struct{ db *chdb.DB }

func (e chdbEngine) query(sql string) ([]string, [][]string, error) {
	out, err := e.db.Query(sql, "JSONCompact")
	if err != nil {
		return nil, nil, err
	}
	var res struct {
		Meta []struct{ Name string } `json:"meta"`
		Data [][]any                 `json:"data"`
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&res); err != nil {
		return nil, nil, fmt.Errorf("%v: %.200s", err, out)
	}
	cols := make([]string, len(res.Meta))
	for i, m := range res.Meta {
		cols[i] = m.Name
	}
	rows := make([][]string, len(res.Data))
	for i, r := range res.Data {
		rows[i] = make([]string, len(r))
		for j, v := range r {
			rows[i][j] = normalize(v)
		}
	}
	return cols, rows, nil
}

func seedChdb(t *testing.T, ds *dataset) (engine, string) {
	t.Helper()
	requireChdb(t)
	db, err := chdb.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Query(sql, "TSV"); err != nil {
			t.Fatalf("%v\n%.300s", err, sql)
		}
	}
	const name = "vca_dashboards"
	o := clickhouse.Options{Database: name}
	exec("DROP DATABASE IF EXISTS " + name)
	for _, s := range clickhouse.Statements(clickhouse.Modern, o) {
		exec(s)
	}
	var batches []map[string]any
	for i := 0; i < len(ds.Events); i += batchRows {
		chunk := ds.Events[i:min(i+batchRows, len(ds.Events))]
		id := fmt.Sprintf("simbatch%08d", len(batches)+1)
		inserts, err := clickhouse.JSONEachRowInserts(o, clickhouse.Modern, chunk, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range inserts {
			exec(s)
		}
		var unparsed int
		for _, e := range chunk {
			if e.Status == parse.StatusFailed {
				unparsed++
			}
		}
		last := chunk[len(chunk)-1]
		batches = append(batches, map[string]any{"chain_id": "sim", "seq": len(batches) + 1, "batch_id": id,
			"inserted_at":    last.ReceivedAt.Add(1500 * time.Millisecond).Format("2006-01-02 15:04:05.000"),
			"first_event_id": string(chunk[0].EventID[:]), "last_event_id": string(last.EventID[:]),
			"rows": len(chunk) - unparsed, "unparsed_rows": unparsed})
	}
	var body []byte
	for _, b := range batches {
		line, _ := json.Marshal(b)
		body = append(append(body, line...), '\n')
	}
	exec(fmt.Sprintf("INSERT INTO %s.ingest_batches (chain_id, seq, batch_id, inserted_at, first_event_id, last_event_id, rows, unparsed_rows) FORMAT JSONEachRow\n%s", name, body))
	policy, err := clickhouse.PolicyRulesInsert(o, clickhouse.Modern, ds.Index, simStart)
	if err != nil {
		t.Fatal(err)
	}
	exec(policy)
	return chdbEngine{db}, name
}

// seedNative writes the dataset into Debian's 18.16 server with the
// collector's own sink (compat schema).
func seedNative(t *testing.T, ds *dataset) (engine, string, int) {
	t.Helper()
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	return nativeEngine{conn}, db, seed.Write(t, addr, db, "dashboards", ds.Index, ds.Events, batchRows)
}

func requireChdb(t *testing.T) {
	t.Helper()
	if lib := os.Getenv("CHDB_LIB_PATH"); lib == "" {
		if os.Getenv("CHDB_REQUIRED") == "1" {
			t.Fatal("CHDB_LIB_PATH is not set but CHDB_REQUIRED=1")
		}
		t.Skip("CHDB_LIB_PATH not set (scripts/fetch-chdb.sh)")
	}
}
