// Command vca-clickhouse is the ClickHouse 26.7 server the project's tests,
// demo and benchmarks run: libchdb (see package chdb) serving the native
// protocol and HTTP on loopback ports, with its data in a directory that
// survives restarts. scripts/start-clickhouse.sh starts it and waits until
// it answers; stopping it is ending the process (kill -9 included: a
// restart on the same directory finds every row an INSERT returned for).
//
//	vca-clickhouse -dir DIR -tcp-port PORT [-http-port PORT] [-listen ADDR]
//	    [-config-d FILE]... [-user NAME -password-file FILE]
//	    [-tls-port PORT -tls-cert FILE -tls-key FILE [-tls-client-ca FILE]]
//
// -config-d adds server configuration (remote_servers, macros, zookeeper,
// profiles) as files of config.d. -user adds a password-protected user
// beside the passwordless default one. clickhouse-local's listeners are TCP
// and HTTP only, so -tls-port is TLS terminated by this program in front of
// the native port: a client's TLS settings (CA, server name, client
// certificate) meet a real TLS endpoint, and the native protocol behind it
// is the server's own.
//
// Clients reach the engine through a relay in this program. The embedded
// server aborts the whole process when a client connection is reset (an
// exception escapes its TCP handler: "Terminate called for uncaught
// exception: Connection reset by peer"), and tests reset connections on
// purpose (proxies that cut answers, collectors killed with SIGKILL). The
// relay turns a client's reset into an orderly close towards the engine
// and reads what the engine still sends until it closes its side. (A
// client that goes away in the middle of its handshake still brings the
// engine down: an exception there escapes too. Clients that complete the
// handshake, as every client library does, cannot.)
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/chdb"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/freeport"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var (
		dir, listen, user, passwordFile string
		tlsCert, tlsKey, tlsCA          string
		tcpPort, httpPort, tlsPort      int
		configD                         multi
	)
	flag.StringVar(&dir, "dir", "", "data, configuration and logs (required)")
	flag.StringVar(&listen, "listen", "127.0.0.1", "address to listen on")
	flag.IntVar(&tcpPort, "tcp-port", 0, "native protocol port (required)")
	flag.IntVar(&httpPort, "http-port", 0, "HTTP port (default: tcp-port + 1)")
	flag.Var(&configD, "config-d", "server configuration file to add to config.d (repeatable)")
	flag.StringVar(&user, "user", "", "a password-protected user to add")
	flag.StringVar(&passwordFile, "password-file", "", "the user's password")
	flag.IntVar(&tlsPort, "tls-port", 0, "native protocol over TLS, in front of tcp-port")
	flag.StringVar(&tlsCert, "tls-cert", "", "TLS certificate (PEM)")
	flag.StringVar(&tlsKey, "tls-key", "", "TLS private key (PEM)")
	flag.StringVar(&tlsCA, "tls-client-ca", "", "require client certificates signed by this CA (PEM)")
	flag.Parse()
	if dir == "" || tcpPort == 0 {
		fail(errors.New("-dir and -tcp-port are required"))
	}
	if httpPort == 0 {
		httpPort = tcpPort + 1
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		fail(err)
	}
	if err := writeConfig(dir, configD, user, passwordFile); err != nil {
		fail(err)
	}
	os.Remove(filepath.Join(dir, "ready"))

	engine, err := freeport.On(listen, 2) // the engine's own listeners, behind the relays
	if err != nil {
		fail(err)
	}
	engineTCP, engineHTTP := engine[0], engine[1]
	served := make(chan error, 1)
	go func() {
		served <- chdb.RunLocal(
			"--config-file="+filepath.Join(dir, "config.xml"),
			"--path="+filepath.Join(dir, "data"),
			"--listen_host="+listen,
			"--tcp_port="+strconv.Itoa(engineTCP),
			"--http_port="+strconv.Itoa(engineHTTP),
			"--log-level=warning",
			"--multiquery",
			"--query",
			// The listeners live while the last query runs: about 31 years.
			"SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; SELECT sleepEachRow(1) FROM numbers(1000000000) SETTINGS max_block_size = 1 FORMAT Null",
		)
	}()
	native, web := net.JoinHostPort(listen, strconv.Itoa(engineTCP)), net.JoinHostPort(listen, strconv.Itoa(engineHTTP))
	for _, l := range []struct {
		port    int
		backend string
	}{{tcpPort, native}, {httpPort, web}} {
		ln, err := net.Listen("tcp", net.JoinHostPort(listen, strconv.Itoa(l.port)))
		if err != nil {
			fail(err)
		}
		go serve(ln, l.backend)
	}
	if tlsPort != 0 {
		if err := serveTLS(net.JoinHostPort(listen, strconv.Itoa(tlsPort)), native, tlsCert, tlsKey, tlsCA); err != nil {
			fail(err)
		}
	}
	ping := "http://" + web + "/ping"
	for {
		select {
		case err := <-served:
			fail(fmt.Errorf("clickhouse stopped before it answered: %v", err))
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(ping); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "vca-clickhouse: ready: native %s:%d, http %s:%d, data %s\n", listen, tcpPort, listen, httpPort, dir)
	err = <-served
	fail(fmt.Errorf("clickhouse stopped: %v", err))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vca-clickhouse:", err)
	os.Exit(1)
}

