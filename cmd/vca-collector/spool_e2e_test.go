package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// stamped is an L4 decision line that carries its position in the test's
// stream as vcaseq=N, so what landed can be counted exactly. Sixteen
// gateways take turns, so that records keyed by gateway spread over
// partitions.
func stamped(ts time.Time, n int) []byte {
	return fmt.Appendf(nil, "<158>%s GW-prod-use1-spoke%d-3.91.10.20 /usr/local/bin/avx-gw-state-sync %s AviatrixGwMicrosegPacket: "+
		"POLICY=9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d SRC_MAC=0e:11:22:33:44:55 DST_MAC=0e:66:77:88:99:aa IP_SZ=71 SRC_IP=10.20.1.15 "+
		"DST_IP=10.20.0.2 PROTO=TCP SRC_PORT=%d DST_PORT=443 DATA=0x ACT=DROP ENFORCED=true SESSION_ID=%d SESSION_EVENT=0 "+
		"SESSION_END_REASON=0 SESSION_PKT_CNT=0 SESSION_BYTE_CNT=0 SESSION_DUR=0 vcaseq=%d\n",
		ts.Format(time.Stamp), 1+n%16, ts.Format("2006/01/02 15:04:05"), 1024+n%60000, 9220000000000000000+uint64(n), n)
}

// stream sends stamped lines over one TCP connection, LF-framed, at a
// steady rate (0: as fast as the collector reads). written counts the
// messages whose every byte write() took.
type stream struct {
	written atomic.Int64
	blocked atomic.Int64 // writes that made no progress for a second
	done    chan struct{}
	err     error
	stop    chan struct{}
	once    sync.Once
}

func startStream(t *testing.T, addr string, count, rate int) *stream {
	t.Helper()
	return startStreamRange(t, addr, 0, count, rate)
}

// startStreamFrom sends count messages as fast as they are read, numbered
// from first on.
func startStreamFrom(t *testing.T, addr string, first, count int) *stream {
	t.Helper()
	return startStreamRange(t, addr, first, count, 0)
}

func startStreamRange(t *testing.T, addr string, first, count, rate int) *stream {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer c.Close()
		ts := time.Now().UTC()
		per := 200
		tick := time.Duration(0)
		if rate > 0 {
			tick = time.Duration(per) * time.Second / time.Duration(rate)
		}
		next := time.Now()
		var buf []byte
		var ends []int
		for n := 0; n < count; {
			select {
			case <-s.stop:
				return
			default:
			}
			buf, ends = buf[:0], ends[:0]
			for k := 0; k < per && n+k < count; k++ {
				buf = append(buf, stamped(ts, first+n+k)...)
				ends = append(ends, len(buf))
			}
			off := 0
			for off < len(buf) {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				w, err := c.Write(buf[off:])
				off += w
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						s.blocked.Add(1)
						select {
						case <-s.stop:
							s.countWritten(ends, off)
							return
						default:
						}
						continue
					}
					s.countWritten(ends, off)
					s.err = err
					return
				}
			}
			s.written.Add(int64(len(ends)))
			n += len(ends)
			if tick > 0 {
				next = next.Add(tick)
				time.Sleep(time.Until(next))
			}
		}
	}()
	return s
}

func (s *stream) countWritten(ends []int, off int) {
	for _, e := range ends {
		if e <= off {
			s.written.Add(1)
		}
	}
}

func (s *stream) halt() { s.once.Do(func() { close(s.stop) }); <-s.done }

// wait waits for the sender to finish, while it keeps writing.
func (s *stream) wait(t *testing.T) {
	t.Helper()
	testwait.Until(t, "the sender to finish", testwait.Idle, func() (bool, string) {
		select {
		case <-s.done:
			return true, ""
		default:
			return false, fmt.Sprintf("%d messages written, held back %d times", s.written.Load(), s.blocked.Load())
		}
	})
}

// landed counts the stamped messages in ClickHouse: rows as stored (plain
// count(), what dashboards and exports count), distinct messages and their
// range, and rows as FINAL collapses them, for the one case the server's
// insert deduplication leaves to merges: a collector killed between
// storing a batch and recording it (internal/sink/clickhouse's package doc).
type landedCounts struct{ rows, distinct, min, max, final uint64 }

