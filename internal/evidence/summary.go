package evidence

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	ttemplate "text/template"
	"time"
)

// threatMap is how the project's threat model maps each scenario (OWASP
// Top 10 for LLM Applications v1.1 and MITRE ATLAS); a rule's own tags from
// the policy catalog are listed beside it.
var threatMap = map[string]struct{ Story, OWASP, ATLAS string }{
	"default_deny":     {"Prompt-injection exfiltration, malicious skill or compromised runtime phoning home: stopped by the POST_RULES default deny", "LLM01 Prompt Injection; LLM05 Supply Chain Vulnerabilities", "AML.T0051 LLM Prompt Injection; AML.T0025 Exfiltration via Cyber Means"},
	"shadow_model":     {"Calls to unsanctioned model providers: stopped by the named shadow-model deny", "LLM08 Excessive Agency", "AML.T0048 External Harms"},
	"dns_exfiltration": {"DNS-tunnelled exfiltration: only the VPC resolver is allowed", "LLM06 Sensitive Information Disclosure", "AML.T0025 Exfiltration via Cyber Means"},
	"east_west":        {"Lateral movement to private networks and other workloads", "LLM08 Excessive Agency", ""},
}

var scenarioOrder = []string{"default_deny", "shadow_model", "dns_exfiltration", "east_west", "approved_model", "core", "packages",
	"os_updates", "saas", "mcp", "identity_telemetry", "public_reference", "infrastructure", "other"}

// example is one decision quoted in the summary.
type example struct {
	Time, Agent, Source, Destination, Rule, Mode string
}

type scenarioStats struct {
	Scenario                     string
	Story, OWASP, ATLAS          string
	Decisions, Blocked, WouldBe  int
	Permitted                    int
	First, Last                  int64
	Rules                        map[string]int
	Tags                         map[string]bool
	Examples                     []example
	FirstSeen, LastSeen, RuleSet string
	TagSet                       string
}

// Gap is a stretch in which a gateway that had been sending sent nothing.
type Gap struct {
	Gateway  string `json:"gateway"`
	From     string `json:"from"`
	To       string `json:"to"`
	Minutes  int    `json:"minutes"`
	AtTheEnd bool   `json:"until_range_end"`
}

// alertStats is what the range holds of one IDS signature.
type alertStats struct {
	SignatureID, Signature, Category string
	Severity                         uint8
	Alerts, Blocked                  int
	First, Last                      int64
	gateways                         map[string]bool
	// Verdicts counts the L7 IDS verdicts (IDS_POLICY_ALERT,
	// IPS_POLICY_DENY) with this signature id on the gateways that raised
	// the alerts: the DCF rules whose IDS inspection matched.
	Verdicts                                 int
	rules                                    map[string]int
	FirstSeen, LastSeen, GatewaySet, RuleSet string
}

// summary accumulates what summary.md and summary.html say, one decision
// at a time.
type summary struct {
	Filter    Filter
	Range     string
	Filters   string
	Decisions int // every exported row: policy decisions and IDS alerts
	// PolicyDecisions and Alerts split Decisions.
	PolicyDecisions int
	Alerts          int
	AlertsBlocked   int
	alerts          map[string]*alertStats
	// verdicts counts L7 IDS verdicts by gateway, signature id and rule.
	verdicts        map[[2]string]map[string]int
	AlertSignatures []*alertStats
	Blocked         int
	WouldBe         int
	Unparsed        int
	scenarios       map[string]*scenarioStats
	fired           map[string]bool
	catalogs        map[string]bool // versions the decisions carry
	Scenarios       []*scenarioStats
	NeverFired      []policyRule
	Gaps            []Gap
	GapMinutes      int
	Chains          []ChainIntegrity
	Verified        bool
	Unchained       int
	CatalogVers     []string
}

func newSummary(f Filter) *summary {
	return &summary{Filter: f, scenarios: map[string]*scenarioStats{}, fired: map[string]bool{}, catalogs: map[string]bool{},
		alerts: map[string]*alertStats{}, verdicts: map[[2]string]map[string]int{}}
}

