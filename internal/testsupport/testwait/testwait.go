// Package testwait waits, in tests, for a state that a slow or loaded
// machine reaches late and a broken program never reaches. It fails only
// once what it observes has stopped changing for a long time, and the
// failure says what it was waiting for and the last state it saw.
package testwait

import (
	"testing"
	"time"
)

// Idle is how long the observed state may stay the same before Until
// gives up: long enough for a loaded two-core machine under the race
// detector, short of the go test timeout.
const Idle = 2 * time.Minute

// Until polls observe every 50 ms until it reports done. observe returns
// the state it sees (counts, offsets) as text: while the text changes, the
// program is making progress and Until keeps waiting; once it has stayed
// the same for idle, the test fails with it.
func Until(t testing.TB, what string, idle time.Duration, observe func() (done bool, state string)) {
	t.Helper()
	done, last := observe()
	since := time.Now()
	for !done {
		if time.Since(since) > idle {
			t.Fatalf("waiting for %s: no change for %v; last seen: %s", what, idle, last)
		}
		time.Sleep(50 * time.Millisecond)
		var state string
		done, state = observe()
		if state != last {
			last, since = state, time.Now()
		}
	}
}

// For polls cond every 50 ms until it holds, failing after limit with the
// state describe reports. Use it where nothing observable changes while
// waiting (a process exiting, a timer firing); prefer Until elsewhere.
func For(t testing.TB, what string, limit time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not reached after %v; last seen: %s", what, limit, describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
