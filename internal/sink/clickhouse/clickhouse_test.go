package clickhouse

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// The native columns a batch sends are the schema's insert columns, in
// order, each of the schema's type.
func TestEncoderCoversSchema(t *testing.T) {
	for _, tc := range []struct {
		table string
		rows  block
		cols  []column
	}{{"dcf_events", &eventRows{}, eventColumns}, {"raw_unparsed", &unparsedRows{}, unparsedColumns}, {"ingest_batches", &recordRows{}, batchColumns}} {
		var have, haveTypes, want, wantTypes []string
		for _, c := range tc.rows.columns() {
			have, haveTypes = append(have, c.name), append(haveTypes, string(c.col.Type()))
		}
		for _, c := range tc.cols {
			if c.dflt == "" {
				want, wantTypes = append(want, c.name), append(wantTypes, c.typ.name)
			}
		}
		if !slices.Equal(have, want) {
			t.Errorf("%s: encoder columns\n %v\nschema insert columns\n %v", tc.table, have, want)
		}
		if !slices.Equal(haveTypes, wantTypes) {
			t.Errorf("%s: encoder types\n %v\nschema types\n %v", tc.table, haveTypes, wantTypes)
		}
	}
}

func TestCheckServerVersion(t *testing.T) {
	for _, tc := range []struct {
		major, minor int
		ok           bool
	}{{18, 16, false}, {22, 8, false}, {24, 3, false}, {24, 7, false}, {24, 8, true}, {25, 3, true}, {26, 7, true}} {
		if err := CheckServerVersion(tc.major, tc.minor); (err == nil) != tc.ok {
			t.Errorf("%d.%d: %v, want ok=%v", tc.major, tc.minor, err, tc.ok)
		}
	}
}

func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("send: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"timeout", context.DeadlineExceeded, true},
		{"overloaded", &clickhouse.Exception{Code: 202}, true},
		{"too many parts", &clickhouse.Exception{Code: 252}, true},
		{"unknown column", &clickhouse.Exception{Code: 16}, false},
		{"type mismatch", &clickhouse.Exception{Code: 53}, false},
		{"unknown table", &clickhouse.Exception{Code: 60}, false},
		{"encode", &encodeError{column: "x", err: errors.New("bad")}, false},
	} {
		if got := Retriable(tc.err); got != tc.want {
			t.Errorf("%s: Retriable = %v", tc.name, got)
		}
	}
}

// corpusEvents parses every corpus line with receive metadata, the way the
// pipeline does.
func corpusEvents(t testing.TB, firstID uint64) []parse.Event {
	t.Helper()
	p := parse.NewParser(parse.Options{})
	lines := testcorpus.All()
	events := make([]parse.Event, len(lines))
	rx := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	for i, l := range lines {
		e := &events[i]
		e.EventID = parse.NewEventID(e.EventID.Origin(), firstID+uint64(i))
		e.ReceivedAt = rx.Add(time.Duration(i) * time.Millisecond)
		e.Listener, e.Transport = "tcp", "tcp"
		e.Peer = netip.MustParseAddrPort("10.1.0.5:41000")
		p.Parse(l.Message, e)
		*e = *e.Clone()
	}
	return events
}

func testConfig(addr, db string) Config {
	c := Config{Addresses: []string{addr}, Database: db, ChainID: "test", FlushInterval: config.Duration(50 * time.Millisecond),
		MaxRetryBackoff: config.Duration(200 * time.Millisecond), DialTimeout: config.Duration(2 * time.Second)}
	c.SetDefaults()
	return c
}

func testConfigIn(t *testing.T, addr, db string) Config {
	c := testConfig(addr, db)
	c.DeadLetterDir = t.TempDir()
	return c
}

