package enrich

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

const (
	ruleShadow  = "11111111-0000-4000-8000-000000000010"
	ruleDNSUDP  = "11111111-0000-4000-8000-000000000018"
	ruleExfilU  = "11111111-0000-4000-8000-000000000020"
	ruleExfilT  = "11111111-0000-4000-8000-000000000021"
	ruleModel   = "11111111-0000-4000-8000-000000000040"
	ruleCore    = "11111111-0000-4000-8000-000000000050"
	ruleEW      = "11111111-0000-4000-8000-000000000100"
	ruleUnknown = "99999999-0000-4000-8000-000000000999"
)

var parser = parse.NewParser(parse.Options{})

// l4 parses a gateway L4 line with the given decision.
func l4(rule, src, dst, proto string, dport int, act string, enforced bool) *parse.Event {
	line := fmt.Sprintf("<158>Mar 14 09:05:00 GW-prod-use1-spoke1-3.91.10.20-sink /usr/local/bin/avx-gw-state-sync 2026/03/14 09:05:00 AviatrixGwMicrosegPacket: "+
		"POLICY=%s SRC_MAC=0e:11:22:33:44:55 DST_MAC=0e:66:77:88:99:aa IP_SZ=60 SRC_IP=%s DST_IP=%s PROTO=%s SRC_PORT=41234 DST_PORT=%d DATA=0x ACT=%s ENFORCED=%t",
		rule, src, dst, proto, dport, act, enforced)
	ev := &parse.Event{}
	parser.Parse([]byte(line), ev)
	return ev
}

// l7 parses a gateway L7 (SNI) line with the given decision.
func l7(rule, src, sni, act string, enforced bool) *parse.Event {
	line := fmt.Sprintf(`<153>Mar 14 10:00:01 GW-prod-use1-spoke1-3.91.10.20-sink traffic_server[4410]: {"priority":"LOG_ALERT","action":%q,"reason":"POLICY","src":%q,"src_port":53001,"dest":"198.51.100.80","dest_port":443,"enforced":%t,"ids":false,"stage":"SNI","sni_hostname":%q,"decided_by":%q,"proto":"TCP","timestamp":1773482401}`,
		act, src, enforced, sni, rule)
	ev := &parse.Event{}
	parser.Parse([]byte(line), ev)
	return ev
}

