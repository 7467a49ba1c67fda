package collector

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

// part records its lifecycle calls in a log shared by all parts.
type part struct {
	name      string
	failStart bool
	log       *[]string
}

func (p *part) Name() string { return p.name }
func (p *part) Start(context.Context) error {
	*p.log = append(*p.log, "start "+p.name)
	if p.failStart {
		return errors.New("address in use")
	}
	return nil
}
func (p *part) Shutdown(context.Context) error {
	*p.log = append(*p.log, "shutdown "+p.name)
	return nil
}
func (p *part) Stall(time.Duration) error { return nil }

func TestPartsStartInOrderAndStopInReverse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    string // the part whose Start fails
		wantLog []string
		wantErr string
	}{
		{"all start", "", []string{"start writer", "start receiver", "shutdown receiver", "shutdown writer"}, ""},
		{"the second fails: all are shut down in reverse", "receiver",
			[]string{"start writer", "start receiver", "shutdown receiver", "shutdown writer"}, "starting the receiver: address in use"},
		{"the first fails: nothing after it starts, all are shut down", "writer",
			[]string{"start writer", "shutdown receiver", "shutdown writer"}, "starting the writer: address in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			var parts []component
			for _, n := range []string{"writer", "receiver"} {
				parts = append(parts, &part{name: n, failStart: n == tc.fail, log: &log})
			}
			err := errors.Join(startAll(context.Background(), parts), shutdownAll(context.Background(), parts))
			if fmt.Sprint(err) != fmt.Sprint(errorOrNil(tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if !slices.Equal(log, tc.wantLog) {
				t.Errorf("calls %q, want %q", log, tc.wantLog)
			}
		})
	}
}

func errorOrNil(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// Each mode builds the halves it names, the Kafka writer before the
// receiver that feeds it; the modes with a writer need the ClickHouse
// server (its store checks the schema when it opens).
func TestModesBuildTheirHalves(t *testing.T) {
	const listener = "listeners: {tcp: [{name: tcp, address: \"127.0.0.1:0\"}]}\n"
	const kafka = "kafka: {brokers: [\"127.0.0.1:1\"], topic: vca}\n"
	for _, tc := range []struct {
		name, yaml string
		clickhouse bool
		want       []string
	}{
		{"all without kafka", listener, false, []string{"receiver"}},
		{"edge", "mode: edge\n" + listener + kafka, false, []string{"receiver"}},
		{"writer", "mode: writer\n" + kafka, true, []string{"kafka writer"}},
		{"all with kafka", listener + kafka, true, []string{"kafka writer", "receiver"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			yaml := tc.yaml + fmt.Sprintf("spool: {dir: %q}\n", filepath.Join(dir, "spool"))
			if tc.clickhouse {
				addr := testch.Addr(t)
				db := testch.Database(t, testch.Conn(t, addr))
				yaml += fmt.Sprintf("sinks: {clickhouse: {addresses: [%q], database: %s, dead_letter_dir: %q}}\n", addr, db, filepath.Join(dir, "dl"))
			} else if !strings.Contains(tc.yaml, "mode: edge") {
				yaml += fmt.Sprintf("sinks: {file: {path: %q}}\n", filepath.Join(dir, "events.jsonl"))
			}
			var cfg Config
			if err := config.Load([]byte(yaml), nil, &cfg); err != nil {
				t.Fatal(err)
			}
			c, err := New(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.parts {
				got = append(got, p.Name())
			}
			if err := shutdownAll(context.Background(), c.parts); err != nil {
				t.Errorf("shutting down the unstarted halves: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("halves %q, want %q", got, tc.want)
			}
		})
	}
}