func newSink(t *testing.T, cfg Config) (*Sink, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, reg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

func shutdown(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.BatchSize = 20 // several batches, so the chain has links
	s, _ := newSink(t, cfg)
	events := corpusEvents(t, 1)
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)

	var parsed, failed uint64
	for _, e := range events {
		if e.Status == parse.StatusFailed {
			failed++
		} else {
			parsed++
		}
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events"); n != parsed {
		t.Errorf("dcf_events has %d rows, want %d", n, parsed)
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".raw_unparsed"); n != failed || failed == 0 {
		t.Errorf("raw_unparsed has %d rows, want %d (> 0)", n, failed)
	}
	for _, r := range []string{"dcf_rollup_minute", "dcf_rollup_hour"} {
		if n := testch.Count(t, conn, "SELECT sum(events) FROM "+db+"."+r); n != parsed {
			t.Errorf("%s counts %d events, want %d", r, n, parsed)
		}
	}

	// Every column of every row, as ClickHouse returns it, against the event.
	for _, e := range events {
		if e.Status == parse.StatusFailed {
			continue
		}
		checkRow(t, conn, db, &e)
	}

	rep, err := Verify(context.Background(), conn, db, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Batches < 3 || rep.Rows != uint64(len(events)) {
		t.Fatalf("chain: %+v", rep)
	}

	// Tampering is caught: alter one raw line.
	if err := conn.Exec(context.Background(), "ALTER TABLE "+db+".dcf_events UPDATE raw = 'forged' WHERE event_id = unhex(?)", hex.EncodeToString(events[3].EventID[:])); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, conn, db)
	rep, err = Verify(context.Background(), conn, db, "test")
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatal("a forged raw line verified")
	}
	t.Logf("tampering reported as: %v", rep.Problems)
}

func waitMutations(t *testing.T, conn driver.Conn, db string) {
	t.Helper()
	open := func() uint64 {
		return testch.Count(t, conn, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", db)
	}
	testwait.For(t, "the mutation to finish", testwait.Idle, func() bool { return open() == 0 },
		func() string { return fmt.Sprintf("%d mutations open", open()) })
}

// checkRow reads the event's row back and compares the columns that carry
// the decision.
func checkRow(t *testing.T, conn driver.Conn, db string, e *parse.Event) {
	t.Helper()
	var (
		receivedAt, eventTime               time.Time
		kind, status, gateway, ruleUUID     string
		action, proto, sni, url, raw, srcIP string
		dstIP, gatewayIP                    string
		enforced                            *uint8
		srcPort, dstPort                    uint16
		sessionID, pkts, bytesN             uint64
		sessionStart                        int64
		extraKeys                           []string
		flags                               []string
	)
	q := `SELECT received_at, event_time, kind, parse_status, gateway, rule_uuid, action, proto, sni, url, raw,
  replaceRegexpOne(IPv6NumToString(src_ip), '^::ffff:', ''), replaceRegexpOne(IPv6NumToString(dst_ip), '^::ffff:', ''),
  replaceRegexpOne(IPv6NumToString(gateway_ip), '^::ffff:', ''),
  enforced, src_port, dst_port, session_id, session_pkts, session_bytes, session_start_ns, extra_keys, flags
FROM ` + db + `.dcf_events WHERE event_id = unhex(?)`
	err := conn.QueryRow(context.Background(), q, hex.EncodeToString(e.EventID[:])).Scan(&receivedAt, &eventTime,
		&kind, &status, &gateway, &ruleUUID, &action, &proto, &sni, &url, &raw, &srcIP, &dstIP, &gatewayIP,
		&enforced, &srcPort, &dstPort, &sessionID, &pkts, &bytesN, &sessionStart, &extraKeys, &flags)
	if err != nil {
		t.Fatalf("event %x: %v", e.EventID, err)
	}
	ipText := func(a netip.Addr) string {
		if !a.IsValid() {
			return "::"
		}
		return a.String()
	}
	wantEnforced := "NULL"
	if e.Has&parse.HasEnforced != 0 {
		wantEnforced = fmt.Sprint(map[bool]int{false: 0, true: 1}[e.Enforced])
	}
	gotEnforced := "NULL"
	if enforced != nil {
		gotEnforced = fmt.Sprint(*enforced)
	}
	wantRule := ""
	if e.Has&parse.HasRuleUUID != 0 {
		wantRule = e.RuleUUID.String()
	}
	got := []any{receivedAt.UnixMilli(), eventTime.UnixMilli(),
		kind, status, gateway, ruleUUID, action, proto, sni, url, raw, srcIP, dstIP, gatewayIP, gotEnforced, srcPort, dstPort,
		sessionID, pkts, bytesN, sessionStart, len(extraKeys), strings.Join(flags, ",")}
	want := []any{e.ReceivedAt.UnixMilli(), e.EventTime.UnixMilli(),
		e.Kind.String(), e.Status.String(), string(e.Gateway), wantRule, string(actionName(e)), string(e.Proto), string(e.SNI), string(e.URL),
		string(e.Raw), ipText(e.SrcIP), ipText(e.DstIP), ipText(e.GatewayIP), wantEnforced, e.SrcPort, e.DstPort,
		e.SessionID, e.SessionPkts, e.SessionBytes, e.SessionStart, len(e.Extra), strings.Join(e.Flags.AppendNames(nil), ",")}
	names := strings.Fields("received event kind status gateway rule_uuid action proto sni url raw src_ip dst_ip gateway_ip enforced src_port dst_port session_id pkts bytes session_start extra flags")
	for i := range got {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("event %x (%s): %s = %v, want %v", e.EventID[8:], e.Raw[:min(len(e.Raw), 40)], names[i], got[i], want[i])
		}
	}
}

