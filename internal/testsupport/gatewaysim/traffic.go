package gatewaysim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// DefaultRuleUUID is the POST_RULES default deny every unmatched flow hits.
const DefaultRuleUUID = "defa11a1-0000-0000-0000-000000000000"

// Gateway is a simulated spoke gateway and the agents behind it.
type Gateway struct {
	Name     string
	IP       string
	Resolver string // the VPC DNS resolver its agents use
	// Enforced is false for a gateway whose policy runs in monitor mode:
	// it logs every decision with enforced=false and blocks nothing.
	Enforced bool
	Agents   []string
}

// Host is the syslog hostname the gateway sends: GW-<name>-<ip>-sink.
func (g Gateway) Host() string { return "GW-" + g.Name + "-" + g.IP + "-sink" }

// Gateways are the simulated fleet: us-east-1 enforces, us-west-2 is
// still in monitor mode.
var Gateways = []Gateway{
	{Name: "prod-use1-spoke1", IP: "3.91.10.20", Resolver: "10.20.0.2", Enforced: true, Agents: []string{OpenClaw, NemoClaw}},
	{Name: "prod-usw2-spoke1", IP: "3.92.10.20", Resolver: "10.40.0.2", Enforced: false, Agents: []string{Hermes}},
}

// Decision is what one line tells the collector, as the catalog names it.
type Decision struct {
	Time     time.Time // whole seconds: the gateway logs no fraction
	Gateway  Gateway
	Agent    string // the source's SmartGroup
	Kind     string // l4 or l7
	Proto    string
	SrcIP    string
	SrcPort  uint16
	DstIP    string
	DstPort  uint16
	SNI      string
	RuleUUID string
	RuleName string // "POST_RULES default" for the default deny
	Scenario string
	Action   string // PERMIT or DENY
	Enforced bool
	WebGroup string // the WebGroup the SNI belongs to, if any
	// AdmittingWebGroup is, for a denied name, the allow-list WebGroup
	// that holds it (a rule for other agents admits it).
	AdmittingWebGroup string
}

// WouldBeDenied is a DENY logged in monitor mode.
func (d *Decision) WouldBeDenied() bool { return d.Action == "DENY" && !d.Enforced }

// Line is one syslog message; Decision is nil for a malformed line.
type Line struct {
	Time     time.Time
	Gateway  string
	Text     []byte
	Decision *Decision
}

// Gap is a period in which a gateway sends nothing.
type Gap struct {
	Gateway  string
	From, To time.Time
}

// Options shape the simulated traffic.
type Options struct {
	Start    time.Time
	Duration time.Duration
	// PerMinute is the mean number of decisions per gateway per minute
	// (default 40).
	PerMinute int
	// MalformedEvery puts one malformed line after every N decisions
	// (0: 500; negative: none).
	MalformedEvery int
	Seed           uint64
	Gaps           []Gap
	// IDSAlertEvery makes every Nth permitted L7 flow trip an IDS
	// signature: the gateway then also sends the L7 IDS verdict (reason
	// IDS_POLICY_ALERT, its sid) and Suricata's EVE alert for the flow
	// (0: none).
	IDSAlertEvery int
}

// signatures are the IDS signatures the simulated flows trip.
var signatures = []struct {
	id               int
	text, category   string
	severity         int
	blockedByIPSRule bool
}{
	{2013028, "ET POLICY curl User-Agent Outbound", "Attempted Information Leak", 2, false},
	{2027865, "ET INFO Observed DNS Query to .cloud TLD", "Potentially Bad Traffic", 3, false},
	{2024897, "ET MALWARE Suspicious TLS SNI (exfiltration staging)", "A Network Trojan was detected", 1, true},
}

// intent is what an agent tries to do, before the policy decides.
type intent struct {
	weight int
	kind   string // "dns", "web", "dns_exfil", "east_west", "exfil_name", "exfil_ip", "unlisted"
	group  string // WebGroup for "web"
}

