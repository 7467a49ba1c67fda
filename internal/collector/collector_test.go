package collector

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	kafkasink "github.com/openclaw-vca/openclaw-vca/internal/sink/kafka"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// The sinks that hold events in memory drain through Shutdown, not Close.
var (
	_ sink.Shutdowner = (*clickhouse.Sink)(nil)
	_ sink.Shutdowner = (*kafkasink.Sink)(nil)
)

func TestModesAreValidated(t *testing.T) {
	const listener = "listeners: {tcp: [{name: tcp, address: \"127.0.0.1:0\"}]}\n"
	const kafka = "kafka: {brokers: [\"127.0.0.1:1\"]}\n"
	const ch = "sinks: {clickhouse: {addresses: [\"127.0.0.1:1\"]}}\n"
	for _, tc := range []struct {
		name, yaml string
		key        string // the key the error names; "" for a valid config
	}{
		{"all with a listener", listener, ""},
		{"unknown mode", "mode: relay\n" + listener, "mode"},
		{"edge without kafka", "mode: edge\n" + listener, "kafka"},
		{"edge with clickhouse", "mode: edge\n" + listener + kafka + ch, "sinks.clickhouse"},
		{"edge", "mode: edge\n" + listener + kafka, ""},
		{"writer without clickhouse", "mode: writer\n" + kafka, "sinks.clickhouse"},
		{"writer with listeners", "mode: writer\n" + listener + kafka + ch, "listeners"},
		{"writer", "mode: writer\n" + kafka + ch, ""},
		{"all without listeners", "mode: all\n", "listeners"},
		{"a listener name twice", "listeners: {tcp: [{name: a, address: \"127.0.0.1:0\"}], udp: [{name: a, address: \"127.0.0.1:0\"}]}\n", "listeners.tcp[0].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load([]byte(tc.yaml), nil, &cfg)
			switch {
			case tc.key == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.key != "" && err == nil:
				t.Fatalf("config accepted; want an error naming %s", tc.key)
			case tc.key != "" && !strings.HasPrefix(err.Error(), tc.key+":"):
				t.Fatalf("error %q does not start with the key %s", err, tc.key)
			}
		})
	}
}

// TestRunReceivesAndDrains starts a collector in-process (TCP listener,
// spool, file sink, admin), checks it is ready and stores what it is sent,
// then cancels it: Run returns nil once the listeners are closed and the
// sinks drained, and the admin endpoint is gone.
func TestRunReceivesAndDrains(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	yaml := fmt.Sprintf(`listeners: {tcp: [{name: tcp, address: "127.0.0.1:0"}]}
spool: {dir: %q}
sinks: {file: {path: %q}}
admin: {address: "127.0.0.1:0"}
`, filepath.Join(dir, "spool"), events)
	var cfg Config
	if err := config.Load([]byte(yaml), nil, &cfg); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	addrs := c.Addrs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- c.Run(ctx) }()

	readyz := "http://" + addrs["admin"].String() + "/readyz"
	status := func() string {
		resp, err := http.Get(readyz)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return resp.Status
	}
	testwait.For(t, "/readyz", time.Minute, func() bool { return status() == "200 OK" }, status)

	conn, err := net.Dial("tcp", addrs["tcp"].String())
	if err != nil {
		t.Fatal(err)
	}
	const line = "<134>Dec  1 10:00:00 gw1 AviatrixGwMicrosegPacket: POLICY=51321a3b-e5e2-4ab3-9594-e97a51799e15 SRC_IP=10.0.0.5 DST_IP=140.82.112.3 PROTO=TCP SRC_PORT=52792 DST_PORT=443 ACT=DENY ENFORCED=true\n"
	fmt.Fprint(conn, line, line)
	conn.Close()
	stored := func() int {
		f, err := os.Open(events)
		if err != nil {
			return 0
		}
		defer f.Close()
		n := 0
		for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		}
		return n
	}
	testwait.Until(t, "two events in the file sink", testwait.Idle, func() (bool, string) {
		n := stored()
		return n == 2, fmt.Sprintf("%d events in %s", n, events)
	})

	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(time.Duration(cfg.ShutdownTimeout) + time.Minute):
		t.Fatalf("Run did not return within shutdown_timeout (%v) and a minute", time.Duration(cfg.ShutdownTimeout))
	}
	if n := stored(); n != 2 {
		t.Fatalf("after the drain the file holds %d events, want 2", n)
	}
	if s := status(); s == "200 OK" {
		t.Fatalf("the admin endpoint still answers %s after Run returned", s)
	}
}
