package deploytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/freeport"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// deployCheck skips a test unless make deploy-check runs it: these tests
// need podman, runc and systemd-analyze, which that target installs.
func deployCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("VCA_DEPLOY_CHECK") != "1" {
		t.Skip("deployment artefact check: run by make deploy-check (VCA_DEPLOY_CHECK=1)")
	}
}

// TestImageReceivesStoresAndDrains runs the image as make image built it
// (VCA_IMAGE): on the host network, with a bind-mounted /data, writing to
// the test ClickHouse. The corpus sent over TCP and one line over UDP must
// all reach ClickHouse; the collector must run as the image's unprivileged
// user; SIGTERM must drain and exit 0.
func TestImageReceivesStoresAndDrains(t *testing.T) {
	deployCheck(t)
	image := os.Getenv("VCA_IMAGE")
	if image == "" {
		t.Fatal("VCA_IMAGE is not set: make deploy-check names the image it built")
	}
	chAddr := testch.Addr(t)
	conn := testch.Conn(t, chAddr)
	db := testch.Database(t, conn)

	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	// The machines run cgroup v1 and refuse the default ulimits: runc with
	// no default ulimits is what works here.
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(data, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	} else {
		os.Chmod(data, 0o777)
	}
	ports, err := freeport.Loopback(2)
	if err != nil {
		t.Fatal(err)
	}
	syslogPort, adminPort := ports[0], ports[1]
	name := fmt.Sprintf("vca-image-test-%d", os.Getpid())
	podman := func(args ...string) (string, error) {
		cmd := exec.Command("podman", args...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	t.Cleanup(func() { podman("rm", "--force", "--time", "0", name) })
	listen := "127.0.0.1:" + strconv.Itoa(syslogPort)
	admin := "127.0.0.1:" + strconv.Itoa(adminPort)
	if out, err := podman("run", "--detach", "--runtime", "runc", "--network", "host", "--name", name,
		"--volume", data+":/data",
		"--env", "VCA_LISTENERS_UDP_0_ADDRESS="+listen,
		"--env", "VCA_LISTENERS_TCP_0_ADDRESS="+listen,
		"--env", "VCA_ADMIN_ADDRESS="+admin,
		"--env", "VCA_SINKS_CLICKHOUSE_ADDRESSES="+chAddr,
		"--env", "VCA_SINKS_CLICKHOUSE_DATABASE="+db,
		"--env", "VCA_SINKS_CLICKHOUSE_FLUSH_INTERVAL=100ms",
		image); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	logs := func() string { out, _ := podman("logs", name); return out }
	state := func() string {
		out, _ := podman("inspect", "--format", "{{.State.Status}} exit={{.State.ExitCode}}", name)
		return out
	}

	testwait.For(t, "the container's /readyz", 2*time.Minute, func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, func() string { return state() + "\n" + logs() })

	pid, err := podman("inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatalf("podman inspect: %v %s", err, pid)
	}
	uids, gids := procIDs(t, pid)
	for _, id := range append(uids, gids...) {
		if id != "65532" {
			t.Fatalf("the collector runs with uids %v gids %v; want 65532 for every one", uids, gids)
		}
	}

	lines := testcorpus.All()
	var frames bytes.Buffer
	for _, l := range lines {
		fmt.Fprintf(&frames, "%d %s", len(l.Message), l.Message) // RFC 6587 octet counting
	}
	tcp, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatalf("dial the container's TCP listener: %v\n%s", err, logs())
	}
	if _, err := tcp.Write(frames.Bytes()); err != nil {
		t.Fatal(err)
	}
	tcp.Close()
	udp, err := net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	udp.Write(lines[0].Message)
	udp.Close()

	want := uint64(len(lines) + 1)
	testwait.Until(t, "the corpus in ClickHouse", testwait.Idle, func() (bool, string) {
		events := countIfExists(conn, db+".dcf_events")
		unparsed := countIfExists(conn, db+".raw_unparsed")
		return events+unparsed == want, fmt.Sprintf("%d events + %d unparsed of %d sent", events, unparsed, want)
	})
	if got := countIfExists(conn, db+".dcf_events") + countIfExists(conn, db+".raw_unparsed"); got != want {
		t.Fatalf("ClickHouse holds %d rows, %d were sent (no duplicates allowed)", got, want)
	}

	if out, err := podman("stop", "--time", "60", name); err != nil {
		t.Fatalf("podman stop: %v %s", err, out)
	}
	if s := state(); s != "exited exit=0" {
		t.Fatalf("after SIGTERM the container is %q; want exited with 0\n%s", s, logs())
	}
	if l := logs(); !strings.Contains(l, `"stopped"`) {
		t.Fatalf("the collector did not log its drained stop:\n%s", l)
	}
	if entries, err := os.ReadDir(filepath.Join(data, "spool")); err != nil || len(entries) == 0 {
		t.Fatalf("the spool is not on the /data volume: %v %v", entries, err)
	}
}

// procIDs reads the real, effective, saved and filesystem uids and gids
// of a host process.
func procIDs(t *testing.T, pid string) (uids, gids []string) {
	t.Helper()
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 5 {
			switch f[0] {
			case "Uid:":
				uids = f[1:]
			case "Gid:":
				gids = f[1:]
			}
		}
	}
	if len(uids) == 0 || len(gids) == 0 {
		t.Fatalf("no Uid/Gid lines in /proc/%s/status", pid)
	}
	return uids, gids
}

// countIfExists counts a table's rows, 0 while the collector has not yet
// created it.
func countIfExists(conn driver.Conn, table string) uint64 {
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		return 0
	}
	return n
}
