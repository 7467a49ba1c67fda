package dashboards

import (
	"sync"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	chseed "github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch/seed"
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
		simData, simErr = gatewaysim.Simulate(gatewaysim.Options{Start: simStart, Duration: simEnd.Sub(simStart), Seed: 20261120, MalformedEvery: 300, IDSAlertEvery: 40})
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

// seed writes the dataset into the test server with the collector's own
// sink and returns the engine, the database and the number of batches.
func seed(t *testing.T, ds *dataset) (engine, string, int) {
	t.Helper()
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	return nativeEngine{conn}, db, chseed.Write(t, addr, db, "dashboards", ds.Index, ds.Events, batchRows)
}
