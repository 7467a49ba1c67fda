package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "../../deploy/systemd/vca-collector.service"

// maxExposure is the highest `systemd-analyze security` exposure the unit
// may score (0 is fully sandboxed, 10 is unprotected).
const maxExposure = 2.0

// installedUnit copies the unit into a directory with ExecStart pointing
// at a real collector binary (VCA_BINARY), since systemd-analyze refuses a
// unit whose binary is missing and the tests must not install one into
// /usr/local/bin.
func installedUnit(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("VCA_BINARY")
	if bin == "" {
		t.Fatal("VCA_BINARY is not set: make deploy-check names the release binary")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/vca-collector", bin)
	path := filepath.Join(t.TempDir(), "vca-collector.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	deployCheck(t)
	out, err := exec.Command("systemd-analyze", "verify", installedUnit(t)).CombinedOutput()
	// verify warns about unknown keys on stderr and still exits 0: any
	// output is a finding.
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitIsSandboxed(t *testing.T) {
	deployCheck(t)
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", installedUnit(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd exposure level %.1f", score)
	if score > maxExposure {
		t.Fatalf("exposure level %.1f, want at most %.1f:\n%s", score, maxExposure, out)
	}
}

// TestUnitDirectives holds what the unit promises beyond the score: readiness
// through sd_notify, a drain systemd waits for, and a bind capability only.
func TestUnitDirectives(t *testing.T) {
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string][]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			have[k] = append(have[k], v)
		}
	}
	for _, tc := range []struct{ key, value string }{
		{"Type", "notify"},
		{"NotifyAccess", "main"},
		{"Restart", "on-failure"},
		{"LimitNOFILE", "65536"},
		{"KillSignal", "SIGTERM"},
		{"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
		{"AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"StateDirectory", "vca-collector"},
	} {
		if got := have[tc.key]; len(got) != 1 || got[0] != tc.value {
			t.Errorf("%s=%v, want %s", tc.key, got, tc.value)
		}
	}
	// systemd must wait out the collector's own drain (shutdown_timeout,
	// at most a minute in the shipped configs) before it kills.
	got := have["TimeoutStopSec"]
	if secs, err := strconv.Atoi(strings.Join(got, "")); len(got) != 1 || err != nil || secs <= 60 {
		t.Errorf("TimeoutStopSec=%v, want more than 60 seconds", got)
	}
}
