// Package gatewaysim writes the syslog that Aviatrix spoke gateways send for
// a fleet of contained agents: every scenario of the ordered DCF policy, in
// enforce and in monitor mode, with the policy catalog that names it. The
// demo, the dashboard tests and the evidence tests all read the same
// traffic, and every line comes with the decision it encodes so a test can
// compute what ClickHouse must answer.
package gatewaysim

import (
	"encoding/json"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
)

// Agent SmartGroups of the simulated fleet.
const (
	OpenClaw = "sg-openclaw-agents"
	NemoClaw = "sg-nemoclaw-agents"
	Hermes   = "sg-hermes-agents"
)

// CatalogVersion is the simulated catalog's version.
const CatalogVersion = "sim-2026.11"

var allAgents = []string{OpenClaw, NemoClaw, Hermes}

// rule is one catalog rule plus what the simulator sends through it.
type rule struct {
	enrich.Rule
	webGroup string // the rule's WebGroup, if it is an L7 rule
}

func tags(owasp, atlas string) (o, a []string) {
	if owasp != "" {
		o = []string{owasp}
	}
	if atlas != "" {
		a = []string{atlas}
	}
	return o, a
}

func newRule(prio uint32, name, uuid, action, proto string, ports []string, src, dst []string, web, scenario, owasp, atlas string) rule {
	r := rule{Rule: enrich.Rule{Name: name, UUID: uuid, Priority: prio, Action: action, Protocol: proto, Ports: ports,
		SrcSmartGroups: src, DstSmartGroups: dst, Logging: true, Scenario: scenario}, webGroup: web}
	if web != "" {
		r.WebGroups = []string{web}
	}
	r.OWASPLLM, r.MITREATLAS = tags(owasp, atlas)
	return r
}

var https = []string{"443"}

// rules is the policy in evaluation order. deny-cloud-metadata and
// deny-dns-exfil-tcp never fire in the simulated traffic: they are what the
// "rules that never fired" panels must list.
var rules = []rule{
	newRule(10, "deny-shadow-models", "5a000000-0000-4000-8000-000000000010", "DENY", "TCP", https, allAgents, nil, "wg-unapproved-model-providers", "shadow_model", "LLM08", "AML.T0048"),
	newRule(15, "deny-cloud-metadata", "5a000000-0000-4000-8000-000000000015", "DENY", "ANY", nil, allAgents, []string{"sg-instance-metadata"}, "", "east_west", "LLM06", "AML.T0051"),
	newRule(18, "allow-vpc-dns", "5a000000-0000-4000-8000-000000000018", "PERMIT", "UDP", []string{"53"}, allAgents, []string{"sg-vpc-dns-resolvers"}, "", "infrastructure", "", ""),
	newRule(20, "deny-dns-exfil-udp", "5a000000-0000-4000-8000-000000000020", "DENY", "UDP", []string{"53"}, allAgents, nil, "", "dns_exfiltration", "LLM02", "AML.T0025"),
	newRule(21, "deny-dns-exfil-tcp", "5a000000-0000-4000-8000-000000000021", "DENY", "TCP", []string{"53"}, allAgents, nil, "", "dns_exfiltration", "LLM02", "AML.T0025"),
	newRule(30, "allow-aws-infra", "5a000000-0000-4000-8000-000000000030", "PERMIT", "TCP", https, allAgents, nil, "wg-aws-infra", "infrastructure", "", ""),
	newRule(40, "allow-model-gateways", "5a000000-0000-4000-8000-000000000040", "PERMIT", "TCP", https, allAgents, nil, "wg-approved-model-gateways", "approved_model", "", ""),
	newRule(50, "allow-openclaw-core", "5a000000-0000-4000-8000-000000000050", "PERMIT", "TCP", https, []string{OpenClaw, NemoClaw}, nil, "wg-openclaw-core", "core", "", ""),
	newRule(60, "allow-packages", "5a000000-0000-4000-8000-000000000060", "PERMIT", "TCP", https, []string{OpenClaw, NemoClaw}, nil, "wg-package-registries", "packages", "LLM03", "AML.T0010"),
	newRule(65, "allow-os-updates", "5a000000-0000-4000-8000-000000000065", "PERMIT", "TCP", []string{"80", "443"}, allAgents, nil, "wg-os-updates", "os_updates", "", ""),
	newRule(70, "allow-saas", "5a000000-0000-4000-8000-000000000070", "PERMIT", "TCP", https, []string{OpenClaw, Hermes}, nil, "wg-saas", "saas", "", ""),
	newRule(75, "allow-mcp", "5a000000-0000-4000-8000-000000000075", "PERMIT", "TCP", https, []string{OpenClaw, Hermes}, nil, "wg-mcp-servers", "mcp", "LLM06", ""),
	newRule(80, "allow-identity-telemetry", "5a000000-0000-4000-8000-000000000080", "PERMIT", "TCP", https, allAgents, nil, "wg-identity-telemetry", "identity_telemetry", "", ""),
	newRule(85, "allow-public-reference", "5a000000-0000-4000-8000-000000000085", "PERMIT", "TCP", https, []string{OpenClaw, NemoClaw}, nil, "wg-public-reference", "public_reference", "", ""),
	newRule(90, "deny-east-west", "5a000000-0000-4000-8000-000000000090", "DENY", "ANY", nil, allAgents, []string{"sg-east-west-deny"}, "", "east_west", "LLM06", "AML.T0051"),
}

