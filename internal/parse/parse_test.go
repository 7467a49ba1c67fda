package parse

import (
	"net/netip"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

func corpusLine(t testing.TB, label string) []byte {
	t.Helper()
	for _, l := range testcorpus.All() {
		if l.Label == label {
			return l.Message
		}
	}
	t.Fatalf("no corpus line %s", label)
	return nil
}

func parseAt(line []byte, rx time.Time) *Event {
	ev := &Event{ReceivedAt: rx}
	NewParser(Options{}).Parse(line, ev)
	return ev
}

func TestFields(t *testing.T) {
	type want struct {
		kind          Kind
		status        Status
		format        Format
		gateway, gwIP string
		rule          string
		action        Action
		enforced      string // "", "true", "false"
		src, dst      string
		sport, dport  uint16
		sni, url      string
		eventTime     string
		sessionID     uint64
		sessionStart  int64
		reason        Reason
	}
	rx := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		label string
		want  want
	}{
		{"C-01", want{kind: KindL4, format: FormatRFC3164, gateway: "frontend-eks-spoke", gwIP: "18.216.17.241",
			rule: "51321a3b-e5e2-4ab3-9594-e97a51799e15", action: ActionPermit, enforced: "true",
			src: "100.64.242.5", dst: "140.82.112.3", sport: 52792, dport: 443,
			eventTime: "2026-03-04T22:54:34Z", sessionID: 17916192532688554942}},
		{"L4-16", want{kind: KindL4, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "126bafc2-10ee-4eb7-b5e8-238f10515c5f", action: ActionDeny, enforced: "false",
			src: "10.20.1.15", dst: "198.51.100.23", sport: 40110, dport: 443, eventTime: "2026-03-14T09:04:02Z",
			sessionID: 6677889900112233445}},
		{"L4-19", want{kind: KindL4, format: FormatRFC3164, gateway: "prod-use1-spoke1-hagw", gwIP: "3.91.10.21",
			rule: "7b1e9d22-4c3a-4e6f-9d8c-2a1b3c4d5e6f", action: ActionDeny, enforced: "true",
			src: "10.21.3.4", dst: "10.40.2.30", sport: 51111, dport: 22, eventTime: "2024-10-12T08:01:02Z"}},
		{"L4-21", want{kind: KindL4, format: FormatRelay, gateway: "azr-we-spoke-app2", gwIP: "20.54.10.11",
			rule: "2e22f3c8-b5b5-4c65-b57f-ac05a046be69", action: ActionPermit, enforced: "true",
			src: "10.10.2.132", dst: "20.54.144.51", sport: 44026, dport: 80, eventTime: "2023-02-02T11:22:33Z"}},
		{"L4-22", want{kind: KindL4, format: FormatRFC5424, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d", action: ActionPermit, enforced: "true",
			src: "10.20.1.15", dst: "10.20.9.9", sport: 40000, dport: 443, eventTime: "2026-03-14T09:06:10Z", sessionID: 100}},
		{"L4-25", want{kind: KindL4, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d", action: ActionPermit, enforced: "true",
			src: "2600:1f18:4a3:6d00::15", dst: "2600:1f18:4a3:6e00:abcd::2b", sport: 50522, dport: 443,
			eventTime: "2026-03-14T09:07:00Z", sessionID: 103}},
		{"L4-26", want{kind: KindL4, status: StatusPartial, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d", action: ActionPermit, enforced: "true",
			src: "10.20.1.15", dst: "10.20.9.9", sport: 40003, dport: 443, eventTime: "2026-03-14T09:07:05Z",
			sessionID: 104, reason: ReasonTruncated}},
		{"L4-29", want{kind: KindL4, format: FormatRFC3164, gateway: "lab-spoke", gwIP: "52.1.2.3",
			rule: "54ea65c4-313e-4b3d-8db3-1ecc4f0981db", src: "10.4.187.253", dst: "10.5.144.38",
			eventTime: "2022-06-01T10:00:00Z"}},
		{"L4-32", want{kind: KindL4, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d", action: ActionPermit, enforced: "true",
			src: "10.20.1.15", dst: "10.20.9.9", sport: 40007, dport: 443, eventTime: "2026-03-14T09:07:40Z"}},
		{"L7-13", want{kind: KindL7, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f", action: ActionDeny, enforced: "true",
			src: "10.20.1.15", dst: "198.51.100.80", sport: 53001, dport: 443, sni: "pastebin.example.net",
			eventTime: "2026-03-14T10:00:01Z", sessionStart: 1773482401000123456}},
		{"L7-15", want{kind: KindL7, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "7f8091a2-3c4d-4e5f-8a0b-2c3d4e5f6071", action: ActionPermit, enforced: "true",
			src: "10.20.1.16", dst: "192.0.2.44", sport: 53010, dport: 443, sni: "api.example.com",
			url: "api.example.com/v1/items?page=2&sort=desc", eventTime: "2026-03-14T10:00:09Z", sessionStart: 1773482405000999999}},
		{"L7-20", want{kind: KindL7, format: FormatRFC3164, gateway: "cloud-spoke", gwIP: "20.1.2.3",
			rule: "e82f04ad-ca90-4507-8552-65ddb052f394", action: ActionDeny, enforced: "true",
			src: "10.1.88.234", dst: "13.107.42.16", sport: 49327, dport: 443, sni: "config.edge.skype.com",
			eventTime: "2024-01-10T08:00:00Z"}},
		{"L7-23", want{kind: KindL7, status: StatusPartial, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			rule: "c4d5e6f7-8192-43a4-9f50-718293041526", action: ActionPermit, enforced: "true",
			src: "10.20.1.21", dst: "192.0.2.51", sport: 53070, dport: 443, sni: "very-long.example.com",
			eventTime: "2026-03-14T10:00:30Z", sessionStart: 1773482430000000007, reason: ReasonTruncated}},
		{"L7-24", want{kind: KindOther, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20", eventTime: "2026-03-14T10:00:31Z"}},
		{"L7-27", want{kind: KindOther, format: FormatRFC3164, eventTime: "2025-05-21T14:31:18Z"}},
		{"FQ-20", want{kind: KindFQDN, format: FormatRFC3164, gateway: "egress-gw-1", gwIP: "54.10.20.30",
			action: ActionDeny, src: "10.1.2.3", dst: "104.16.1.1", sni: "unknown.example.com", eventTime: "2026-03-14T11:00:40Z"}},
		{"FQ-24", want{kind: KindFQDN, format: FormatRFC3164, gateway: "egress-gw-1", gwIP: "54.10.20.30",
			action: ActionDeny, src: "10.1.2.3", dst: "104.16.1.1", sni: "unknown.example.com", eventTime: "2026-03-14T11:00:44Z"}},
		{"C-13", want{kind: KindFQDN, format: FormatRFC3339, gateway: "spoke1-fqdn", action: ActionPermit,
			src: "172.32.1.144", dst: "52.218.234.41", sni: "aviatrix-download.s3-us-west-2.amazonaws.com",
			eventTime: "2019-12-12T04:33:46.892381Z"}},
		{"C-19", want{kind: KindOther, status: StatusFailed, eventTime: "2026-03-15T00:00:00Z", reason: ReasonBadTimestamp}},
		{"C-20", want{kind: KindOther, status: StatusFailed, eventTime: "2026-03-15T00:00:00Z", reason: ReasonBadPRI}},
		{"C-24", want{kind: KindL7, status: StatusPartial, format: FormatRFC3164, gateway: "prod-use1-spoke1", gwIP: "3.91.10.20",
			action: ActionDeny, src: "10.20.1.21", eventTime: "2026-03-14T10:00:31Z", reason: ReasonBadJSON}},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			ev := parseAt(corpusLine(t, tt.label), rx)
			w := tt.want
			check := func(name string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			check("kind", ev.Kind, w.kind)
			check("status", ev.Status, w.status)
			check("reason", ev.Reason, w.reason)
			check("format", ev.Format, w.format)
			check("gateway", string(ev.Gateway), w.gateway)
			gwip := ""
			if ev.GatewayIP.IsValid() {
				gwip = ev.GatewayIP.String()
			}
			check("gateway_ip", gwip, w.gwIP)
			rule := ""
			if ev.Has&HasRuleUUID != 0 {
				rule = ev.RuleUUID.String()
			}
			check("rule", rule, w.rule)
			check("action", ev.Action, w.action)
			enf := ""
			if ev.Has&HasEnforced != 0 {
				enf = map[bool]string{true: "true", false: "false"}[ev.Enforced]
			}
			check("enforced", enf, w.enforced)
			check("src", addrString(ev.SrcIP), w.src)
			check("dst", addrString(ev.DstIP), w.dst)
			check("src_port", ev.SrcPort, w.sport)
			check("dst_port", ev.DstPort, w.dport)
			check("sni", string(ev.SNI), w.sni)
			check("url", string(ev.URL), w.url)
			check("event_time", ev.EventTime.Format(time.RFC3339Nano), w.eventTime)
			check("session_id", ev.SessionID, w.sessionID)
			check("session_start", ev.SessionStart, w.sessionStart)
			if string(ev.Raw) != string(corpusLine(t, tt.label)) {
				t.Error("raw line not kept verbatim")
			}
		})
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func TestYearInference(t *testing.T) {
	tests := []struct {
		name  string
		stamp string
		rx    time.Time
		want  string
	}{
		{"same day", "Mar 14 09:00:00", time.Date(2026, 3, 14, 9, 0, 5, 0, time.UTC), "2026-03-14T09:00:00Z"},
		{"sent before New Year, received after", "Dec 31 23:59:59", time.Date(2027, 1, 1, 0, 0, 2, 0, time.UTC), "2026-12-31T23:59:59Z"},
		{"sender clock ahead across New Year", "Jan  1 00:00:01", time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC), "2027-01-01T00:00:01Z"},
		{"months-old message stays in this year", "Mar 14 09:00:00", time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), "2026-03-14T09:00:00Z"},
		{"a day ahead is clock skew", "Mar 15 20:00:00", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), "2026-03-15T20:00:00Z"},
		{"two days ahead is last year", "Mar 17 00:00:00", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), "2025-03-17T00:00:00Z"},
		{"leap day", "Feb 29 12:00:00", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), "2028-02-29T12:00:00Z"},
		{"fractional seconds", "Mar 14 09:00:00.250", time.Date(2026, 3, 14, 9, 0, 5, 0, time.UTC), "2026-03-14T09:00:00.25Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := parseAt([]byte("<14>"+tt.stamp+" host app: x"), tt.rx)
			if ev.Status != StatusOK {
				t.Fatalf("status %v: %s", ev.Status, ev.AppendError(nil))
			}
			if got := ev.EventTime.Format(time.RFC3339Nano); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTimeZoneOption(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	p := NewParser(Options{Location: berlin})
	ev := &Event{ReceivedAt: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)}
	p.Parse([]byte("<158>Mar 14 10:00:00 GW-a-1.2.3.4 /usr/local/bin/avx-gw-state-sync 2026/03/14 10:00:00 AviatrixGwMicrosegPacket: POLICY=9f3c2a10-7d4e-4b8a-a1c2-5e6f7a8b9c0d SRC_IP=10.0.0.1 DST_IP=10.0.0.2"), ev)
	if got := ev.EventTime.Format(time.RFC3339); got != "2026-03-14T09:00:00Z" {
		t.Errorf("inner time in Berlin: got %s", got)
	}
}