// writeConfig lays out dir: the server configuration (logs in dir/log at
// warning level, UTC, users from dir/users.xml), the extra config.d files,
// and the users: default without a password from loopback, and the
// optional password-protected one.
func writeConfig(dir string, extra []string, user, passwordFile string) error {
	for _, d := range []string{"data", "tmp", "log", "user_files", "config.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "config.d", "*.xml"))
	for _, f := range old {
		os.Remove(f)
	}
	for i, f := range extra {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "config.d", fmt.Sprintf("%02d-%s", i, filepath.Base(f))), b, 0o644); err != nil {
			return err
		}
	}
	config := fmt.Sprintf(`<clickhouse>
  <logger>
    <level>warning</level>
    <log>%[1]s/log/clickhouse.log</log>
    <errorlog>%[1]s/log/clickhouse.err.log</errorlog>
    <size>50M</size>
    <count>2</count>
    <console>0</console>
  </logger>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <timezone>UTC</timezone>
  <user_directories><users_xml><path>%[1]s/users.xml</path></users_xml></user_directories>
</clickhouse>
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o644); err != nil {
		return err
	}
	loopback := "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota>"
	users := "    <default><password></password>" + loopback + "<access_management>1</access_management></default>\n"
	if user != "" {
		pw, err := os.ReadFile(passwordFile)
		if err != nil {
			return fmt.Errorf("-password-file: %w", err)
		}
		sum := sha256.Sum256([]byte(strings.TrimRight(string(pw), "\r\n")))
		users += fmt.Sprintf("    <%s><password_sha256_hex>%s</password_sha256_hex>%s</%s>\n", user, hex.EncodeToString(sum[:]), loopback, user)
	}
	return os.WriteFile(filepath.Join(dir, "users.xml"), []byte("<clickhouse>\n  <profiles><default/></profiles>\n  <quotas><default/></quotas>\n  <users>\n"+users+"  </users>\n</clickhouse>\n"), 0o644)
}

// serveTLS accepts TLS connections on addr and forwards what they carry to
// the native port at backend.
func serveTLS(addr, backend, certFile, keyFile, clientCA string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return fmt.Errorf("-tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-tls-client-ca: no certificate in %s", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return err
	}
	go serve(ln, backend)
	return nil
}

// serve relays every connection ln accepts to backend.
func serve(ln net.Listener, backend string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go relay(c, backend)
	}
}

// relay carries one client connection to the engine. Whatever way the
// client goes (a close, a reset), the engine sees its end of input and
// everything it sends is read, so that it never sees a reset.
func relay(client net.Conn, backend string) {
	defer client.Close()
	engine, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer engine.Close()
	toEngine := make(chan struct{})
	go func() {
		io.Copy(engine, client)
		engine.(*net.TCPConn).CloseWrite()
		close(toEngine)
	}()
	if _, err := io.Copy(client, engine); err != nil {
		io.Copy(io.Discard, engine) // the client is gone; the engine finishes talking
	}
	client.Close() // ends the copy towards the engine if the client still talks
	<-toEngine
}
