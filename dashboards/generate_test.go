package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedJSONIsCurrent fails when dashboards/json differs from what
// the Go definitions render; UPDATE_GOLDEN=1 (make dashboards) rewrites it.
func TestCommittedJSONIsCurrent(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		path := filepath.Join("json", d.File)
		if os.Getenv("UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(path, d.JSON, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (make dashboards writes it)", err)
		}
		if !bytes.Equal(got, d.JSON) {
			t.Errorf("%s differs from the dashboard definitions in Go; run make dashboards and review the diff", path)
		}
	}
}
