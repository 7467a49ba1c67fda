// Package version reports what build is running.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X .../internal/version.Version=v1.2.3".
var Version = "dev"

// Commit is set by release builds with -ldflags "-X .../internal/version.Commit=SHA",
// so a binary built from a source archive without .git still names it.
var Commit = ""

// Revision is the VCS commit the binary was built from, when known.
func Revision() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// String is the one-line version text.
func String() string {
	return "vca-collector " + Version + " (" + Revision() + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
