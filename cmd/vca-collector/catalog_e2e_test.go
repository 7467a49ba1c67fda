package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// streamCatalog names the rule the stamped stream hits.
func streamCatalog(version, ruleName string) string {
	return fmt.Sprintf(`{"format": "openclaw-vca/policy-catalog", "format_version": 1, "catalog_version": %q, "mode": "enforce",
  "rules": [{"name": %q, "uuid": "9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d", "priority": 100, "action": "DENY", "protocol": "ANY",
             "dst_smart_groups": ["sg-internal"], "logging": true, "scenario": "east_west"}],
  "smart_groups": [{"name": "sg-agents", "member_ips": ["10.20.1.15"]}, {"name": "sg-internal", "cidrs": ["10.0.0.0/8"]}],
  "web_groups": []}`, version, ruleName)
}

// replaceFile swaps path's content by rename, as Terraform and editors do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogHotReloadUnderStream: while a steady TCP stream runs, the
// catalog changes on disk (picked up by the file check), a broken one is
// written (rejected, the previous stays), and a third arrives with SIGHUP.
// Every message lands once; names change for new events only; the stream
// never stalls.
func TestCatalogHotReloadUnderStream(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.json")
	replaceFile(t, catalog, streamCatalog("v1", "deny-eastwest-v1"))
	d := startReceiver(t, dir, "", fmt.Sprintf("catalog: {file: %q, check_interval: 200ms}", catalog))
	const total, rate = 60_000, 10_000
	s := startStream(t, d.addrs["tcp"], total, rate)

	time.Sleep(2 * time.Second)
	replaceFile(t, catalog, streamCatalog("v2", "deny-eastwest-v2"))
	time.Sleep(1500 * time.Millisecond)
	replaceFile(t, catalog, `{"format": "openclaw-vca/policy-catalog", "format_version": 1}`)
	time.Sleep(1000 * time.Millisecond)
	// Written without a rename and announced by SIGHUP at once.
	if err := os.WriteFile(catalog, []byte(streamCatalog("v3", "deny-eastwest-v3")), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	s.wait(t)
	if s.err != nil || s.written.Load() != total {
		t.Fatalf("sender: %v after %d of %d", s.err, s.written.Load(), total)
	}
	events := d.readEvents(t, total)
	okReloads := d.metric(t, `vca_collector_catalog_reloads_total{result="ok"}`)
	badReloads := d.metric(t, `vca_collector_catalog_reloads_total{result="error"}`)
	d.stop(t)

	seqRE := regexp.MustCompile(`vcaseq=(\d+)`)
	names := make([]string, total)
	received := make([]time.Time, total)
	for _, ev := range events {
		m := seqRE.FindStringSubmatch(ev["raw"].(string))
		n, _ := strconv.Atoi(m[1])
		if names[n] != "" {
			t.Fatalf("message %d landed twice", n)
		}
		name, _ := ev["rule_name"].(string)
		if name == "" || ev["scenario"] != "east_west" {
			b, _ := json.Marshal(ev)
			t.Fatalf("message %d not enriched: %s", n, b)
		}
		names[n] = name
		received[n], _ = time.Parse(time.RFC3339Nano, ev["received_at"].(string))
	}
	first := map[string]int{}
	last := map[string]int{}
	var maxGap time.Duration
	for n, name := range names {
		if name == "" {
			t.Fatalf("message %d missing", n)
		}
		if _, ok := first[name]; !ok {
			first[name] = n
		}
		last[name] = n
		if n > 0 {
			maxGap = max(maxGap, received[n].Sub(received[n-1]))
		}
	}
	t.Logf("%d messages; v1 %d..%d, v2 %d..%d, v3 %d..%d; longest pause between consecutive messages %v; reloads ok=%v error=%v",
		total, first["deny-eastwest-v1"], last["deny-eastwest-v1"], first["deny-eastwest-v2"], last["deny-eastwest-v2"],
		first["deny-eastwest-v3"], last["deny-eastwest-v3"], maxGap, okReloads, badReloads)
	if len(first) != 3 || first["deny-eastwest-v1"] != 0 || last["deny-eastwest-v3"] != total-1 {
		t.Fatalf("names do not go v1 → v2 → v3: first %v last %v", first, last)
	}
	// Two workers may enrich neighbouring batches either side of a swap;
	// beyond a few batches the order is strict.
	const slack = 4 * 1024
	if last["deny-eastwest-v1"] > first["deny-eastwest-v2"]+slack || last["deny-eastwest-v2"] > first["deny-eastwest-v3"]+slack {
		t.Fatalf("old names long after a reload: first %v last %v", first, last)
	}
	// The in-place write may also be seen by the file check, half-written
	// or whole, before the SIGHUP: at least, not exactly.
	if okReloads < 3 || badReloads < 1 {
		t.Fatalf("reloads ok=%v error=%v, want at least 3 and 1", okReloads, badReloads)
	}
	// A reload that blocked the pipeline would hold the stream for as long
	// as it took; a loaded machine pauses a stream for a fraction of this.
	if maxGap > 5*time.Second {
		t.Fatalf("the stream stalled for %v", maxGap)
	}
}
