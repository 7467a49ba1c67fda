// Package golden compares a test's output with a file committed beside
// the test. The one way to accept a change of output is UPDATE_GOLDEN=1,
// which rewrites the files (make dashboards and make -C terraform golden
// set it too); the change is then reviewed in the diff.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Update reports whether this run rewrites golden files rather than
// comparing with them.
func Update() bool { return os.Getenv("UPDATE_GOLDEN") == "1" }

// Check compares got with the file at path, which Update runs write
// first. A difference fails the test with the first line that differs.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v (UPDATE_GOLDEN=1 writes it)", err)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(gl), len(wl)) {
		if !bytes.Equal(gl[i], wl[i]) {
			t.Errorf("output differs from %s at line %d (UPDATE_GOLDEN=1 rewrites it; review the diff):\n got %s\nwant %s", path, i+1, gl[i], wl[i])
			return
		}
	}
	t.Errorf("output differs from %s: %d lines, want %d (UPDATE_GOLDEN=1 rewrites it; review the diff)", path, len(gl), len(wl))
}