var intents = []intent{
	{30, "dns", ""},
	{14, "web", "wg-approved-model-gateways"},
	{6, "web", "wg-openclaw-core"},
	{6, "web", "wg-package-registries"},
	{5, "web", "wg-saas"},
	{4, "web", "wg-mcp-servers"},
	{4, "web", "wg-identity-telemetry"},
	{3, "web", "wg-public-reference"},
	{2, "web", "wg-os-updates"},
	{3, "web", "wg-aws-infra"},
	{2, "web", "wg-unapproved-model-providers"},
	{2, "unlisted", ""},
	{1, "dns_exfil", ""},
	{1, "exfil_name", ""},
	{1, "east_west", ""},
	{1, "exfil_ip", ""},
}

var (
	externalResolvers = []string{"8.8.8.8", "1.1.1.1", "9.9.9.9"}
	exfilNames        = []string{"pastebin.com", "transfer.sh", "webhook.site", "a81f3c.ngrok-free.app"}
	exfilIPs          = []string{"203.0.113.50", "198.51.100.23"}
	// unlistedNames are benign destinations no WebGroup holds yet: what a
	// monitor-mode rollout has to sort into the allow-lists.
	unlistedNames = []string{"cdn.jsdelivr.net", "raw.githubusercontent.com", "huggingface.co"}
	eastWest      = []struct {
		ip   string
		port uint16
	}{{"10.30.4.20", 22}, {"10.30.5.11", 5432}, {"192.168.10.5", 445}}
)

func ruleByName(name string) *rule {
	for i := range rules {
		if rules[i].Name == name {
			return &rules[i]
		}
	}
	panic("gatewaysim: no rule " + name)
}

// webRule is the rule whose WebGroup is group.
func webRule(group string) *rule {
	for i := range rules {
		if rules[i].webGroup == group {
			return &rules[i]
		}
	}
	panic("gatewaysim: no rule for " + group)
}

func domains(group string) []string {
	for _, g := range webGroups {
		if g.Name == group {
			return g.Domains
		}
	}
	panic("gatewaysim: no WebGroup " + group)
}

// addressOf gives each name one documentation-range address.
func addressOf(name string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return fmt.Sprintf("192.0.2.%d", 1+h%250)
}