func loadFixture(t testing.TB) *Index {
	t.Helper()
	ix, err := LoadFile("testdata/catalog-coding.json")
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestValidationScenarios covers the seed's validation table, and the
// threat vectors behind it, with the coding-agent catalog.
func TestValidationScenarios(t *testing.T) {
	ix := loadFixture(t)
	type want struct {
		rule, scenario, web, admitting string
		priority                       uint32
		src, dst                       []string
		wouldBeDenied                  bool
		tags                           []string
	}
	agents := []string{"sg-openclaw-agents", "sg-agent-vpc", "sg-east-west-deny"}
	for _, tc := range []struct {
		name string
		ev   *parse.Event
		want want
	}{
		{"allowed model call", l7(ruleModel, "10.20.1.15", "integrate.api.nvidia.com", "Permit", true),
			want{rule: "allow-model-gateways", scenario: "approved_model", web: "wg-approved-model-gateways", priority: 40, src: agents}},
		{"OpenClaw terminal launch reaches core", l7(ruleCore, "10.20.1.16", "Docs.OpenClaw.AI.", "Permit", true),
			want{rule: "allow-core", scenario: "core", web: "wg-openclaw-core", priority: 50, src: agents}},
		{"blocked attacker domain: default deny", l7(DefaultRuleUUID, "10.20.1.15", "pastebin.example.net", "Deny", true),
			want{rule: DefaultRuleName, scenario: "default_deny", src: agents}},
		{"blocked attacker IP: default deny at L4", l4(DefaultRuleUUID, "10.20.1.15", "203.0.113.77", "TCP", 8443, "DENY", true),
			want{rule: DefaultRuleName, scenario: "default_deny", src: agents}},
		{"blocked shadow model", l7(ruleShadow, "10.20.1.15", "api.openai.com", "Deny", true),
			want{rule: "vca-openclaw-shadow-model-deny", scenario: "shadow_model", web: "wg-unapproved-model-providers", priority: 10, src: agents,
				tags: []string{"LLM08", "AML.T0048"}}},
		{"blocked external DNS over UDP", l4(ruleExfilU, "10.20.1.15", "8.8.8.8", "UDP", 53, "DENY", true),
			want{rule: "deny-dns-exfil-udp", scenario: "dns_exfiltration", priority: 20, src: agents, tags: []string{"LLM02", "AML.T0025"}}},
		{"blocked external DNS over TCP", l4(ruleExfilT, "10.20.1.15", "1.1.1.1", "TCP", 53, "DENY", true),
			want{rule: "deny-dns-exfil-tcp", scenario: "dns_exfiltration", priority: 21, src: agents, tags: []string{"LLM02", "AML.T0025"}}},
		{"VPC resolver still works", l4(ruleDNSUDP, "10.20.1.15", "10.20.0.2", "UDP", 53, "PERMIT", true),
			want{rule: "allow-vpc-dns-udp", scenario: "infrastructure", priority: 18, src: agents,
				dst: []string{"sg-vpc-dns-resolver", "sg-agent-vpc", "sg-east-west-deny"}}},
		{"east-west deny", l4(ruleEW, "10.20.1.15", "10.30.4.5", "TCP", 22, "DENY", true),
			want{rule: "deny-eastwest", scenario: "east_west", priority: 100, src: agents, dst: []string{"sg-east-west-deny"},
				tags: []string{"LLM06", "AML.T0051"}}},
		{"monitor mode: a package registry would be denied, and allow-packages would admit it",
			l7(DefaultRuleUUID, "10.20.1.15", "raw.githubusercontent.com", "Deny", false),
			want{rule: DefaultRuleName, scenario: "default_deny", web: "wg-package-registries", admitting: "wg-package-registries",
				src: agents, wouldBeDenied: true}},
		{"unknown rule stays visible and is classified by what it hit", l7(ruleUnknown, "10.20.1.15", "api.anthropic.com", "Deny", true),
			want{scenario: "shadow_model", web: "wg-unapproved-model-providers", src: agents}},
		{"unknown rule on port 53 is DNS exfiltration", l4(ruleUnknown, "10.20.1.15", "9.9.9.9", "UDP", 53, "DENY", true),
			want{scenario: "dns_exfiltration", src: agents}},
		{"IPv6 east-west destination", l4(ruleUnknown, "10.20.1.15", "fd12::1", "TCP", 443, "DENY", true),
			want{scenario: "east_west", src: agents, dst: []string{"sg-east-west-deny"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ev.Status != parse.StatusOK {
				t.Fatalf("test line did not parse: %s", tc.ev.AppendError(nil))
			}
			var out Outcome
			ix.Enrich(tc.ev, &out)
			x, w := tc.ev.Enriched, tc.want
			got := want{rule: x.RuleName, scenario: x.Scenario, web: x.WebGroup, admitting: x.AdmittingWebGroup, priority: x.RulePriority,
				src: x.SrcGroups, dst: x.DstGroups, wouldBeDenied: x.WouldBeDenied, tags: x.Tags}
			if got.rule != w.rule || got.scenario != w.scenario || got.web != w.web || got.admitting != w.admitting ||
				got.priority != w.priority || !slices.Equal(got.src, w.src) || !slices.Equal(got.dst, w.dst) ||
				got.wouldBeDenied != w.wouldBeDenied || !slices.Equal(got.tags, w.tags) {
				t.Fatalf("got  %+v\nwant %+v", got, w)
			}
			if x.CatalogVersion != "coding-2026-11-26-a" {
				t.Fatalf("catalog version %q", x.CatalogVersion)
			}
			if unknown := tc.ev.RuleUUID.String() == ruleUnknown; unknown != (out.UnknownRules == 1) {
				t.Fatalf("unknown rules counted %d", out.UnknownRules)
			}
			if js := string(tc.ev.AppendJSON(nil)); w.rule != "" && !strings.Contains(js, `"rule_name":"`+w.rule+`"`) {
				t.Fatalf("JSON lacks the rule name: %s", js)
			}
		})
	}
}

func TestWebGroupMatching(t *testing.T) {
	d := newDomainIndex()
	names := []string{"exact", "wild-example", "wild-com", "deep-exact"}
	d.add("api.example.com", 0)
	d.add("*.example.com", 1)
	d.add("*.com", 2)
	d.add("a.b.api.example.com.", 3)
	d.finish(names)
	for _, tc := range []struct {
		host string
		want []string
	}{
		{"api.example.com", []string{"exact", "wild-example", "wild-com"}},
		{"API.Example.COM.", []string{"exact", "wild-example", "wild-com"}},
		{"x.api.example.com", []string{"wild-example", "wild-com"}},
		{"b.api.example.com", []string{"wild-example", "wild-com"}},
		{"a.b.api.example.com", []string{"deep-exact", "wild-example", "wild-com"}},
		{"example.com", []string{"wild-com"}}, // "*.example.com" does not match its apex
		{"other.org", nil},
		{"com", nil},
		{"", nil},
		{".", nil},
		{"api..example.com", nil},
		{strings.Repeat("x", 64) + ".example.com", nil},
		{"evil-example.com", []string{"wild-com"}},
	} {
		if got := d.lookup([]byte(tc.host)); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestSmartGroupLookup(t *testing.T) {
	c := &Catalog{Version: "t", Mode: "monitor", SmartGroups: []SmartGroup{
		{Name: "all-v4", CIDRs: []string{"0.0.0.0/0"}},
		{Name: "ten", CIDRs: []string{"10.0.0.0/8"}},
		{Name: "agents", CIDRs: []string{"10.20.0.0/16", "10.21.0.0/16"}, MemberIPs: []string{"192.0.2.7"}},
		{Name: "host", MemberIPs: []string{"10.20.1.15", "2001:db8::15"}},
		{Name: "same-as-ten", CIDRs: []string{"10.0.0.0/8"}},
		{Name: "v6", CIDRs: []string{"2001:db8::/32"}},
		{Name: "top", CIDRs: []string{"255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}},
	}}
	ix := compile(c, nil)
	for _, tc := range []struct {
		ip   string
		want []string
	}{
		{"10.20.1.15", []string{"host", "agents", "ten", "same-as-ten", "all-v4"}},
		{"10.20.1.16", []string{"agents", "ten", "same-as-ten", "all-v4"}},
		{"10.21.255.255", []string{"agents", "ten", "same-as-ten", "all-v4"}},
		{"10.22.0.0", []string{"ten", "same-as-ten", "all-v4"}},
		{"11.0.0.0", []string{"all-v4"}},
		{"192.0.2.7", []string{"agents", "all-v4"}},
		{"::ffff:10.20.1.15", []string{"host", "agents", "ten", "same-as-ten", "all-v4"}},
		{"2001:db8::15", []string{"host", "v6"}},
		{"2001:db8::16", []string{"v6"}},
		{"2001:db9::", nil},
		{"255.255.255.255", []string{"top", "all-v4"}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"top"}},
		{"::", nil},
	} {
		if got := ix.addrs.lookup(netip.MustParseAddr(tc.ip)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.ip, got, tc.want)
		}
	}
	if got := ix.addrs.lookup(netip.Addr{}); got != nil {
		t.Errorf("invalid address: %v", got)
	}
}

// TestBadCatalogsNameTheProblem: every rejection says where and why.
func TestBadCatalogsNameTheProblem(t *testing.T) {
	good, err := os.ReadFile("testdata/catalog-coding.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"not JSON", `"format"`, `format`, "not JSON"},
		{"wrong format version", `"format_version": 1`, `"format_version": 2`, "/format_version"},
		{"mode missing", `"mode": "enforce",`, ``, "missing property 'mode'"},
		{"unknown scenario", `"scenario": "core"`, `"scenario": "coar"`, "/rules/7/scenario"},
		{"unknown key", `"agent_class": "coding",`, `"agent_class": "coding", "agnet": 1,`, "agnet"},
		{"bad UUID", ruleCore, "11111111-0000-4000-8000-00000000005", "/rules/7/uuid"},
		{"undefined SmartGroup", `"dst_smart_groups": ["sg-east-west-deny"]`, `"dst_smart_groups": ["sg-east-west"]`, `/rules/9/dst_smart_groups/0: SmartGroup "sg-east-west" is not defined`},
		{"undefined WebGroup", `"web_groups": ["wg-openclaw-core"]`, `"web_groups": ["wg-core"]`, `/rules/7/web_groups/0: WebGroup "wg-core" is not defined`},
		{"bad CIDR", `"10.20.0.2/32"`, `"10.20.0.2/33"`, "/smart_groups/1/cidrs/0"},
		{"bad member IP", `"10.20.1.16"`, `"10.20.1.300"`, "/smart_groups/0/member_ips/1"},
		{"rules out of order", `"priority": 100`, `"priority": 45`, "/rules/9/priority: 45 after 60"},
		{"duplicate rule UUID", ruleEW, ruleCore, "/rules/9/uuid"},
		{"system rule UUID reused", ruleEW, DefaultRuleUUID, "is a system rule"},
		{"bad domain", `"clawhub.ai"`, `"claw hub.ai"`, "/web_groups/1/domains/3"},
		{"bad port", `"ports": ["53"]`, `"ports": ["70000"]`, "/rules/1/ports/0"},
		{"Kubernetes pod without namespace", `"member_ips"`, `"kubernetes": {"cluster_id": "c", "pod": "p"}, "member_ips"`, "/smart_groups/0/kubernetes"},
		{"Kubernetes pod and service", `"member_ips"`, `"kubernetes": {"cluster_id": "c", "namespace": "n", "pod": "p", "service": "s"}, "member_ips"`, "/smart_groups/0/kubernetes"},
		{"Kubernetes name not a label", `"member_ips"`, `"kubernetes": {"cluster_id": "c", "namespace": "Coding_Agents"}, "member_ips"`, "/smart_groups/0/kubernetes/namespace"},
		{"log profile without name", `"mode": "enforce",`, `"mode": "enforce", "log_profile": {"uuid": "def000ad-7000-0000-0000-000000000003"},`, "/log_profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatalf("fixture has no %q", tc.from)
			}
			_, err := Load([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEmptyKnowsSystemObjects(t *testing.T) {
	ix := Empty()
	ev := l4(DefaultRuleUUID, "10.20.1.15", "203.0.113.9", "TCP", 443, "DENY", true)
	var out Outcome
	ix.Enrich(ev, &out)
	if ev.Enriched.RuleName != DefaultRuleName || ev.Enriched.Scenario != "default_deny" || out.UnknownRules != 0 {
		t.Fatalf("%+v %+v", ev.Enriched, out)
	}
}

func FuzzDomainLookup(f *testing.F) {
	f.Add("api.example.com")
	f.Add("A.B.")
	f.Add("..")
	d := newDomainIndex()
	d.add("api.example.com", 0)
	d.add("*.example.com", 1)
	d.finish([]string{"a", "b"})
	f.Fuzz(func(t *testing.T, host string) {
		got := d.lookup([]byte(host))
		// ASCII case folding only, as the matcher does (DNS names are ASCII).
		hb := []byte(host)
		for i, c := range hb {
			if 'A' <= c && c <= 'Z' {
				hb[i] = c + 'a' - 'A'
			}
		}
		h := strings.TrimSuffix(string(hb), ".")
		want := 0
		if h == "api.example.com" {
			want = 2
		} else if strings.HasSuffix(h, ".example.com") && !strings.Contains(h, "..") && !strings.HasPrefix(h, ".") {
			want = 1
			for _, l := range strings.Split(h, ".") {
				if len(l) > maxLabel {
					want = 0
				}
			}
		}
		if len(got) != want {
			t.Fatalf("%q: %v", host, got)
		}
	})
}

// FuzzLoad: any document is either rejected with an error or compiles into
// an index that enriches without failing.
func FuzzLoad(f *testing.F) {
	good, err := os.ReadFile("testdata/catalog-coding.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"openclaw-vca/policy-catalog","format_version":1,"catalog_version":"x","mode":"monitor","rules":[],` +
		`"smart_groups":[{"name":"a","cidrs":["::ffff:10.0.0.0/104","0.0.0.0/0"],"member_ips":["::ffff:10.0.0.1"]}],"web_groups":[{"name":"w","domains":["*.a","A.b."]}]}`))
	events := []*parse.Event{
		l4(DefaultRuleUUID, "10.20.1.15", "10.0.0.1", "UDP", 53, "DENY", false),
		l7(ruleShadow, "10.20.1.15", "x.a", "Deny", true),
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ix, err := Load(doc)
		if err != nil {
			return
		}
		for _, ev := range events {
			ix.Enrich(ev, &Outcome{})
			if ev.Enriched.Scenario == "" || ev.Enriched.CatalogVersion != ix.Version() {
				t.Fatalf("enrichment incomplete: %+v", ev.Enriched)
			}
		}
	})
}
