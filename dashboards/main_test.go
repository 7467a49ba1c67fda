package dashboards

import (
	"os"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/chdb"
)

// TestMain closes the process's libchdb session before exit; leaving it
// open crashes the library's exit handlers.
func TestMain(m *testing.M) {
	code := m.Run()
	chdb.CloseShared()
	os.Exit(code)
}