// webGroups holds each WebGroup's domains; the first domains are the ones
// agents reach most.
var webGroups = []enrich.WebGroup{
	{Name: "wg-unapproved-model-providers", Category: "shadow_model", Domains: []string{"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai"}},
	{Name: "wg-aws-infra", Category: "infrastructure", Domains: []string{"ssm.us-east-1.amazonaws.com", "ssmmessages.us-east-1.amazonaws.com", "ec2messages.us-east-1.amazonaws.com"}},
	{Name: "wg-approved-model-gateways", Category: "approved_model", Domains: []string{"integrate.api.nvidia.com", "inference-api.nvidia.com", "bedrock-runtime.us-east-1.amazonaws.com"}},
	{Name: "wg-openclaw-core", Category: "core", Domains: []string{"openclaw.ai", "docs.openclaw.ai", "hub.openclaw.ai"}},
	{Name: "wg-package-registries", Category: "packages", Domains: []string{"registry.npmjs.org", "pypi.org", "files.pythonhosted.org", "proxy.golang.org"}},
	{Name: "wg-os-updates", Category: "os_updates", Domains: []string{"al2023-repos-us-east-1-de612dc2.s3.dualstack.us-east-1.amazonaws.com", "deb.debian.org"}},
	{Name: "wg-saas", Category: "saas", Domains: []string{"github.com", "api.github.com", "*.slack.com"}},
	{Name: "wg-mcp-servers", Category: "mcp", Domains: []string{"mcp.notion.com", "mcp.linear.app", "mcp.atlassian.com"}},
	{Name: "wg-identity-telemetry", Category: "identity_telemetry", Domains: []string{"login.microsoftonline.com", "o4507.ingest.sentry.io", "http-intake.logs.datadoghq.com"}},
	{Name: "wg-public-reference", Category: "public_reference", Domains: []string{"docs.python.org", "en.wikipedia.org", "pkg.go.dev"}},
}

// agentIPs are the members of each agent SmartGroup.
var agentIPs = map[string][]string{
	OpenClaw: {"10.20.1.10", "10.20.1.11", "10.20.1.12", "10.20.1.13", "10.20.1.14", "10.20.1.15"},
	NemoClaw: {"10.20.2.10", "10.20.2.11", "10.20.2.12"},
	Hermes:   {"10.40.1.10", "10.40.1.11", "10.40.1.12", "10.40.1.13"},
}

// Catalog is the policy catalog the simulated gateways enforce, as
// terraform output -json policy_catalog would give it.
func Catalog() enrich.Catalog {
	c := enrich.Catalog{
		Format: "openclaw-vca/policy-catalog", FormatVersion: 1, Version: CatalogVersion,
		GeneratedBy: "gatewaysim", Mode: "enforce", AgentClass: "custom",
		DefaultAction: &enrich.DefaultAction{Action: "DENY", Logging: true},
		WebGroups:     webGroups,
		SmartGroups: []enrich.SmartGroup{
			{Name: "sg-vpc-dns-resolvers", CIDRs: []string{"10.20.0.2/32", "10.40.0.2/32"}},
			{Name: "sg-instance-metadata", CIDRs: []string{"169.254.169.254/32"}},
			{Name: "sg-east-west-deny", CIDRs: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"}},
			{Name: "sg-agent-vpcs", CIDRs: []string{"10.20.0.0/16", "10.40.0.0/16"}},
		},
	}
	for _, g := range allAgents {
		c.SmartGroups = append(c.SmartGroups, enrich.SmartGroup{Name: g, MemberIPs: agentIPs[g],
			Tags: map[string]string{"Role": g[3:len(g)-len("-agents")] + "-agent-harness"}})
	}
	for _, r := range rules {
		c.Rules = append(c.Rules, r.Rule)
	}
	return c
}

// CatalogJSON is Catalog as the collector's catalog file.
func CatalogJSON() []byte {
	b, err := json.MarshalIndent(Catalog(), "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
