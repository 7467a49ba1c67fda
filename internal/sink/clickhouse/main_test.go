package clickhouse

import (
	"os"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/chdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chdb.CloseShared()
	os.Exit(code)
}