func TestGatewayHost(t *testing.T) {
	tests := []struct{ host, name, ip string }{
		{"GW-frontend-eks-spoke-18.216.17.241-sink", "frontend-eks-spoke", "18.216.17.241"},
		{"GW-aws-usw1-0a330200-gw-54.219.57.58", "aws-usw1-0a330200-gw", "54.219.57.58"},
		{"GW-egress-gw-1-hagw-54.10.20.31", "egress-gw-1-hagw", "54.10.20.31"},
		{"GW-sink-1.2.3.4", "sink", "1.2.3.4"},
		{"Controller-10.1.1.10", "Controller", "10.1.1.10"},
		{"GW-no-address", "", ""},
		{"GW-bad-1.2.3.256", "", ""},
		{"ip-172-32-0-6", "", ""},
		{"GW--1.2.3.4", "", ""},
	}
	for _, tt := range tests {
		name, ip := splitGatewayHost([]byte(tt.host))
		if string(name) != tt.name || addrString(ip) != tt.ip {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", tt.host, name, addrString(ip), tt.name, tt.ip)
		}
	}
}

func TestEventReuseClearsFields(t *testing.T) {
	p := NewParser(Options{})
	var ev Event
	ev.ReceivedAt = time.Now()
	p.Parse(corpusLine(t, "L7-15"), &ev)
	p.Parse(corpusLine(t, "C-10"), &ev)
	if ev.Kind != KindOther || ev.SNI != nil || ev.Has&HasRuleUUID != 0 || len(ev.Extra) != 0 {
		t.Fatalf("fields leaked from the previous message: %+v", ev)
	}
}