func landed(t *testing.T, conn driver.Conn, db string) landedCounts {
	t.Helper()
	sub := func(final string) string {
		return fmt.Sprintf(`SELECT toUInt64(extract(raw, 'vcaseq=([0-9]+)')) AS n FROM %[1]s.dcf_events %[2]s
			UNION ALL SELECT toUInt64(extract(raw, 'vcaseq=([0-9]+)')) AS n FROM %[1]s.raw_unparsed %[2]s`, db, final)
	}
	var l landedCounts
	if err := conn.QueryRow(context.Background(), "SELECT count(), uniqExact(n), min(n), max(n) FROM ("+sub("")+")").
		Scan(&l.rows, &l.distinct, &l.min, &l.max); err != nil {
		t.Fatal(err)
	}
	l.final = testch.Count(t, conn, "SELECT count() FROM ("+sub("FINAL")+")")
	return l
}

// waitLanded polls until want messages are in ClickHouse, while they keep
// arriving (see testwait).
func waitLanded(t *testing.T, conn driver.Conn, db string, want uint64) landedCounts {
	t.Helper()
	var l landedCounts
	testwait.Until(t, fmt.Sprintf("%d messages in clickhouse", want), testwait.Idle, func() (bool, string) {
		l = landed(t, conn, db)
		return l.distinct >= want, fmt.Sprintf("%+v", l)
	})
	return l
}