// Generate calls emit for every line of the simulated traffic, in time
// order per gateway, minute by minute. The same Options give the same lines.
func Generate(o Options, emit func(Line) error) error {
	if o.PerMinute <= 0 {
		o.PerMinute = 40
	}
	if o.MalformedEvery == 0 {
		o.MalformedEvery = 500
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	total := 0
	for _, w := range intents {
		total += w.weight
	}
	var session uint64 = 9220123456789000000
	decisions := 0
	start := o.Start.UTC().Truncate(time.Second)
	var batch []Line
	for m := time.Duration(0); m < o.Duration; m += time.Minute {
		batch = batch[:0]
		for _, g := range Gateways {
			n := o.PerMinute/2 + rng.IntN(o.PerMinute+1)
			for range n {
				at := start.Add(m + time.Duration(rng.IntN(60))*time.Second)
				if at.Sub(start) >= o.Duration || silent(o.Gaps, g.Name, at) {
					continue
				}
				pick := rng.IntN(total)
				var in intent
				for _, w := range intents {
					if pick < w.weight {
						in = w
						break
					}
					pick -= w.weight
				}
				agent := g.Agents[rng.IntN(len(g.Agents))]
				ips := agentIPs[agent]
				d := &Decision{Time: at, Gateway: g, Agent: agent, SrcIP: ips[rng.IntN(len(ips))],
					SrcPort: uint16(32768 + rng.IntN(28000)), Enforced: g.Enforced, Proto: "TCP", DstPort: 443}
				decide(d, in, rng)
				session++
				batch = append(batch, Line{Time: at, Gateway: g.Name, Text: render(d, session), Decision: d})
				decisions++
				if d.Kind == "l7" && d.Action == "PERMIT" && o.IDSAlertEvery > 0 && decisions%o.IDSAlertEvery == 0 {
					sig := signatures[(decisions/o.IDSAlertEvery)%len(signatures)]
					later := at.Add(2 * time.Second)
					batch = append(batch, Line{Time: later, Gateway: g.Name, Text: renderIDSVerdict(d, session, later, sig.id)},
						Line{Time: later, Gateway: g.Name, Text: renderEVEAlert(d, session, later, sig.id, sig.text, sig.category, sig.severity, sig.blockedByIPSRule)})
				}
				if o.MalformedEvery > 0 && decisions%o.MalformedEvery == 0 {
					batch = append(batch, Line{Time: at, Gateway: g.Name, Text: malformed(g, at, decisions/o.MalformedEvery)})
				}
			}
		}
		slices.SortStableFunc(batch, func(a, b Line) int { return a.Time.Compare(b.Time) })
		for _, l := range batch {
			if err := emit(l); err != nil {
				return err
			}
		}
	}
	return nil
}

func silent(gaps []Gap, gw string, at time.Time) bool {
	for _, g := range gaps {
		if g.Gateway == gw && !at.Before(g.From) && at.Before(g.To) {
			return true
		}
	}
	return false
}

// decide applies the ordered policy to what the agent tried.
func decide(d *Decision, in intent, rng *rand.Rand) {
	deny := func(r *rule) {
		d.Action = "DENY"
		if r == nil {
			d.RuleUUID, d.RuleName, d.Scenario = DefaultRuleUUID, "POST_RULES default", "default_deny"
			return
		}
		d.RuleUUID, d.RuleName, d.Scenario = r.UUID, r.Name, r.Scenario
	}
	permit := func(r *rule) {
		d.Action = "PERMIT"
		d.RuleUUID, d.RuleName, d.Scenario = r.UUID, r.Name, r.Scenario
	}
	pickOf := func(s []string) string { return s[rng.IntN(len(s))] }
	switch in.kind {
	case "dns":
		d.Kind, d.Proto, d.DstIP, d.DstPort = "l4", "UDP", d.Gateway.Resolver, 53
		permit(ruleByName("allow-vpc-dns"))
	case "dns_exfil":
		d.Kind, d.Proto, d.DstIP, d.DstPort = "l4", "UDP", pickOf(externalResolvers), 53
		deny(ruleByName("deny-dns-exfil-udp"))
	case "east_west":
		t := eastWest[rng.IntN(len(eastWest))]
		d.Kind, d.DstIP, d.DstPort = "l4", t.ip, t.port
		deny(ruleByName("deny-east-west"))
	case "exfil_ip":
		d.Kind, d.DstIP, d.DstPort = "l4", pickOf(exfilIPs), 4444
		deny(nil)
	case "exfil_name", "unlisted":
		names := exfilNames
		if in.kind == "unlisted" {
			names = unlistedNames
		}
		d.Kind, d.SNI = "l7", pickOf(names)
		d.DstIP = addressOf(d.SNI)
		deny(nil)
	case "web":
		r := webRule(in.group)
		name := pickOf(domains(in.group))
		if name[0] == '*' {
			name = "acme" + name[1:]
		}
		d.Kind, d.SNI, d.DstIP, d.WebGroup = "l7", name, addressOf(name), in.group
		switch {
		case r.Action == "DENY":
			deny(r)
		case slices.Contains(r.SrcSmartGroups, d.Agent):
			permit(r)
		default: // another class's allow-list: the default deny stops it
			deny(nil)
			d.AdmittingWebGroup = in.group
		}
	}
}

func pri(severity int) string { return "<" + strconv.Itoa(19*8+severity) + ">" } // local3

// render writes the line the gateway sends for d.
func render(d *Decision, session uint64) []byte {
	g := d.Gateway
	header := d.Time.Format(time.Stamp) + " " + g.Host() + " "
	if d.Kind == "l4" {
		return fmt.Appendf(nil, "%s%s/usr/local/bin/avx-gw-state-sync %s AviatrixGwMicrosegPacket: POLICY=%s SRC_MAC=%s DST_MAC=0e:00:00:00:00:01 IP_SZ=%d SRC_IP=%s DST_IP=%s PROTO=%s SRC_PORT=%d DST_PORT=%d DATA=0x ACT=%s ENFORCED=%t SESSION_ID=%d SESSION_EVENT=0 SESSION_END_REASON=0 SESSION_PKT_CNT=0 SESSION_BYTE_CNT=0 SESSION_DUR=0",
			pri(6), header, d.Time.Format("2006/01/02 15:04:05"), d.RuleUUID, mac(d.SrcIP), 60+len(d.DstIP), d.SrcIP, d.DstIP, d.Proto, d.SrcPort, d.DstPort, d.Action, d.Enforced, session)
	}
	action := "Permit"
	severity := 6
	if d.Action == "DENY" {
		action, severity = "Deny", 1
	}
	return fmt.Appendf(nil, `%s%straffic_server[4410]: {"priority":"LOG_ALERT","action":%q,"reason":"POLICY","src":%q,"src_port":%d,"dest":%q,"dest_port":%d,"enforced":%t,"ids":false,"stage":"SNI","sni_hostname":%q,"decided_by":%q,"proto":"TCP","session_start":%d,"session_stage":"start","session_id":"%08x-0000-4000-8000-%012x","timestamp":%d}`,
		pri(severity), header, action, d.SrcIP, d.SrcPort, d.DstIP, d.DstPort, d.Enforced, d.SNI, d.RuleUUID, d.Time.UnixNano()+123456, uint32(session), session, d.Time.Unix())
}

// renderIDSVerdict is the L7 record of a flow whose IDS inspection
// matched a signature.
func renderIDSVerdict(d *Decision, session uint64, at time.Time, sid int) []byte {
	return fmt.Appendf(nil, `%s%s %s traffic_server[4410]: {"priority":"LOG_ALERT","action":"Permit","reason":"IDS_POLICY_ALERT","src":%q,"src_port":%d,"dest":%q,"dest_port":%d,"enforced":%t,"ids":true,"stage":"txn","sni_hostname":%q,"decided_by":%q,"proto":"TCP","session_start":%d,"session_time":2000000000,"session_stage":"end","session_id":"%08x-0000-4000-8000-%012x","request_bytes":517,"response_bytes":4210,"sid":"%d","timestamp":%d}`,
		pri(1), at.Format(time.Stamp), d.Gateway.Host(), d.SrcIP, d.SrcPort, d.DstIP, d.DstPort, d.Enforced, d.SNI, d.RuleUUID, d.Time.UnixNano()+123456, uint32(session), session, sid, at.Unix())
}

// renderEVEAlert is Suricata's EVE alert for the flow, as IDS-enabled
// gateways send it (local5, tag suricata).
func renderEVEAlert(d *Decision, session uint64, at time.Time, sid int, text, category string, severity int, blocked bool) []byte {
	action := "allowed"
	if blocked {
		action = "blocked"
	}
	return fmt.Appendf(nil, `<174>%s %s suricata[4]: {"timestamp":%q,"flow_id":%d,"event_type":"alert","src_ip":%q,"src_port":%d,"dest_ip":%q,"dest_port":%d,"proto":"TCP","app_proto":"tls","direction":"to_server","alert":{"action":%q,"gid":1,"signature_id":%d,"rev":7,"signature":%q,"category":%q,"severity":%d},"tls":{"sni":%q}}`,
		at.Format(time.Stamp), d.Gateway.Host(), at.UTC().Format("2006-01-02T15:04:05.000000-0700"), session%(1<<53), d.SrcIP, d.SrcPort, d.DstIP, d.DstPort,
		action, sid, text, category, severity, d.SNI)
}

func mac(ip string) string {
	var b [4]byte
	n := 0
	for i, v := 0, 0; i <= len(ip); i++ {
		if i == len(ip) || ip[i] == '.' {
			b[n], v, n = byte(v), 0, n+1
			continue
		}
		v = v*10 + int(ip[i]-'0')
	}
	return fmt.Sprintf("0e:aa:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// malformed is a line the collector cannot fully parse, in the shapes a
// real feed produces: a cut-off JSON body, a bad address, bytes that are
// not syslog at all.
func malformed(g Gateway, at time.Time, n int) []byte {
	header := at.Format(time.Stamp) + " " + g.Host() + " "
	switch n % 3 {
	case 0:
		return fmt.Appendf(nil, `%s%straffic_server[4410]: {"priority":"LOG_ALERT","action":"Deny","reason":"POLICY","src":"10.20.1.1`, pri(1), header)
	case 1:
		return fmt.Appendf(nil, "%s%s/usr/local/bin/avx-gw-state-sync %s AviatrixGwMicrosegPacket: POLICY=%s SRC_IP=10.20.1.300 DST_IP=10.30.4.20 PROTO=TCP SRC_PORT=40000 DST_PORT=22 ACT=DENY ENFORCED=true",
			pri(6), header, at.Format("2006/01/02 15:04:05"), ruleByName("deny-east-west").UUID)
	default:
		return []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
	}
}
