package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestSendReachesTheSocket(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  func() error
		state string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"status", func() error { return Send("STATUS=draining\nREADY=1") }, "STATUS=draining\nREADY=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			t.Setenv("NOTIFY_SOCKET", path)
			if err := tc.send(); err != nil {
				t.Fatalf("send: %v", err)
			}
			conn.SetReadDeadline(time.Now().Add(time.Minute))
			buf := make([]byte, 256)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if got := string(buf[:n]); got != tc.state {
				t.Fatalf("systemd received %q, want %q", got, tc.state)
			}
		})
	}
}

func TestWithoutSystemdNothingIsSent(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(); err != nil {
		t.Fatalf("Ready without NOTIFY_SOCKET: %v", err)
	}
}

func TestMissingSocketIsAnError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent"))
	if err := Ready(); err == nil {
		t.Fatal("Ready to a socket that does not exist returned nil")
	}
}
