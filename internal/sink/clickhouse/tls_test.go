package clickhouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testpki"
)

// The sink's TLS and password_file settings against a server that serves
// the native protocol over TLS (requiring a client certificate) and knows
// a password-protected user: the events land; a wrong password, an unknown
// CA or a missing client certificate stop New at once with the reason, not
// in a retry loop.
func TestTLSAndPassword(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "clickhouse")
	serverCert, serverKey := ca.Issue(t, "clickhouse", false).WriteFiles(t, dir, "server")
	clientCert, clientKey := ca.Issue(t, "collector", true).WriteFiles(t, dir, "client")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	otherCA := filepath.Join(dir, "other-ca.pem")
	os.WriteFile(otherCA, testpki.NewCA(t, "someone else").CertPEM, 0o600)
	srv := testch.OwnServerWith(t, testch.Options{User: "vca", Password: "s3cret",
		TLS: &testch.TLSFiles{Cert: serverCert, Key: serverKey, ClientCA: caFile}})
	conn := testch.Conn(t, srv.Addr)
	db := testch.Database(t, conn)
	password := func(pw string) string {
		f := filepath.Join(t.TempDir(), "password")
		os.WriteFile(f, []byte(pw+"\n"), 0o600)
		return f
	}
	good := func() Config {
		c := testConfigIn(t, srv.TLSAddr, db)
		c.Username, c.PasswordFile = "vca", password("s3cret")
		c.TLS = &config.ClientTLS{CAFile: caFile, CertFile: clientCert, KeyFile: clientKey}
		// auto would send loopback traffic uncompressed: this test also
		// carries the LZ4 path a remote server gets.
		c.Compression = "lz4"
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		return c
	}

	s, _ := newSink(t, good())
	events := corpusEvents(t, 1)
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	expectCountedOnce(t, conn, db, events, "over TLS as vca")

	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"wrong password", func(c *Config) { c.PasswordFile = password("guess") }, "Authentication failed"},
		{"unknown CA", func(c *Config) { c.TLS.CAFile = otherCA }, "certificate"},
		{"no client certificate", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = "", "" }, "certificate"},
		{"plain TCP to the TLS port", func(c *Config) { c.TLS = nil }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mod(&c)
			c.DialTimeout = config.Duration(5 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			s, err := New(ctx, c, prometheus.NewRegistry(), zerolog.Nop())
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.TLSAddr) {
				t.Errorf("error %q does not name the address and %q", err, tc.want)
			}
		})
	}
}
