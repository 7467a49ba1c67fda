package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// receiveFields are set by the listener, not by parsing the line.
var receiveFields = []string{"event_id", "received_at", "listener", "transport", "peer_ip", "peer_port"}

// expected is what parsing raw at the event's receive time gives.
func expected(t *testing.T, raw string, receivedAt string) map[string]any {
	t.Helper()
	rx, err := time.Parse(time.RFC3339Nano, receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	ev := parse.Event{ReceivedAt: rx}
	parse.NewParser(parse.Options{}).Parse([]byte(raw), &ev)
	enrich.Empty().Enrich(&ev, &enrich.Outcome{}) // no catalog configured: system objects only
	var m map[string]any
	json.Unmarshal(ev.AppendJSON(nil), &m)
	for _, k := range receiveFields {
		delete(m, k)
	}
	return m
}

func TestEveryCorpusLineOverEveryTransport(t *testing.T) {
	d := startReceiver(t, t.TempDir(), "", "")
	lines := testcorpus.All()

	sendUDP(t, d.addrs["udp"], lines)
	sendLF(t, d.addrs["tcp"], lines)

	octet, err := net.Dial("tcp", d.addrs["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		fmt.Fprintf(octet, "%d %s", len(l.Message), l.Message)
	}
	octet.Close()

	tc := d.tlsClient(t)
	for _, l := range lines {
		fmt.Fprintf(tc, "%d %s", len(l.Message), l.Message)
	}
	tc.Close()

	events := d.readEvents(t, 4*len(lines))
	if len(events) != 4*len(lines) {
		t.Fatalf("%d events, want exactly %d", len(events), 4*len(lines))
	}
	perTransport := map[string]map[string]int{}
	for _, ev := range events {
		tr := ev["transport"].(string)
		if perTransport[tr] == nil {
			perTransport[tr] = map[string]int{}
		}
		perTransport[tr][ev["raw"].(string)]++
		if ev["peer_ip"] != "127.0.0.1" || ev["event_id"] == nil || ev["received_at"] == nil {
			t.Fatalf("receive metadata missing: %v", ev)
		}
		want := expected(t, ev["raw"].(string), ev["received_at"].(string))
		got := map[string]any{}
		for k, v := range ev {
			got[k] = v
		}
		for _, k := range receiveFields {
			delete(got, k)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("event differs from the parser's output for the same line:\n got %s\nwant %s", gj, wj)
		}
	}
	for _, tr := range []string{"udp", "tcp", "tls"} {
		for _, l := range lines {
			raw := strings.TrimRight(string(l.Message), "\r\n\x00")
			want := 1
			if tr == "tcp" {
				want = 2 // LF and octet-counted connections
			}
			if got := perTransport[tr][raw]; got != want {
				t.Errorf("%s: line %s arrived %d times, want %d", tr, l.Label, got, want)
			}
		}
	}

	// Spot checks of values a reader would look for.
	for _, ev := range events {
		if ev["transport"] != "tls" {
			continue
		}
		raw := ev["raw"].(string)
		switch {
		case strings.Contains(raw, "SESSION_ID=17916192532688554942"):
			// uint64 beyond int64 must survive exactly
			if !strings.Contains(mustLine(t, d.events, raw), `"session_id":17916192532688554942`) {
				t.Error("uint64 session id lost precision")
			}
		case strings.Contains(raw, "sni_hostname\":\"pastebin.example.net"):
			if ev["kind"] != "l7" || ev["action"] != "DENY" || ev["enforced"] != true || ev["rule_uuid"] != "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f" || ev["gateway"] != "prod-use1-spoke1" {
				t.Errorf("L7-13 fields: %v", ev)
			}
		}
	}
}

func mustLine(t *testing.T, file, raw string) string {
	data, _ := os.ReadFile(file)
	for _, l := range strings.Split(string(data), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(l), &ev) == nil && ev["raw"] == raw {
			return l
		}
	}
	t.Fatalf("no event for %q", raw)
	return ""
}

// TestMalformedInputNeverCrashes sends binary garbage, 1 MiB lines,
// oversized and truncated frames and a client that stops mid-frame; the
// daemon stays healthy and the messages that follow on the same connection
// arrive.
func TestMalformedInputNeverCrashes(t *testing.T) {
	d := startReceiver(t, t.TempDir(), "", "")
	good := "<158>Mar 14 09:07:40 GW-a-1.2.3.4 /usr/local/bin/avx-gw-state-sync 2026/03/14 09:07:40 AviatrixGwMicrosegPacket: POLICY=9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d SRC_IP=10.0.0.1 DST_IP=10.0.0.2 ACT=DENY ENFORCED=true"
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i*31 + 7)
	}
	var stream bytes.Buffer
	stream.Write(garbage)
	stream.WriteString("\n" + strings.Repeat("M", 1<<20) + "\n")
	stream.WriteString(strconv.Itoa(1<<20) + " " + strings.Repeat("O", 1<<20))
	stream.WriteString("<14>\n<>\n<999999>x\n\x00\x00\x00\n")
	stream.WriteString(good + " SEQ=1\n")

	for _, transport := range []string{"tcp", "tls"} {
		var c net.Conn
		if transport == "tls" {
			c = d.tlsClient(t)
		} else {
			var err error
			if c, err = net.Dial("tcp", d.addrs["tcp"]); err != nil {
				t.Fatal(err)
			}
		}
		c.Write(stream.Bytes())
		c.Close()
	}
	// A client that stops inside a frame, then one that behaves.
	stop, _ := net.Dial("tcp", d.addrs["tcp"])
	io.WriteString(stop, "900 <14>Mar 14 09:00:00 h app: cut short")
	stop.Close()
	udp, _ := net.Dial("udp", d.addrs["udp"])
	udp.Write(garbage[:1400])
	udp.Write([]byte(good + " SEQ=2"))
	udp.Close()

	var seen map[string]int
	complete := func() bool {
		return seen["tcp"] == 1 && seen["tls"] == 1 && seen["udp"] == 1 && seen["cut"] == 1 && seen["long"] == 2
	}
	testwait.Until(t, "every line after the malformed input", testwait.Idle, func() (bool, string) {
		seen = map[string]int{}
		data, _ := os.ReadFile(d.events)
		for _, l := range bytes.Split(data, []byte("\n")) {
			var ev map[string]any
			if json.Unmarshal(l, &ev) != nil {
				continue
			}
			raw, _ := ev["raw"].(string)
			switch {
			case strings.HasSuffix(raw, "SEQ=1"):
				seen[ev["transport"].(string)]++
				if ev["kind"] != "l4" || ev["parse_status"] != "ok" {
					t.Fatalf("good line after garbage parsed as %v/%v", ev["kind"], ev["parse_status"])
				}
			case strings.HasSuffix(raw, "SEQ=2"):
				seen["udp"]++
			case strings.HasSuffix(raw, "cut short"):
				seen["cut"]++
				if ev["parse_status"] != "partial" || !strings.Contains(fmt.Sprint(ev["flags"]), "listener_truncated") {
					t.Fatalf("cut-short frame: %v", ev)
				}
			case strings.HasPrefix(raw, "MMMM"):
				seen["long"]++
				if len(raw) != 64<<10 || ev["parse_status"] != "failed" {
					t.Fatalf("1 MiB line kept as %d bytes, status %v", len(raw), ev["parse_status"])
				}
			}
		}
		return complete(), fmt.Sprint(seen)
	})
	resp, err := http.Get("http://" + d.addrs["admin"] + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after malformed input: %v %v", resp, err)
	}
	resp.Body.Close()
	metrics := get(t, "http://"+d.addrs["admin"]+"/metrics")
	for _, want := range []string{`vca_collector_truncated_messages_total{listener="tcp"}`, `vca_collector_parse_errors_total{reason="bad_pri"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestSIGTERMDrainsAndExitsZero: everything received before the signal is
// written, the readiness probe turns off, and the exit code is 0.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	d := startReceiver(t, t.TempDir(), "", "")
	if body := get(t, "http://"+d.addrs["admin"]+"/readyz"); !strings.Contains(body, "ready") {
		t.Fatalf("readyz: %q", body)
	}
	c, _ := net.Dial("tcp", d.addrs["tcp"])
	const n = 20000
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "<14>Mar 14 09:00:00 GW-a-1.2.3.4 app: message %d\n", i)
	}
	c.Write(buf.Bytes())
	c.Close()
	// What the listener has read is accepted and must be delivered; what
	// still sits in the socket when the listener closes is not.
	testwait.Until(t, "the listener to read every message", testwait.Idle, func() (bool, string) {
		got := d.metric(t, "vca_collector_received_messages_total")
		return got >= n, fmt.Sprintf("%v of %d received", got, n)
	})
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, d.logs)
		}
	case <-time.After(time.Minute): // shutdown_timeout is 10s
		t.Fatal("collector did not exit within a minute of SIGTERM (its shutdown_timeout is 10s)")
	}
	t.Logf("drained and exited in %v", time.Since(start))
	events := d.readEvents(t, n)
	if len(events) != n {
		t.Fatalf("%d events written, want %d", len(events), n)
	}
}

func TestParseCommand(t *testing.T) {
	var in bytes.Buffer
	for _, l := range testcorpus.All() {
		if l.OctetCounted {
			fmt.Fprintf(&in, "%d %s", len(l.Message), l.Message)
		} else {
			in.Write(l.Message)
			in.WriteByte('\n')
		}
	}
	cmd := exec.Command(binary, "parse", "--received-at", "2026-03-15T00:00:00Z", "-")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/parse.golden.jsonl", out)
	if n := bytes.Count(out, []byte("\n")); n != len(testcorpus.All()) {
		t.Fatalf("%d events for %d lines", n, len(testcorpus.All()))
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ yaml, env, want string }{
		{"listeners:\n  tcp:\n    - {name: t, address: 127.0.0.1:0, idle_timeout: forever}\n", "", "listeners.tcp[0].idle_timeout"},
		{"listeners:\n  udp:\n    - {name: u, adress: 127.0.0.1:0}\n", "", "listeners.udp[0].adress: unknown key"},
		{"listeners: {}\n", "", "listeners: configure at least one"},
		{"listeners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "VCA_LOG_LEVEL=loud", "log.level"},
		{"mode: relay\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", `mode: "relay" is not edge, writer or all`},
		{"mode: edge\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "kafka: is required in edge mode"},
		{"mode: writer\nkafka: {brokers: [127.0.0.1:9092]}\n", "", "sinks.clickhouse: is required"},
		{"mode: writer\nkafka: {brokers: [127.0.0.1:9092]}\nsinks: {clickhouse: {}}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "listeners: writer collectors do not receive syslog"},
		{"mode: edge\nkafka: {brokers: [127.0.0.1:9092]}\nsinks: {clickhouse: {}}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "sinks.clickhouse: edge collectors produce to Kafka"},
		{"mode: edge\nkafka: {brokers: [kafka1]}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", `kafka.brokers[0]: "kafka1" is not host:port`},
		{"mode: edge\nkafka: {brokers: [127.0.0.1:9092], producer: {compression: brotli}}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "kafka.producer.compression"},
		{"mode: edge\nkafka: {brokers: [127.0.0.1:9092], sasl: {mechanism: kerberos, username: u}}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "kafka.sasl: mechanism"},
		{"mode: edge\nkafka: {brokers: [127.0.0.1:9092], sasl: {mechanism: plain, username: u, password_file: /nonexistent}}\nlisteners:\n  tcp: [{name: t, address: 127.0.0.1:0}]\n", "", "kafka.sasl: password_file"},
	}
	for i, tt := range tests {
		f := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
		os.WriteFile(f, []byte(tt.yaml), 0o600)
		cmd := exec.Command(binary, "run", "--config", f)
		if tt.env != "" {
			cmd.Env = append(os.Environ(), tt.env)
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("config %d: exit %v, output %q; want it to name %q", i, err, out, tt.want)
		}
	}
}

// TestClickHouseSink: a collector process receives the corpus over TCP and
// UDP, writes it to ClickHouse and to the file; after SIGTERM every event of
// the file is in ClickHouse once, with the same fields, unparsed lines are
// in raw_unparsed, and the ingest chain verifies.
func TestClickHouseSink(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	d := startReceiver(t, t.TempDir(), fmt.Sprintf("  clickhouse: {addresses: [%q], database: %s, chain_id: e2e, flush_interval: 100ms, batch_size: 40, dead_letter_dir: %q}",
		addr, db, filepath.Join(t.TempDir(), "dl")), "")
	lines := testcorpus.All()
	sendUDP(t, d.addrs["udp"], lines)
	sendLF(t, d.addrs["tcp"], lines)
	events := d.readEvents(t, 2*len(lines))
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-d.exited; err != nil {
		t.Fatalf("exit: %v\n%s", err, d.logs)
	}

	parsed := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events")
	unparsed := testch.Count(t, conn, "SELECT count() FROM "+db+".raw_unparsed")
	if parsed+unparsed != uint64(len(events)) || unparsed == 0 {
		t.Fatalf("ClickHouse holds %d events + %d unparsed, the file %d", parsed, unparsed, len(events))
	}
	for _, ev := range events {
		id := strings.ReplaceAll(ev["event_id"].(string), "-", "")
		table, cols := "dcf_events", "kind, parse_status, rule_uuid, action, sni, raw"
		want := []string{str(ev["kind"]), str(ev["parse_status"]), str(ev["rule_uuid"]), str(ev["action"]), str(ev["sni"]), str(ev["raw"])}
		if ev["parse_status"] == "failed" {
			table, cols = "raw_unparsed", "parse_status, parse_error, raw"
			want = []string{str(ev["parse_status"]), str(ev["parse_error"]), str(ev["raw"])}
		}
		got := make([]string, len(want))
		ptrs := make([]any, len(want))
		for i := range got {
			ptrs[i] = &got[i]
		}
		if err := conn.QueryRow(context.Background(), "SELECT "+cols+" FROM "+db+"."+table+" WHERE event_id = unhex(?)", id).Scan(ptrs...); err != nil {
			t.Fatalf("event %s (%s): %v", id, str(ev["raw"]), err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("event %s in %s:\n got %q\nwant %q", id, table, got, want)
		}
	}
	rep, err := clickhouse.Verify(context.Background(), conn, db, "e2e")
	if err != nil || !rep.OK() || rep.Rows != uint64(len(events)) {
		t.Fatalf("ingest chain: %+v %v", rep, err)
	}
	t.Logf("%d events in ClickHouse over %d batches; chain verified", rep.Rows, rep.Batches)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// sendUDP sends one datagram per line, pausing now and then so a small
// receive buffer is not overrun.
func sendUDP(t *testing.T, addr string, lines []testcorpus.Line) {
	t.Helper()
	udp, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		udp.Write(l.Message)
		if i%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	udp.Close()
}

// sendLF sends the lines over one TCP connection, LF-framed.
func sendLF(t *testing.T, addr string, lines []testcorpus.Line) {
	t.Helper()
	lf, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		lf.Write(append(append([]byte(nil), l.Message...), '\n'))
	}
	lf.Close()
}
