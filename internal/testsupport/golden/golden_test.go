package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	os.WriteFile(path, []byte("a\nb\nc\n"), 0o644)
	for _, tc := range []struct {
		name, path, got string
		update          bool
		wantErr         string // a word the report must hold; "" for none
		wantFile        string
	}{
		{"equal", path, "a\nb\nc\n", false, "", "a\nb\nc\n"},
		{"a line differs", path, "a\nB\nc\n", false, "at line 2", "a\nb\nc\n"},
		{"a line missing", path, "a\nb\n", false, "at line 3", "a\nb\nc\n"},
		{"lines more", path, "a\nb\nc\n\nd", false, "5 lines, want 4", "a\nb\nc\n"},
		{"no file", filepath.Join(dir, "none.txt"), "x\n", false, "writes it", ""},
		{"update rewrites, then matches", path, "new\n", true, "", "new\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.update {
				t.Setenv("UPDATE_GOLDEN", "1")
			} else {
				t.Setenv("UPDATE_GOLDEN", "")
			}
			r := &recorder{TB: t}
			Check(r, tc.path, []byte(tc.got))
			switch {
			case tc.wantErr == "" && len(r.errs) > 0:
				t.Fatalf("reported %q", r.errs)
			case tc.wantErr != "" && (len(r.errs) != 1 || !strings.Contains(r.errs[0], tc.wantErr)):
				t.Fatalf("reported %q, want one report with %q", r.errs, tc.wantErr)
			}
			if b, _ := os.ReadFile(tc.path); string(b) != tc.wantFile {
				t.Fatalf("file holds %q, want %q", b, tc.wantFile)
			}
		})
	}
}