func TestCloneOwnsMemory(t *testing.T) {
	line := append([]byte(nil), corpusLine(t, "C-07")...)
	ev := parseAt(line, time.Now())
	c := ev.Clone()
	want := string(ev.AppendJSON(nil))
	for i := range line {
		line[i] = 'x'
	}
	ev.arena = ev.arena[:0]
	if got := string(c.AppendJSON(nil)); got != want {
		t.Fatalf("clone changed with its source:\n got %s\nwant %s", got, want)
	}
}

// TestZeroAllocs proves the hot paths allocate nothing per message.
func TestZeroAllocs(t *testing.T) {
	p := NewParser(Options{})
	rx := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	for _, label := range []string{"C-01", "L4-22", "L4-25", "L4-27", "L7-13", "L7-15", "L7-22", "C-07", "FQ-15"} {
		line := corpusLine(t, label)
		ev := &Event{ReceivedAt: rx}
		p.Parse(line, ev) // warm the arena
		if n := testing.AllocsPerRun(200, func() { p.Parse(line, ev) }); n != 0 {
			t.Errorf("%s: %v allocs per message", label, n)
		}
	}
	ev := &Event{ReceivedAt: rx}
	p.Parse(corpusLine(t, "L7-15"), ev)
	buf := ev.AppendJSON(nil)
	if n := testing.AllocsPerRun(200, func() { buf = ev.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON: %v allocs per event", n)
	}
}

// TestMemoMatchesFreshParse parses every line through one reused event, so
// hostnames and stamps come from the memo, and checks each result against a
// parse into a fresh event.
func TestMemoMatchesFreshParse(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("UTC+5:30", 5*3600+1800)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	rxs := []time.Time{
		time.Date(2026, 3, 4, 22, 54, 34, 0, time.UTC),
		time.Date(2026, 3, 4, 22, 54, 34, 900, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),
	}
	lines := [][]byte{
		[]byte("<14>Dec 31 23:59:59 GW-a-b-10.0.0.1 app: x"),
		[]byte("<14>Jan  1 00:00:01 GW-a-b-10.0.0.1 app: x"),
		[]byte("<14>Jan  1 00:00:01 GW-a-c-10.0.0.2-sink app: x"),
		[]byte("<14>Jan  1 00:00:01.5 GW-a-c-10.0.0.2-sink app: x"),
		[]byte("<14>Jan  1 00:00:01 10.0.0.9 Jan  1 00:00:01 GW-a-c-10.0.0.2 app: x"),
	}
	for _, l := range testcorpus.All() {
		lines = append(lines, l.Message)
	}
	for _, loc := range zones {
		p := NewParser(Options{Location: loc})
		reused := &Event{}
		for pass := 0; pass < 2; pass++ {
			for _, rx := range rxs {
				for _, line := range lines {
					reused.ReceivedAt = rx
					p.Parse(line, reused)
					fresh := &Event{ReceivedAt: rx}
					p.Parse(line, fresh)
					if got, want := string(reused.AppendJSON(nil)), string(fresh.AppendJSON(nil)); got != want {
						t.Fatalf("%s rx %v %q:\nmemo  %s\nfresh %s", loc, rx, line, got, want)
					}
				}
			}
		}
	}
}

func TestParseIPv4MatchesNetip(t *testing.T) {
	for _, s := range []string{
		"0.0.0.0", "255.255.255.255", "10.4.187.253", "1.2.3.4", "01.2.3.4", "1.2.3.04", "1.2.3.256",
		"1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "1000.2.3.4", "1.2.3.0000",
		"00.0.0.0", "1.2.3.-4", "a.b.c.d", "", "::1", "1.2.3.4x", "100.64.242.5",
	} {
		want, err := netip.ParseAddr(s)
		got, ok := parseIPv4([]byte(s))
		if ok != (err == nil && want.Is4()) || (ok && got != want) {
			t.Errorf("%q: got %v %v, netip says %v %v", s, got, ok, want, err)
		}
	}
}