func TestPermanentErrorGoesToDeadLetter(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.DeadLetterDir = t.TempDir()
	s, reg := newSink(t, cfg)
	// The operator drops a column the collector writes: the server refuses
	// every insert with "no such column", which no retry can fix.
	if err := conn.Exec(context.Background(), "ALTER TABLE "+db+".dcf_events DROP COLUMN payload"); err != nil {
		t.Fatal(err)
	}
	events := corpusEvents(t, 1)
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	files, _ := filepath.Glob(filepath.Join(cfg.DeadLetterDir, "clickhouse-*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files: %v", files)
	}
	body, _ := os.ReadFile(files[0])
	if n := strings.Count(string(body), "\n"); n != len(events) {
		t.Errorf("dead-letter file holds %d rows, want %d", n, len(events))
	}
	var first struct {
		Sink, Error, Table string
		Record             map[string]any
	}
	if err := json.Unmarshal(body[:bytes.IndexByte(body, '\n')], &first); err != nil {
		t.Fatalf("dead-letter line is not JSON: %v: %.300s", err, body)
	}
	if first.Sink != "clickhouse" || first.Table != "dcf_events" || !strings.Contains(first.Error, "payload") || first.Record["event_id"] == nil {
		t.Errorf("dead-letter line lacks the sink, table, server's message or row: %.300s", body)
	}
	m, _ := reg.Gather()
	if v := counterValue(m, "vca_collector_clickhouse_insert_failures_total", "false"); v != 1 {
		t.Errorf("permanent failures counted %v, want 1", v)
	}
}

func counterValue(mfs []*dto.MetricFamily, name, retriable string) float64 {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "retriable" && l.GetValue() == retriable {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// ackDropProxy forwards TCP to the server; when armed, it delivers the next
// large client write (an INSERT's data) but never returns the server's reply
// and cuts the connection: the server has the rows, the client saw EOF.
// With kill set, it kills the server instead, right after delivering the
// write: the INSERT is cut off somewhere inside the server.
type ackDropProxy struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped atomic.Int32
	kill    func()
}

func newAckDropProxy(t *testing.T, target string) *ackDropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ackDropProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *ackDropProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *ackDropProxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var cut atomic.Bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && !cut.Load() {
				client.Write(buf[:n])
			}
			if err != nil || cut.Load() {
				client.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			server.Write(buf[:n])
			if n > 2048 && p.armed.CompareAndSwap(true, false) {
				p.dropped.Add(1)
				cut.Store(true)
				if p.kill != nil {
					p.kill()
				} else {
					// Let the server read and commit the block, then
					// drop its answer and the connection.
					time.Sleep(500 * time.Millisecond)
				}
				server.Close()
				client.Close()
				return
			}
		}
		if err != nil {
			server.Close()
			return
		}
	}
}

func TestAckLossCountsOnce(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	proxy := newAckDropProxy(t, addr)
	cfg := testConfigIn(t, proxy.ln.Addr().String(), db)
	cfg.Compression = "none" // so the INSERT's data is one large write the proxy can see
	s, _ := newSink(t, cfg)
	events := corpusEvents(t, 1)
	proxy.armed.Store(true)
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	if proxy.dropped.Load() != 1 {
		t.Fatalf("the proxy dropped %d replies, want 1", proxy.dropped.Load())
	}
	var parsed uint64
	for _, e := range events {
		if e.Status != parse.StatusFailed {
			parsed++
		}
	}
	expectCountedOnce(t, conn, db, events, "after an ack loss")
}

