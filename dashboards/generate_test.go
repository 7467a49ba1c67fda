package dashboards

import (
	"path/filepath"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
)

// TestCommittedJSONIsCurrent fails when dashboards/json differs from what
// the Go definitions render; UPDATE_GOLDEN=1 (make dashboards) rewrites it.
func TestCommittedJSONIsCurrent(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		golden.Check(t, filepath.Join("json", d.File), d.JSON)
	}
}