const maxExamples = 3

func (s *summary) add(d *Decision) {
	s.Decisions++
	if d.Kind == "alert" {
		s.addAlert(d)
		return
	}
	s.PolicyDecisions++
	if d.SignatureID != "" {
		k := [2]string{d.Gateway, d.SignatureID}
		if s.verdicts[k] == nil {
			s.verdicts[k] = map[string]int{}
		}
		s.verdicts[k][firstNonEmpty(firstNonEmpty(d.RuleName, d.RuleUUID), "(no rule)")]++
	}
	name := d.Scenario
	if name == "" {
		name = "other"
	}
	st := s.scenarios[name]
	if st == nil {
		st = &scenarioStats{Scenario: name, First: d.EventTime, Rules: map[string]int{}, Tags: map[string]bool{}}
		st.Story, st.OWASP, st.ATLAS = threatMap[name].Story, threatMap[name].OWASP, threatMap[name].ATLAS
		s.scenarios[name] = st
	}
	st.Decisions++
	st.Last = d.EventTime
	rule := firstNonEmpty(firstNonEmpty(d.RuleName, d.RuleUUID), "(no rule)")
	st.Rules[rule]++
	s.fired[d.RuleUUID] = true
	s.catalogs[d.CatalogVersion] = true
	for _, t := range d.RuleTags {
		st.Tags[t] = true
	}
	mode := "permitted"
	switch {
	case d.Action == "DENY" && d.Enforced != nil && *d.Enforced:
		st.Blocked++
		s.Blocked++
		mode = "blocked"
	case d.Action == "DENY":
		st.WouldBe++
		s.WouldBe++
		mode = "monitor (would be denied)"
	default:
		st.Permitted++
	}
	if len(st.Examples) < maxExamples && (d.Action == "DENY" || threatMap[name].Story == "") {
		agent := ""
		if len(d.SrcGroups) > 0 {
			agent = d.SrcGroups[0]
		}
		dest := firstNonEmpty(d.SNI, d.DstIP)
		st.Examples = append(st.Examples, example{Time: millisUTC(d.EventTime), Agent: agent, Source: d.SrcIP,
			Destination: fmt.Sprintf("%s:%d", dest, d.DstPort), Rule: rule, Mode: mode})
	}
}

// addAlert counts an IDS alert under its signature.
func (s *summary) addAlert(d *Decision) {
	s.Alerts++
	a := s.alerts[d.SignatureID]
	if a == nil {
		// An alert cut short before its signature still counts, apart.
		a = &alertStats{SignatureID: firstNonEmpty(d.SignatureID, "(none)"), First: d.EventTime, gateways: map[string]bool{}, rules: map[string]int{}}
		s.alerts[d.SignatureID] = a
	}
	a.Alerts++
	a.Last = d.EventTime
	a.Signature, a.Category = firstNonEmpty(d.AlertSignature, a.Signature), firstNonEmpty(d.AlertCategory, a.Category)
	if d.AlertSeverity != 0 && (a.Severity == 0 || d.AlertSeverity < a.Severity) {
		a.Severity = d.AlertSeverity
	}
	if d.Action == "DENY" {
		a.Blocked++
		s.AlertsBlocked++
	}
	a.gateways[d.Gateway] = true
}

// linkAlerts joins each signature's alerts to the L7 IDS verdicts that
// carry its id on the same gateways, and orders the signatures by alerts.
func (s *summary) linkAlerts() {
	for _, a := range s.alerts {
		var gws []string
		for gw := range a.gateways {
			gws = append(gws, gw)
			for rule, n := range s.verdicts[[2]string{gw, a.SignatureID}] {
				a.Verdicts += n
				a.rules[rule] += n
			}
		}
		slices.Sort(gws)
		a.GatewaySet = strings.Join(gws, ", ")
		a.RuleSet = countedSet(a.rules)
		a.FirstSeen, a.LastSeen = millisUTC(a.First), millisUTC(a.Last)
		s.AlertSignatures = append(s.AlertSignatures, a)
	}
	slices.SortFunc(s.AlertSignatures, func(x, y *alertStats) int {
		if x.Alerts != y.Alerts {
			return y.Alerts - x.Alerts
		}
		return strings.Compare(x.SignatureID, y.SignatureID)
	})
}

