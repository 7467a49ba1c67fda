// Package testch gives tests the ClickHouse server that `make test` starts
// (scripts/with-clickhouse.sh): its address, a connection and a fresh
// database per test.
package testch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Addr returns the server's host:port. Without CLICKHOUSE_ADDR the test is
// skipped, unless CLICKHOUSE_REQUIRED=1 (set by make test) makes the
// missing server a failure.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("CLICKHOUSE_ADDR")
	if addr == "" {
		if os.Getenv("CLICKHOUSE_REQUIRED") == "1" {
			t.Fatal("CLICKHOUSE_ADDR is not set but CLICKHOUSE_REQUIRED=1: the test server did not start")
		}
		t.Skip("no ClickHouse server: run under scripts/with-clickhouse.sh (make test does)")
	}
	return addr
}

// HTTPAddr is the HTTP interface of the server at Addr (the next port).
func HTTPAddr(t testing.TB) string {
	t.Helper()
	host, port, err := net.SplitHostPort(Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(p+1))
}

// Conn opens a connection to addr, closed when the test ends.
func Conn(t testing.TB, addr string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		if os.Getenv("CLICKHOUSE_REQUIRED") == "1" {
			t.Fatalf("ClickHouse at %s: %v", addr, err)
		}
		t.Skipf("ClickHouse at %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Database returns a new database name, dropped when the test ends.
func Database(t testing.TB, conn driver.Conn) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "vca_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	return name
}

// Count runs a query returning one UInt64.
func Count(t testing.TB, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
