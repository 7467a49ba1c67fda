package chdb

import (
	"os"
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	if os.Getenv("CHDB_LIB_PATH") == "" {
		t.Skip("CHDB_LIB_PATH not set")
	}
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := db.Query("SELECT version() AS v, 1 + 1 AS two", "JSONEachRow")
	if err != nil || !strings.Contains(string(out), `"two":2`) {
		t.Fatalf("%s %v", out, err)
	}
	t.Logf("%s", out)
	if _, err := db.Query("SELECT no_such_column", "TSV"); err == nil || !strings.Contains(err.Error(), "UNKNOWN_IDENTIFIER") {
		t.Fatalf("error: %v", err)
	}
}