func inspectSpool(t *testing.T, dir string) spool.Info {
	t.Helper()
	out, err := exec.Command(binary, "spool", "inspect", dir).Output()
	if err != nil {
		t.Fatalf("spool inspect: %v", err)
	}
	var info spool.Info
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func peakRSS(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

func clickhouseSinkYAML(addr, db string, batch int) string {
	return fmt.Sprintf("  clickhouse: {addresses: [%q], database: %s, chain_id: spool-e2e, flush_interval: 200ms, batch_size: %d, max_retry_backoff: 1s}", addr, db, batch)
}

func TestCollectorKilledMidStreamLosesNothingAppended(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	dir := t.TempDir()
	d := startReceiver(t, dir, clickhouseSinkYAML(addr, db, 2000), "")
	s := startStream(t, d.addrs["tcp"], 10_000_000, 20_000)
	time.Sleep(2500 * time.Millisecond)
	d.cmd.Process.Kill()
	<-d.exited
	s.halt()
	written := s.written.Load()
	before := landed(t, conn, db)
	info := inspectSpool(t, dir+"/spool")
	appended := info.NextSeq // the spool started empty: sequence numbers are 0..appended-1

	d2 := d.restart(t)
	after := waitLanded(t, conn, db, appended)
	d2.stop(t)
	after = landed(t, conn, db)
	t.Logf("sender wrote %d messages before the kill; %d were appended to the spool; %d were in flight (taken by the sender's kernel but not read by the collector: socket buffers)",
		written, appended, written-int64(appended))
	t.Logf("before the restart ClickHouse held %d of them; the spool held %d unread after its cursor; after the replay ClickHouse holds %d distinct, %d rows (FINAL %d: batches stored but not recorded when the collector died are sent again and collapse on merge)",
		before.distinct, info.Unread, after.distinct, after.rows, after.final)
	if appended == 0 || int64(appended) > written {
		t.Fatalf("appended %d of %d written", appended, written)
	}
	if after.final != appended || after.distinct != appended || after.min != 0 || after.max != appended-1 {
		t.Fatalf("ClickHouse holds %+v, want exactly messages 0..%d once each", after, appended-1)
	}
	rep, err := clickhouse.Verify(context.Background(), conn, db, "spool-e2e")
	if err != nil || !rep.OK() {
		t.Fatalf("ingest chain after the crash: %+v %v", rep, err)
	}
}

func TestClickHouseOutageUnderSteadyStream(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60-second outage")
	}
	srv := testch.OwnServer(t)
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	d := startReceiver(t, t.TempDir(), clickhouseSinkYAML(srv.Addr, db, 20000), "")
	const rate, before, outage, afterwards = 20_000, 10 * time.Second, 60 * time.Second, 10 * time.Second
	total := int(rate * (before + outage + afterwards) / time.Second)
	s := startStream(t, d.addrs["tcp"], total, rate)

	time.Sleep(before)
	srv.Kill()
	start := time.Now()
	var maxLag, maxHeap float64
	for time.Since(start) < outage {
		time.Sleep(time.Second)
		maxLag = max(maxLag, d.metric(t, "vca_collector_spool_lag_records"))
		maxHeap = max(maxHeap, d.metric(t, "go_memstats_heap_inuse_bytes"))
	}
	outageRSS := peakRSS(d.cmd.Process.Pid)
	srv.Start()
	t.Logf("ClickHouse down for %v; spool lag peaked at %.0f records; peak RSS so far %s, Go heap in use peaked at %.0f MiB",
		time.Since(start).Round(time.Second), maxLag, outageRSS, maxHeap/(1<<20))
	if p := os.Getenv("E2E_HEAP_PROFILE"); p != "" { // where the drain's memory goes
		time.Sleep(8 * time.Second)
		os.WriteFile(p, []byte(get(t, "http://"+d.addrs["admin"]+"/debug/pprof/heap")), 0o644)
	}
	s.wait(t)
	if s.err != nil || s.written.Load() != int64(total) {
		t.Fatalf("sender: %v after %d of %d", s.err, s.written.Load(), total)
	}
	drainStart := time.Now()
	var l landedCounts
	testwait.Until(t, "the spool to drain into clickhouse", testwait.Idle, func() (bool, string) {
		l = landed(t, conn, db)
		lag := d.metric(t, "vca_collector_spool_lag_records")
		return l.distinct >= uint64(total) && lag == 0, fmt.Sprintf("%+v, spool lag %v", l, lag)
	})
	rss := peakRSS(d.cmd.Process.Pid)
	lagEnd := d.metric(t, "vca_collector_spool_lag_records")
	d.stop(t)
	l = landed(t, conn, db)
	t.Logf("%d events sent at %d/s; all landed %v after the sender finished; peak RSS %s; lag at the end %.0f",
		total, rate, time.Since(drainStart).Round(time.Second), rss, lagEnd)
	if l.rows != uint64(total) || l.distinct != uint64(total) || l.max != uint64(total-1) {
		t.Fatalf("ClickHouse holds %+v, want %d distinct messages once each", l, total)
	}
	for _, r := range []string{"dcf_rollup_minute", "dcf_rollup_hour"} {
		if got, want := testch.Count(t, conn, "SELECT sum(events) FROM "+db+"."+r), testch.Count(t, conn, "SELECT count() FROM "+db+".dcf_events"); got != want {
			t.Errorf("%s counts %d decisions, dcf_events holds %d", r, got, want)
		}
	}
	if maxLag < rate*outage.Seconds()/2 {
		t.Fatalf("spool lag peaked at %.0f; the outage should have queued about %v records", maxLag, rate*outage.Seconds())
	}
	if lagEnd != 0 {
		t.Fatalf("spool lag %v after the drain", lagEnd)
	}
}

func TestSpoolFullBlocksTheSender(t *testing.T) {
	srv := testch.OwnServer(t)
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	d := startReceiver(t, t.TempDir(), clickhouseSinkYAML(srv.Addr, db, 1000),
		"spool: {dir: "+strconv.Quote(t.TempDir())+", segment_size: 64KiB, max_size: 256KiB}")
	srv.Kill()
	const total = 30_000
	s := startStream(t, d.addrs["tcp"], total, 0)
	testwait.Until(t, "the sender to be held back", testwait.Idle, func() (bool, string) {
		return s.blocked.Load() >= 2, fmt.Sprintf("wrote %d of %d, held back %d times", s.written.Load(), total, s.blocked.Load())
	})
	heldAt := s.written.Load()
	// Nothing becomes durable: after stall_after (3s) /readyz says so and
	// the log names the stall.
	testwait.For(t, "/readyz to report the stall", testwait.Idle, func() bool {
		code, body := readyz(t, d)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "pipeline: no spool batch became durable")
	}, func() string { code, body := readyz(t, d); return fmt.Sprintf("%d %q", code, body) })
	testwait.For(t, "the stall warning in the log", testwait.Idle, func() bool {
		return strings.Contains(d.logs.String(), "events are waiting and none became durable")
	}, func() string { return "no such line" })
	srv.Start()
	sent := func() (bool, string) {
		select {
		case <-s.done:
			return true, ""
		default:
			return false, fmt.Sprintf("%d of %d written", s.written.Load(), total)
		}
	}
	if done, _ := sent(); !done {
		testwait.Until(t, "the sender to finish after ClickHouse came back", testwait.Idle, sent)
	}
	blocked := d.metric(t, "vca_collector_spool_blocked_seconds_total")
	l := waitLanded(t, conn, db, total)
	testwait.For(t, "/readyz to report ready again", testwait.Idle, func() bool { code, _ := readyz(t, d); return code == http.StatusOK },
		func() string { code, body := readyz(t, d); return fmt.Sprintf("%d %q", code, body) })
	d.stop(t)
	t.Logf("with ClickHouse down the sender stalled after %d messages (spool capped at 256KiB; listeners blocked %.1fs); after the restart all %d landed", heldAt, blocked, l.rows)
	if s.err != nil || blocked <= 0 {
		t.Fatalf("sender error %v; blocked seconds %v", s.err, blocked)
	}
	if l.rows != total || l.distinct != total {
		t.Fatalf("ClickHouse holds %+v, want %d once each", l, total)
	}
}

