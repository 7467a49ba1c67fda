package parse

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

// The keyword matrix: every DCF body behind every envelope the parser knows,
// with its keyword wherever senders put it (log-formats §3: classify by
// keyword, not by tag). Each line must give the kind and every body field
// the reference line gives, without allocating, and an envelope go-syslog
// agrees with.

// dcfBody is one body, split where the keyword ends.
type dcfBody struct {
	name    string
	kind    Kind
	keyword string // as it stands in the message
	sep     string // between the keyword and the rest when the keyword leads the message
	rest    string
	program string // the tag a gateway writes in front of the keyword, if any
}

var dcfBodies = []dcfBody{
	{name: "l4", kind: KindL4, keyword: "AviatrixGwMicrosegPacket", sep: ": ", program: "avx-gw-state-sync[11249]:",
		rest: "POLICY=51321a3b-e5e2-4ab3-9594-e97a51799e15 SRC_MAC=16:06:11:d7:a1:11 DST_MAC=16:54:ec:50:09:17 IP_SZ=60 SRC_IP=100.64.242.5 DST_IP=140.82.112.3 PROTO=TCP SRC_PORT=52792 DST_PORT=443 DATA=0x ACT=DENY ENFORCED=false SESSION_ID=17916192532688554942 SESSION_EVENT=1 SESSION_END_REASON=1 SESSION_PKT_CNT=7 SESSION_BYTE_CNT=129283 SESSION_DUR=3685851"},
	{name: "l4-legacy-aliases", kind: KindL4, keyword: "AviatrixGwMicrosegPacket", sep: ": ", program: "avx-gw-state-sync[11249]:",
		rest: "POLICY=51321a3b-e5e2-4ab3-9594-e97a51799e15 SRC_MAC=aa:bb:cc:dd:ee:ff DST_MAC=11:22:33:44:55:66 SRC_IP=100.64.242.5 DST_IP=140.82.112.3 PROTO=TCP SPT=52792 DPT=443 ACTION=PERMIT ENFORCED=true SESSION_ID=7 SESSION_EVENT=1 SESSION_PACKET_COUNT=3 SESSION_BYTE_COUNT=39936 SESSION_DURATION=236983"},
	{name: "l4-docs-case", kind: KindL4, keyword: "AviatrixGwMicroSegPacket", sep: ": ", program: "avx-gw-state-sync[11249]:",
		rest: "POLICY=51321a3b-e5e2-4ab3-9594-e97a51799e15 SRC_IP=100.64.242.5 DST_IP=140.82.112.3 PROTO=ICMP SRC_PORT=0 DST_PORT=0 DATA=0x ACT=PERMIT ENFORCED=true"},
	{name: "fqdn-no-match", kind: KindFQDN, keyword: "AviatrixFQDNRule1", program: "avx-nfq:",
		rest: "[CRIT]nfq_ssl_handle_client_hello() L#291  Gateway=gw-a S_IP=10.1.0.9 D_IP=198.51.100.7 hostname=example.org state=NO_MATCH drop_reason=NOT_WHITELISTED"},
	{name: "fqdn-matched", kind: KindFQDN, keyword: "AviatrixFQDNRule0", program: "avx-nfq:",
		rest: "[CRIT]nfq_ssl_handle_client_hello() L#281  Gateway=gw-a S_IP=10.1.0.9 D_IP=52.218.234.41 hostname=aviatrix-download.s3-us-west-2.amazonaws.com state=MATCHED  Rule=*.amazonaws.com;1"},
	{name: "l7", kind: KindL7, keyword: "traffic_server[5141]", sep: ": ",
		rest: `{"priority":"LOG_ALERT","action":"Deny","reason":"POLICY","src":"100.64.242.5","src_port":52792,"dest":"140.82.112.3","dest_port":443,"enforced":true,"ids":true,"stage":"SNI","sni_hostname":"github.com","decided_by":"1b513efd-dcb0-4bb5-8ea7-a43b482cad7a","proto":"TCP","session_start":1772665021165851922,"session_stage":"start","session_id":"52e4c272-6a9c-406f-88e2-414b7f4e5ef9","timestamp":1772665021}`},
	{name: "l7-ids", kind: KindL7, keyword: "traffic_server[5141]", sep: ": ",
		rest: `{"priority":"LOG_ALERT","action":"PERMIT","reason":"IDS_POLICY_ALERT","src":"100.64.242.9","src_port":40023,"dest":"198.51.100.7","dest_port":443,"enforced":true,"ids":true,"stage":"txn","sni_hostname":"updates.example.com","decided_by":"1b513efd-dcb0-4bb5-8ea7-a43b482cad7a","proto":"TCP","session_stage":"end","request_bytes":900,"response_bytes":1200,"sid":"2027865","timestamp":1772665100}`},
}

// leadingKeyword is the body with the keyword opening the message.
func (b dcfBody) leadingKeyword() string { return b.keyword + b.sep + b.rest }

// appName is the keyword as an RFC 5424 APP-NAME: the name without a pid.
func (b dcfBody) appName() string {
	name, _, _ := strings.Cut(b.keyword, "[")
	return name
}

// placement is where the keyword stands; it renders the text after the
// hostname of an RFC 3164-style header.
type placement struct {
	name   string
	render func(b dcfBody) string
}

var placements = []placement{
	// The gateway's own tag, keyword at the start of the message.
	{"after-program-tag", func(b dcfBody) string {
		if b.program == "" {
			return b.leadingKeyword() // traffic_server is both
		}
		return b.program + " " + b.leadingKeyword()
	}},
	// No tag: the keyword is what a header parser takes for it.
	{"as-tag", func(b dcfBody) string { return b.leadingKeyword() }},
	// rsyslog's 32-character truncation of the L4 daemon's path.
	{"after-truncated-tag", func(b dcfBody) string { return "/usr/local/bin/avx-gw-state-sync " + b.leadingKeyword() }},
	// A relay's own tag in front of the gateway's line.
	{"after-relay-tag", func(b dcfBody) string { return "gw-relay: " + b.leadingKeyword() }},
}