// countedSet renders "name (n), ..." in name order.
func countedSet(m map[string]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s (%d)", k, n))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// finish orders what was gathered for the templates.
func (s *summary) finish(rules []policyRule, gaps []Gap, chains []ChainIntegrity, versions []string) {
	s.Range = s.Filter.From.UTC().Format(time.RFC3339) + " to " + s.Filter.To.UTC().Format(time.RFC3339)
	var fs []string
	for _, kv := range [][2]string{{"agent", s.Filter.Agent}, {"rule", s.Filter.Rule}, {"scenario", s.Filter.Scenario}, {"gateway", s.Filter.Gateway}} {
		if kv[1] != "" {
			fs = append(fs, kv[0]+" = "+kv[1])
		}
	}
	s.Filters = strings.Join(fs, ", ")
	for _, name := range scenarioOrder {
		if st := s.scenarios[name]; st != nil {
			s.Scenarios = append(s.Scenarios, st)
		}
	}
	for name, st := range s.scenarios {
		if !slices.Contains(scenarioOrder, name) {
			s.Scenarios = append(s.Scenarios, st)
		}
	}
	s.linkAlerts()
	for _, st := range s.Scenarios {
		st.FirstSeen, st.LastSeen = millisUTC(st.First), millisUTC(st.Last)
		st.RuleSet = countedSet(st.Rules)
		var ts []string
		for t := range st.Tags {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		st.TagSet = strings.Join(ts, ", ")
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if !s.fired[r.RuleUUID] && !seen[r.RuleUUID] {
			seen[r.RuleUUID] = true
			s.NeverFired = append(s.NeverFired, r)
		}
	}
	s.Gaps = gaps
	for _, g := range gaps {
		s.GapMinutes += g.Minutes
	}
	s.Chains = chains
	s.Verified = true
	for _, c := range chains {
		s.Verified = s.Verified && c.Verified
	}
	s.CatalogVers = versions
}

var funcs = map[string]any{"md": func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }}

const summaryMD = `# Containment evidence

- Range: {{.Range}} (gateway event time){{if .Filters}}
- Selected: {{.Filters}}{{end}}
- Decisions: {{.PolicyDecisions}}; blocked (DENY, enforced): {{.Blocked}}; would be denied (DENY, monitor mode): {{.WouldBe}}{{if not .Filters}}; lines that did not parse: {{.Unparsed}}{{end}}
- IDS alerts: {{.Alerts}}; blocked by IPS: {{.AlertsBlocked}}
- Policy catalog versions in force: {{range $i, $v := .CatalogVers}}{{if $i}}, {{end}}{{$v}}{{else}}none recorded{{end}}
- Ingest hash chain: {{if .Verified}}verified{{else}}**NOT verified** (see integrity.json){{end}}

## Threat scenarios

| scenario | decisions | blocked | would be denied | permitted | first seen | last seen | OWASP LLM | MITRE ATLAS | rules (decisions) | rule tags |
|---|---|---|---|---|---|---|---|---|---|---|
{{range .Scenarios}}| {{.Scenario}} | {{.Decisions}} | {{.Blocked}} | {{.WouldBe}} | {{.Permitted}} | {{.FirstSeen}} | {{.LastSeen}} | {{.OWASP}} | {{.ATLAS}} | {{md .RuleSet}} | {{.TagSet}} |
{{end}}
{{range .Scenarios}}{{if .Examples}}### {{.Scenario}}
{{if .Story}}
{{.Story}}.
{{end}}
| time | agent | source | destination | rule | outcome |
|---|---|---|---|---|---|
{{range .Examples}}| {{.Time}} | {{.Agent}} | {{.Source}} | {{md .Destination}} | {{md .Rule}} | {{.Mode}} |
{{end}}
{{end}}{{end}}## IDS alerts

{{if .AlertSignatures}}Suricata alerts by signature; L7 verdicts are the gateways' IDS/IPS decisions that carry the same signature id, with the DCF rules whose inspection matched.

| signature id | signature | category | severity | alerts | blocked | gateways | first seen | last seen | L7 verdicts | rules (verdicts) |
|---|---|---|---|---|---|---|---|---|---|---|
{{range .AlertSignatures}}| {{.SignatureID}} | {{md .Signature}} | {{md .Category}} | {{.Severity}} | {{.Alerts}} | {{.Blocked}} | {{.GatewaySet}} | {{.FirstSeen}} | {{.LastSeen}} | {{.Verdicts}} | {{md .RuleSet}} |
{{end}}{{else}}No IDS alert in the range.
{{end}}
## Rules that never fired

{{if .NeverFired}}| priority | rule | action | scenario | catalog version |
|---|---|---|---|---|
{{range .NeverFired}}| {{.Priority}} | {{md .RuleName}} | {{.Action}} | {{.Scenario}} | {{.CatalogVersion}} |
{{end}}{{else}}Every rule of the catalog versions in force logged a decision.
{{end}}
## Gaps in ingestion

{{if .Gaps}}Stretches of at least the gap threshold in which a gateway that had been sending sent nothing ({{.GapMinutes}} minutes in all):

| gateway | from | to | minutes |
|---|---|---|---|
{{range .Gaps}}| {{.Gateway}} | {{.From}} | {{.To}}{{if .AtTheEnd}} (range end){{end}} | {{.Minutes}} |
{{end}}{{else}}No gateway fell silent in the range.
{{end}}
## Integrity

| chain | batches | rows | first batch | last batch | verified |
|---|---|---|---|---|---|
{{range .Chains}}| {{.ChainID}} | {{.Batches}} | {{.Rows}} | {{.FirstSeq}} | {{.LastSeq}} | {{if .Verified}}yes{{else}}no: {{index .Problems 0}}{{end}} |
{{end}}{{if .Unchained}}
{{.Unchained}} batches hold exported rows but are in no chain (removed from ingest_batches?).
{{end}}`

var (
	mdTemplate   = ttemplate.Must(ttemplate.New("md").Funcs(funcs).Parse(summaryMD))
	htmlTemplate = template.Must(template.New("html").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Containment evidence {{.Range}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eee}.bad{color:#b00;font-weight:bold}</style>
</head><body>
<h1>Containment evidence</h1>
<ul>
<li>Range: {{.Range}} (gateway event time)</li>{{if .Filters}}
<li>Selected: {{.Filters}}</li>{{end}}
<li>Decisions: {{.PolicyDecisions}}; blocked (DENY, enforced): {{.Blocked}}; would be denied (DENY, monitor mode): {{.WouldBe}}{{if not .Filters}}; lines that did not parse: {{.Unparsed}}{{end}}</li>
<li>IDS alerts: {{.Alerts}}; blocked by IPS: {{.AlertsBlocked}}</li>
<li>Policy catalog versions in force: {{range $i, $v := .CatalogVers}}{{if $i}}, {{end}}{{$v}}{{else}}none recorded{{end}}</li>
<li>Ingest hash chain: {{if .Verified}}verified{{else}}<span class="bad">NOT verified</span> (see integrity.json){{end}}</li>
</ul>
<h2>Threat scenarios</h2>
<table><tr><th>scenario</th><th>decisions</th><th>blocked</th><th>would be denied</th><th>permitted</th><th>first seen</th><th>last seen</th><th>OWASP LLM</th><th>MITRE ATLAS</th><th>rules (decisions)</th><th>rule tags</th></tr>
{{range .Scenarios}}<tr><td>{{.Scenario}}</td><td>{{.Decisions}}</td><td>{{.Blocked}}</td><td>{{.WouldBe}}</td><td>{{.Permitted}}</td><td>{{.FirstSeen}}</td><td>{{.LastSeen}}</td><td>{{.OWASP}}</td><td>{{.ATLAS}}</td><td>{{.RuleSet}}</td><td>{{.TagSet}}</td></tr>
{{end}}</table>
{{range .Scenarios}}{{if .Examples}}<h3>{{.Scenario}}</h3>{{if .Story}}<p>{{.Story}}.</p>{{end}}
<table><tr><th>time</th><th>agent</th><th>source</th><th>destination</th><th>rule</th><th>outcome</th></tr>
{{range .Examples}}<tr><td>{{.Time}}</td><td>{{.Agent}}</td><td>{{.Source}}</td><td>{{.Destination}}</td><td>{{.Rule}}</td><td>{{.Mode}}</td></tr>
{{end}}</table>
{{end}}{{end}}<h2>IDS alerts</h2>
{{if .AlertSignatures}}<p>Suricata alerts by signature; L7 verdicts are the gateways' IDS/IPS decisions that carry the same signature id, with the DCF rules whose inspection matched.</p>
<table><tr><th>signature id</th><th>signature</th><th>category</th><th>severity</th><th>alerts</th><th>blocked</th><th>gateways</th><th>first seen</th><th>last seen</th><th>L7 verdicts</th><th>rules (verdicts)</th></tr>
{{range .AlertSignatures}}<tr><td>{{.SignatureID}}</td><td>{{.Signature}}</td><td>{{.Category}}</td><td>{{.Severity}}</td><td>{{.Alerts}}</td><td>{{.Blocked}}</td><td>{{.GatewaySet}}</td><td>{{.FirstSeen}}</td><td>{{.LastSeen}}</td><td>{{.Verdicts}}</td><td>{{.RuleSet}}</td></tr>
{{end}}</table>{{else}}<p>No IDS alert in the range.</p>{{end}}
<h2>Rules that never fired</h2>
{{if .NeverFired}}<table><tr><th>priority</th><th>rule</th><th>action</th><th>scenario</th><th>catalog version</th></tr>
{{range .NeverFired}}<tr><td>{{.Priority}}</td><td>{{.RuleName}}</td><td>{{.Action}}</td><td>{{.Scenario}}</td><td>{{.CatalogVersion}}</td></tr>
{{end}}</table>{{else}}<p>Every rule of the catalog versions in force logged a decision.</p>{{end}}
<h2>Gaps in ingestion</h2>
{{if .Gaps}}<p>Stretches in which a gateway that had been sending sent nothing ({{.GapMinutes}} minutes in all):</p>
<table><tr><th>gateway</th><th>from</th><th>to</th><th>minutes</th></tr>
{{range .Gaps}}<tr><td>{{.Gateway}}</td><td>{{.From}}</td><td>{{.To}}{{if .AtTheEnd}} (range end){{end}}</td><td>{{.Minutes}}</td></tr>
{{end}}</table>{{else}}<p>No gateway fell silent in the range.</p>{{end}}
<h2>Integrity</h2>
<table><tr><th>chain</th><th>batches</th><th>rows</th><th>first batch</th><th>last batch</th><th>verified</th></tr>
{{range .Chains}}<tr><td>{{.ChainID}}</td><td>{{.Batches}}</td><td>{{.Rows}}</td><td>{{.FirstSeq}}</td><td>{{.LastSeq}}</td><td>{{if .Verified}}yes{{else}}<span class="bad">no: {{index .Problems 0}}</span>{{end}}</td></tr>
{{end}}</table>
</body></html>
`))
)

func (s *summary) writeMarkdown(w io.Writer) error { return mdTemplate.Execute(w, s) }
func (s *summary) writeHTML(w io.Writer) error     { return htmlTemplate.Execute(w, s) }