func TestSpoolFullDropOldestReportsTheRange(t *testing.T) {
	srv := testch.OwnServer(t)
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	d := startReceiver(t, t.TempDir(), clickhouseSinkYAML(srv.Addr, db, 1000),
		"spool: {dir: "+strconv.Quote(t.TempDir())+", segment_size: 64KiB, max_size: 256KiB, full_policy: drop_oldest}")
	srv.Kill()
	const total = 30_000
	s := startStream(t, d.addrs["tcp"], total, 0)
	s.wait(t)
	if s.err != nil {
		t.Fatal(s.err)
	}
	testwait.Until(t, "every message in the spool", testwait.Idle, func() (bool, string) { // the rest is still in socket buffers
		n := d.metric(t, "vca_collector_spool_appended_records_total")
		return n >= total, fmt.Sprintf("%v of %d appended", n, total)
	})
	dropped := d.metric(t, `vca_collector_spool_dropped_records_total{reason="drop_oldest"}`)
	srv.Start()
	l := waitLanded(t, conn, db, uint64(total-int(dropped)))
	d.stop(t)

	// The log names every dropped range; the missing messages must be
	// exactly those.
	re := regexp.MustCompile(`"first_seq":(\d+),"last_seq":(\d+)`)
	var logged uint64
	missing := map[uint64]bool{}
	for _, line := range bytes.Split(d.logs.Bytes(), []byte("\n")) {
		if !bytes.Contains(line, []byte("dropped the oldest unread records")) {
			continue
		}
		m := re.FindSubmatch(line)
		a, _ := strconv.ParseUint(string(m[1]), 10, 64)
		b, _ := strconv.ParseUint(string(m[2]), 10, 64)
		for q := a; q <= b; q++ {
			missing[q] = true
		}
		logged += b - a + 1
	}
	rows, err := conn.Query(context.Background(), fmt.Sprintf(`SELECT toUInt64(extract(raw, 'vcaseq=([0-9]+)')) FROM %[1]s.dcf_events
		UNION ALL SELECT toUInt64(extract(raw, 'vcaseq=([0-9]+)')) FROM %[1]s.raw_unparsed`, db))
	if err != nil {
		t.Fatal(err)
	}
	present := map[uint64]bool{}
	for rows.Next() {
		var n uint64
		rows.Scan(&n)
		present[n] = true
	}
	rows.Close()
	t.Logf("sent %d with ClickHouse down and a 256KiB spool: %v dropped (logged ranges cover %d), %d landed", total, dropped, logged, l.rows)
	if dropped == 0 || float64(logged) != dropped || l.rows != uint64(total)-logged {
		t.Fatalf("dropped metric %v, logged %d, landed %+v of %d", dropped, logged, l, total)
	}
	for q := uint64(0); q < total; q++ {
		if present[q] == missing[q] {
			t.Fatalf("message %d: in ClickHouse %v, in a logged dropped range %v", q, present[q], missing[q])
		}
	}
}
