// Package sdnotify tells systemd, when it started the process with
// Type=notify, that the collector is ready or stopping (sd_notify(3)).
//
// The protocol is one datagram to the unix socket named by $NOTIFY_SOCKET;
// a library for it would be larger than the ten lines it takes, and the
// collector needs no other part of systemd.
package sdnotify

import (
	"net"
	"os"
)

// Ready reports that the listeners are bound and the sinks open.
func Ready() error { return Send("READY=1") }

// Stopping reports that shutdown (the spool drain) has begun.
func Stopping() error { return Send("STOPPING=1") }

// Send writes state (newline-separated VAR=value assignments) to the
// socket in $NOTIFY_SOCKET. Without the variable it does nothing and
// returns nil: the process was not started by systemd as Type=notify.
func Send(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	// An abstract socket's name starts with '@', which the net package
	// reads as the leading NUL, as systemd means it.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
