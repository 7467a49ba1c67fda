// Package scripts tests the shell scripts the Terraform stack installs on
// the agent host, against local stand-ins for the destinations.
package scripts

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// answerA answers any DNS query with one A record, 127.0.0.1.
func answerA(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 5 // the zero label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	r := append([]byte(nil), q[:end]...)
	r[2] |= 0x80                          // response
	binary.BigEndian.PutUint16(r[6:], 1)  // one answer
	binary.BigEndian.PutUint16(r[8:], 0)  // no authority
	binary.BigEndian.PutUint16(r[10:], 0) // no additional
	r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
	return r
}

// dnsServer serves answerA on one loopback port over UDP and TCP.
func dnsServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(answerA(buf[:n]), addr)
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				a := answerA(q)
				binary.BigEndian.PutUint16(l[:], uint16(len(a)))
				c.Write(append(l[:], a...))
			}()
		}
	}()
	return "127.0.0.1:" + strconv.Itoa(port)
}

// closedPort returns a loopback host:port nothing listens on (TCP and UDP).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type result struct {
	Check, Destination, Mode, Expected, Observed, Rule string
	Attempts                                           int
	Pass                                               bool
	Time, Source                                       string
}

func TestVerifyEgress(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "dig"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make -C terraform preflight installs it): %v", tool, err)
		}
	}
	https := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer https.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: https.Certificate().Raw}), 0o644)
	open := https.URL + "/"
	closed := "https://" + closedPort(t) + "/"
	resolver := dnsServer(t)
	deadResolver := closedPort(t)

	for _, tc := range []struct {
		name             string
		mode             string
		attacker, shadow string
		externalDNS      string
		wantExit         int
		wantFailed       []string
	}{
		{"enforce: denied destinations and external DNS blocked", "enforce", closed, closed, deadResolver, 0, nil},
		{"enforce: an attacker domain that connects fails the run", "enforce", open, closed, deadResolver, 1, []string{"attacker_domain_blocked"}},
		{"enforce: external DNS that answers fails the run", "enforce", closed, closed, resolver, 1, []string{"external_dns_udp_blocked", "external_dns_tcp_blocked"}},
		{"monitor: denied destinations still connect", "monitor", open, open, resolver, 0, nil},
		{"monitor: a blocked shadow model is not what monitor mode does", "monitor", open, closed, resolver, 1, []string{"shadow_model_blocked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", "verify-egress.sh")
			cmd.Env = append(os.Environ(), "SOURCE_IP=10.20.1.15", "POLICY_MODE="+tc.mode, "MODEL_URL="+open, "CORE_URL="+open,
				"ATTACKER_URL="+tc.attacker, "SHADOW_URL="+tc.shadow, "NEW_DESTINATION_URL="+open,
				"VPC_RESOLVER="+resolver, "EXTERNAL_RESOLVERS="+tc.externalDNS, "ATTEMPTS=2", "DELAY=0.1",
				"CONNECT_TIMEOUT=1", "CURL_ARGS=--cacert "+caFile, "VERIFY_EGRESS_ENV=/dev/null")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			var failed []string
			var checks int
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var r result
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("not a JSON line: %q", sc.Text())
				}
				checks++
				at, err := time.Parse(time.RFC3339, r.Time)
				if r.Mode != tc.mode || r.Destination == "" || r.Rule == "" || r.Attempts < 1 || err != nil ||
					time.Since(at) > time.Minute || r.Source != "10.20.1.15" {
					t.Errorf("incomplete line %s", sc.Text())
				}
				if !r.Pass {
					failed = append(failed, r.Check)
					if r.Attempts != 2 || r.Observed == r.Expected {
						t.Errorf("a failed check must have used every attempt: %s", sc.Text())
					}
				}
			}
			if code != tc.wantExit || strings.Join(failed, ",") != strings.Join(tc.wantFailed, ",") || checks != 8 {
				t.Fatalf("exit %d, %d checks, failed %v; want exit %d, 8 checks, failed %v\n%s%s", code, checks, failed, tc.wantExit, tc.wantFailed, out, stderr.String())
			}
		})
	}
}