// expectCountedOnce checks that each event is stored once, seen by plain
// count() in the tables and by the rollups' sums, and that the chain
// verifies.
func expectCountedOnce(t *testing.T, conn driver.Conn, db string, events []parse.Event, after string) {
	t.Helper()
	parsed, failed := countStatus(events)
	for q, want := range map[string]uint64{
		"SELECT count() FROM " + db + ".dcf_events":            parsed,
		"SELECT count() FROM " + db + ".raw_unparsed":          failed,
		"SELECT sum(events) FROM " + db + ".dcf_rollup_minute": parsed,
		"SELECT sum(events) FROM " + db + ".dcf_rollup_hour":   parsed,
	} {
		if got := testch.Count(t, conn, q); got != want {
			t.Errorf("%s: %s = %d, want %d", after, q, got, want)
		}
	}
	rep, err := Verify(context.Background(), conn, db, "test")
	if err != nil || !rep.OK() {
		t.Errorf("%s: chain %+v %v", after, rep, err)
	}
}

// ownServer starts a ClickHouse server of the test's own, so the test can
// kill it; it returns the address and a function that restarts it.
func ownServer(t *testing.T) (addr string, kill, restart func()) {
	t.Helper()
	srv := testch.OwnServer(t)
	return srv.Addr, srv.Kill, srv.Start
}

// The server is killed with SIGKILL while an INSERT is on its way in
// (the proxy kills it right after passing on the INSERT's data), stays
// down while writes keep coming, and comes back on the same data: the
// sink retries every batch with its token, and plain count() finds each
// event once, in the tables and in the rollups.
func TestServerKilledDuringAnInsert(t *testing.T) {
	srv := testch.OwnServer(t)
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	proxy := newAckDropProxy(t, srv.Addr)
	proxy.kill = srv.Kill
	cfg := testConfigIn(t, proxy.ln.Addr().String(), db)
	cfg.BatchSize, cfg.Compression = 500, "none"
	s, _ := newSink(t, cfg)

	const rounds = 150
	var all []parse.Event
	restarted := make(chan struct{})
	for r := range rounds {
		events := corpusEvents(t, uint64(r)*1000)
		all = append(all, events...)
		if r == 20 {
			proxy.armed.Store(true)
			go func() { // Write blocks while the server is down
				defer close(restarted)
				for deadline := time.Now().Add(testwait.Idle); proxy.dropped.Load() == 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Errorf("no INSERT went through the proxy within %v", testwait.Idle)
						break
					}
				}
				time.Sleep(1500 * time.Millisecond)
				srv.Start()
				t.Log("server restarted")
			}()
		}
		if err := s.Write(context.Background(), events, func() {}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-restarted
	shutdown(t, s)
	expectCountedOnce(t, testch.Conn(t, srv.Addr), db, all, "after the server was killed during an insert")
}

// retention_days becomes a TTL: rows older than the limit go (here at
// once, as the corpus's 2022 lines are inserted), rows within it stay, in
// the tables and in the rollups.
func TestRetentionTTL(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.RetentionDays = 30
	s, _ := newSink(t, cfg)
	events := corpusEvents(t, 1)
	for i := range events {
		if i%2 == 0 {
			events[i].EventTime = events[i].ReceivedAt // within the retention
		}
	}
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	cutoff := time.Now().AddDate(0, 0, -30)
	var keep, old uint64
	for _, e := range events {
		if e.Status == parse.StatusFailed {
			continue
		}
		if e.EventTime.After(cutoff.Add(time.Hour)) {
			keep++
		} else if e.EventTime.Before(cutoff.Add(-24 * time.Hour)) {
			old++
		}
	}
	if old == 0 || keep == 0 {
		t.Fatalf("the corpus should have rows on both sides of the cutoff: %d old, %d recent", old, keep)
	}
	if err := conn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".dcf_events FINAL"); err != nil {
		t.Fatal(err)
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events WHERE event_time < now() - INTERVAL 31 DAY"); n != 0 {
		t.Errorf("%d rows older than the retention survived", n)
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events WHERE event_time > now() - INTERVAL 29 DAY"); n < keep {
		t.Errorf("%d rows within the retention kept, want %d", n, keep)
	}
	for _, table := range []string{"dcf_events", "raw_unparsed", "dcf_rollup_minute", "dcf_rollup_hour"} {
		var ddl string
		if err := conn.QueryRow(context.Background(), "SELECT create_table_query FROM system.tables WHERE database = ? AND name = ?", db, table).Scan(&ddl); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ddl, "TTL toDateTime(") || !strings.Contains(ddl, "toIntervalDay(30)") {
			t.Errorf("%s has no 30-day TTL: %s", table, ddl)
		}
	}
}

