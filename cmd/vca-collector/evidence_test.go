package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch/seed"
)

// TestEvidenceCommands drives the auditor's commands as a person would:
// keygen, export (reading the ClickHouse settings from a collector
// configuration), verify with the right and a wrong key, verify-scenarios
// on a probe the data shows and one it does not, and promote.
func TestEvidenceCommands(t *testing.T) {
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	ds, err := gatewaysim.Simulate(gatewaysim.Options{Start: start, Duration: time.Hour, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	addr := testch.Addr(t)
	db := testch.Database(t, testch.Conn(t, addr))
	seed.Write(t, addr, db, "cli", ds.Index, ds.Events, 2000)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "collector.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listeners:\n  tcp:\n    - {name: tcp, address: \"127.0.0.1:0\"}\nsinks:\n  clickhouse: {addresses: [%q], database: %q, chain_id: cli}\n", addr, db)), 0o600)
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	key := filepath.Join(dir, "key.pem")
	if out, err := run("", "evidence", "keygen", "--out", key); err != nil || !strings.Contains(out, "BEGIN PUBLIC KEY") {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	pub := filepath.Join(dir, "key.pub")
	out, _ := run("", "evidence", "keygen", "--out", filepath.Join(dir, "other.pem"))
	os.WriteFile(filepath.Join(dir, "other.pub"), []byte(out[strings.Index(out, "-----BEGIN"):]), 0o644)
	out, _ = run("", "evidence", "keygen", "--out", key)
	if !strings.Contains(out, "exists") {
		t.Errorf("keygen over an existing key: %s", out)
	}

	bundle := filepath.Join(dir, "evidence.tar.gz")
	out, err = run("", "evidence", "export", "--config", cfg, "--from", start.Format(time.RFC3339), "--to", start.Add(time.Hour).Format(time.RFC3339),
		"--key", key, "--out", bundle)
	if err != nil || !strings.Contains(out, "hash chain verified") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	os.WriteFile(pub, []byte(out[strings.Index(out, "-----BEGIN"):]), 0o644)
	if out, err := run("", "evidence", "verify", bundle, "--pubkey", pub); err != nil || !strings.Contains(out, "verified") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	if out, err := run("", "evidence", "verify", "--pubkey", filepath.Join(dir, "other.pub"), bundle); err == nil || !strings.Contains(out, "another signing key") {
		t.Errorf("verify with another key: %v\n%s", err, out)
	}
	if out, err := run("", "evidence", "export", "--config", cfg, "--last", "1h", "--key", key, "--out", bundle); err == nil || !strings.Contains(out, "exists") && !strings.Contains(out, "file") {
		t.Errorf("export over an existing bundle: %v\n%s", err, out)
	}

	var shadow *gatewaysim.Decision
	for _, d := range ds.Decisions {
		if d != nil && d.Scenario == "shadow_model" && d.Enforced {
			shadow = d
			break
		}
	}
	probe := func(rule string) string {
		return fmt.Sprintf(`{"check":"shadow_model_blocked","destination":"https://%s/","mode":"enforce","expected":"blocked","observed":"blocked","rule":%q,"attempts":1,"pass":true,"time":%q,"source":%q}`+"\n",
			shadow.SNI, rule, shadow.Time.Format(time.RFC3339), shadow.SrcIP)
	}
	if out, err := run(probe("deny-shadow-models"), "verify-scenarios", "--config", cfg); err != nil || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("verify-scenarios: %v\n%s", err, out)
	}
	if out, err := run(probe("vca-openclaw-shadow-model-deny"), "verify-scenarios", "--config", cfg, "-"); err == nil || !strings.Contains(out, "FAIL") {
		t.Errorf("verify-scenarios with another rule name: %v\n%s", err, out)
	}
	out, err = run("", "promote", "--clickhouse", addr, "--database", db, "--from", start.Format(time.RFC3339), "--to", start.Add(time.Hour).Format(time.RFC3339),
		"--catalog", "../../terraform/testdata/catalog-coding-monitor.json", "--tfvars", filepath.Join(dir, "promote.tfvars"))
	if err != nil || !strings.Contains(out, "SUGGESTED") || !strings.Contains(out, "domains added") {
		t.Errorf("promote: %v\n%s", err, out)
	}
	if out, err := run("", "promote", "--config", cfg, "--last", "1h", "--tfvars", "x.tfvars"); err == nil || !strings.Contains(out, "--tfvars needs --catalog") {
		t.Errorf("promote --tfvars without a catalog: %v\n%s", err, out)
	}
}
