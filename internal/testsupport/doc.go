// Package testsupport groups what tests, the benchmarks and the demo use
// and the daemon never does: chdb (ClickHouse 26.7 in-process), testch
// (the test ClickHouse server and testch/seed), testcorpus (gateway syslog
// lines), gatewaysim (a simulated fleet of gateways), testkafka (reading
// back a broker), testpki (throwaway certificates), freeport (ports for
// servers that must be told theirs) and testwait (bounded waits that
// report what they saw).
package testsupport