const (
	matrixHost = "GW-gw-a-54.1.2.3-sink"
	matrixTime = "Mar 14 09:10:00"
)

// envelopes3164 wrap what follows the hostname.
var envelopes3164 = []struct {
	name string
	wrap func(afterHost string) string
}{
	{"rfc3164", func(s string) string { return "<14>" + matrixTime + " " + matrixHost + " " + s }},
	{"no-pri", func(s string) string { return matrixTime + " " + matrixHost + " " + s }},
	{"rfc3339", func(s string) string { return "<14>2026-03-14T09:10:00.123456+00:00 " + matrixHost + " " + s }},
	{"relay", func(s string) string {
		return "<133>" + matrixTime + " " + matrixHost + " syslog 2026-03-14T09:10:00.257442+00:00 " + matrixHost + " " + s
	}},
	{"double", func(s string) string {
		return "<14>" + matrixTime + " 10.0.0.5 " + matrixTime + " " + matrixHost + " " + s
	}},
}

// rfc5424Lines put the keyword in the APP-NAME, the MSGID or the message.
func rfc5424Lines(b dcfBody) map[string]string {
	head := "<14>1 2026-03-14T09:10:00.5Z " + matrixHost + " "
	msgAfterApp := b.rest
	if b.sep == "" {
		msgAfterApp = b.rest // FQDN: "[CRIT]func() ..." follows the keyword
	}
	return map[string]string{
		"rfc5424/app-name":    head + b.appName() + " - - - " + msgAfterApp,
		"rfc5424/app-name+sd": head + b.appName() + " 77 - [meta sequenceId=\"1\"] " + msgAfterApp,
		"rfc5424/msgid":       head + "gateway 77 " + b.appName() + " - " + msgAfterApp,
		"rfc5424/message":     head + "gateway - - - " + b.leadingKeyword(),
	}
}

// bodyFields is the event's JSON without what the envelope decides.
func bodyFields(t *testing.T, ev *Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"event_id", "received_at", "event_time", "time_source", "hostname", "gateway", "gateway_ip",
		"app", "proc_id", "msg_id", "syslog_format", "facility", "severity", "raw"} {
		delete(m, k)
	}
	return m
}

func TestKeywordMatrix(t *testing.T) {
	p := NewParser(Options{})
	rx := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	lines := 0
	for _, b := range dcfBodies {
		ref := &Event{ReceivedAt: rx}
		p.Parse([]byte("<14>"+matrixTime+" "+matrixHost+" "+placements[0].render(b)), ref)
		if ref.Kind != b.kind || ref.Status != StatusOK {
			t.Fatalf("%s: reference line is %s/%s (%s), want %s/ok", b.name, ref.Kind, ref.Status, ref.AppendError(nil), b.kind)
		}
		want := bodyFields(t, ref)
		cases := rfc5424Lines(b)
		for _, env := range envelopes3164 {
			for _, pl := range placements {
				cases[env.name+"/"+pl.name] = env.wrap(pl.render(b))
			}
		}
		for name, line := range cases {
			lines++
			raw := []byte(line)
			ev := &Event{ReceivedAt: rx}
			p.Parse(raw, ev)
			if ev.Kind != b.kind {
				t.Errorf("%s %s: kind %s, want %s\n  %s", b.name, name, ev.Kind, b.kind, line)
				continue
			}
			if got := bodyFields(t, ev); !equalJSON(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("%s %s: body fields differ\n  line %s\n  got  %s\n  want %s", b.name, name, line, g, w)
			}
			if string(ev.Gateway) != "gw-a" {
				t.Errorf("%s %s: gateway %q, want gw-a", b.name, name, ev.Gateway)
			}
			if allocs := testing.AllocsPerRun(20, func() { p.Parse(raw, ev) }); allocs != 0 {
				t.Errorf("%s %s: %.1f allocations per parse, want 0", b.name, name, allocs)
			}
			hdr := &Event{ReceivedAt: rx}
			p.envelopeOnly(raw, hdr)
			hdr.TimeSource = TimeHeader
			if d := oracleDisagreement(trimTrailer(raw), hdr); d != "" {
				t.Errorf("%s %s: go-syslog disagrees on the envelope: %s\n  %s", b.name, name, d, line)
			}
		}
	}
	t.Logf("%d lines", lines)
}

func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestNoDCFLineIsOther: a corpus line that carries a DCF keyword is never
// left as kind "other", except the ones the reference says are not DCF.
func TestNoDCFLineIsOther(t *testing.T) {
	notDCF := map[string]bool{
		"L7-24": true, // Traffic Server diagnostic under the same tag
		"L7-27": true, // another product's traffic_server
	}
	p := NewParser(Options{})
	for _, l := range testcorpus.All() {
		raw := bytes.ToLower(l.Message)
		dcf := bytes.Contains(raw, []byte("aviatrixgwmicrosegpacket")) || bytes.Contains(raw, []byte("aviatrixfqdnrule")) ||
			bytes.Contains(raw, []byte("traffic_server"))
		if !dcf || notDCF[l.Label] {
			continue
		}
		ev := &Event{ReceivedAt: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}
		p.Parse(l.Message, ev)
		if ev.Kind == KindOther && ev.Status != StatusFailed {
			t.Errorf("%s (%s): a DCF line parsed as other", l.Label, l.Note)
		}
	}
}