// Durable callbacks run only once the rows are in ClickHouse, exactly once
// per Write, and a new sink's Resume names the last stored event.
func TestDurableOnlyAfterInsertAndResume(t *testing.T) {
	addr, kill, restart := ownServer(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	cfg := testConfigIn(t, addr, db)
	cfg.BatchSize = 20
	events := corpusEvents(t, 1000)
	// Every batch of the corpus fits in the queue, so that the writes
	// below return while the server is down.
	cfg.MaxPendingBatches = len(events)/cfg.BatchSize + 1
	s, _ := newSink(t, cfg)
	kill()

	var calls []atomic.Int32
	calls = make([]atomic.Int32, (len(events)+6)/7)
	for i := 0; i < len(events); i += 7 {
		k := i / 7
		if err := s.Write(context.Background(), events[i:min(i+7, len(events))], func() { calls[k].Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for k := range calls {
		if calls[k].Load() != 0 {
			t.Fatalf("write %d reported durable while ClickHouse was down", k)
		}
	}
	restart()
	shutdown(t, s)
	for k := range calls {
		if n := calls[k].Load(); n != 1 {
			t.Fatalf("write %d: durable called %d times, want 1", k, n)
		}
	}
	s2, _ := newSink(t, cfg)
	defer shutdown(t, s2)
	last, ok, err := s2.Resume(context.Background(), [8]byte{})
	if err != nil || !ok || last != 1000+uint64(len(events))-1 {
		t.Fatalf("Resume = %d %v %v, want %d", last, ok, err, 1000+len(events)-1)
	}
	if _, ok, _ := s2.Resume(context.Background(), [8]byte{1}); ok {
		t.Fatal("Resume for another spool id reported events")
	}
}

// The recorder records a chain's segments only in seal order and without
// a gap, whatever order the inserters finish their batches in; chains do
// not wait for each other. A dead-lettered segment is passed over without
// a record; an abandoned one stops its chain.
func TestRecorderKeepsEveryChainAGaplessPrefix(t *testing.T) {
	a, b := &Sink{chainID: "a", recordedSeq: 10}, &Sink{chainID: "b"}
	sg := func(s *Sink, seq uint64, o outcome) *segment { return &segment{owner: s, seq: seq, outcome: o} }
	names := func(segs []*segment) string {
		var out []string
		for _, x := range segs {
			out = append(out, fmt.Sprintf("%s%d", x.owner.chainID, x.seq))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	r := newRecorder(nil)
	for _, step := range []struct {
		arrive          []*segment
		record, settled string
	}{
		{arrive: []*segment{sg(a, 12, rowsStored), sg(b, 1, rowsStored), sg(a, 13, rowsStored)}, record: "b1"},
		{arrive: []*segment{sg(b, 3, rowsStored)}},
		{arrive: []*segment{sg(a, 11, rowsStored), sg(b, 2, deadLettered)}, record: "a11 a12 a13 b3", settled: "b2"},
		{arrive: []*segment{sg(a, 15, rowsStored), sg(a, 14, abandoned)}},
		{arrive: []*segment{sg(b, 4, rowsStored), sg(a, 16, rowsStored)}, record: "b4"},
	} {
		for _, x := range step.arrive {
			r.waiting[x.owner] = append(r.waiting[x.owner], x)
		}
		record, settled := r.next()
		if got := names(record); got != step.record {
			t.Errorf("after %s: recorded %q, want %q", names(step.arrive), got, step.record)
		}
		if got := names(settled); got != step.settled {
			t.Errorf("after %s: settled %q, want %q", names(step.arrive), got, step.settled)
		}
	}
	if a.recordedSeq != 13 || b.recordedSeq != 4 {
		t.Errorf("chains settled through a%d and b%d, want a13 and b4", a.recordedSeq, b.recordedSeq)
	}
}

// A database the previous release created (schema version 2, whose rollups
// held uniqState(event_id)) with rows in it: opening the store migrates it
// to counting rollups rebuilt from dcf_events, and later inserts add to
// them.
func TestMigratesASchemaV2Database(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	ctx := context.Background()
	db, scratch := testch.Database(t, conn), testch.Database(t, conn)
	v2, err := os.ReadFile(filepath.Join("testdata", "schema-v2.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(strings.ReplaceAll(string(v2), "`vca`", quoteIdent(db)), ";\n") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if sql := strings.TrimSpace(strings.Join(lines, "\n")); sql != "" {
			if err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%v\n%s", err, sql)
			}
		}
	}
	for _, v := range []uint32{1, 2} {
		if err := recordMigration(ctx, conn, db, migration{version: v, description: "as the previous release recorded it"}, "modern"); err != nil {
			t.Fatal(err)
		}
	}
	// Rows as the previous release stored them: the same columns, so
	// copied from a database the sink writes now.
	events := corpusEvents(t, 1)
	s, _ := newSink(t, testConfigIn(t, addr, scratch))
	if err := s.Write(ctx, events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	for _, table := range []struct {
		name string
		cols []column
	}{{"dcf_events", eventColumns}, {"raw_unparsed", unparsedColumns}} {
		var v2cols []string
		for _, c := range table.cols {
			if c.since <= 2 {
				v2cols = append(v2cols, quoteIdent(c.name))
			}
		}
		list := strings.Join(v2cols, ", ")
		if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s", db, table.name, list, list, scratch, table.name)); err != nil {
			t.Fatal(err)
		}
	}
	parsed, _ := countStatus(events)
	if n := testch.Count(t, conn, "SELECT toUInt64(uniqMerge(events)) FROM "+db+".dcf_rollup_minute"); n != parsed {
		t.Fatalf("the version 2 rollup counts %d, want %d", n, parsed)
	}

	s, _ = newSink(t, testConfigIn(t, addr, db))
	later := corpusEvents(t, 100000)
	if err := s.Write(ctx, later, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	if n := testch.Count(t, conn, "SELECT toUInt64(max(version)) FROM "+db+".schema_migrations"); n != uint64(schemaVersion) {
		t.Errorf("schema version %d after opening, want %d", n, schemaVersion)
	}
	for _, r := range []string{"dcf_rollup_minute", "dcf_rollup_hour"} {
		if n := testch.Count(t, conn, "SELECT sum(events) FROM "+db+"."+r); n != 2*parsed {
			t.Errorf("%s counts %d after the migration and a second batch, want %d", r, n, 2*parsed)
		}
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events"); n != 2*parsed {
		t.Errorf("dcf_events holds %d rows, want %d", n, 2*parsed)
	}
}

// IDS alerts are rows of their own kind with their signature, category,
// severity, flow id and application protocol; the signature id is the
// column L7 IDS verdicts fill, so the two join on it.
func TestAlertsStoredAsTheirOwnKind(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	events := corpusEvents(t, 1)
	s, _ := newSink(t, testConfigIn(t, addr, db))
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	var want []string
	for i := range events {
		if e := &events[i]; e.Kind == parse.KindAlert {
			want = append(want, fmt.Sprintf("%s|%s|%s|%d|%d|%s|%s", e.SignatureID, e.AlertSignature, e.AlertCategory,
				e.AlertSeverity, e.FlowID, e.AppProto, actionName(e)))
		}
	}
	rows, err := conn.Query(context.Background(), "SELECT concat(signature_id, '|', alert_signature, '|', alert_category, '|', toString(alert_severity), '|', toString(flow_id), '|', app_proto, '|', action) FROM "+db+".dcf_events WHERE kind = 'alert' ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(want) < 3 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alert rows:\n%s\nwant (%d alerts in the corpus):\n%s", strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events AS a INNER JOIN "+db+".dcf_events AS d ON a.signature_id = d.signature_id WHERE a.kind = 'alert' AND d.kind = 'l7'"); n == 0 {
		t.Error("no alert joins an L7 IDS verdict on signature_id, though the corpus has one of each for 2027865")
	}
}
