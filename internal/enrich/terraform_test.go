package enrich

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestTerraformCatalogs loads the policy catalogs the Terraform stack
// produces for every agent class and mode, and for the coding agent as
// Kubernetes pods (terraform/testdata, kept in step by `make -C terraform
// preflight`), and checks the decisions the seed's validation table
// expects against them.
func TestTerraformCatalogs(t *testing.T) {
	files, _ := filepath.Glob("../../terraform/testdata/catalog-*.json")
	if len(files) != 11 {
		t.Fatalf("want 11 catalogs (5 agent classes × 2 modes, and Kubernetes coding agents), found %d", len(files))
	}
	workloads := map[string]string{
		"catalog-kubernetes-coding-monitor.json": "k8s:arn:aws:eks:us-east-1:123456789012:cluster/agents/coding-agents",
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ix, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c := ix.Catalog
			if c.LogProfile == nil || c.LogProfile.Name != "start/end" {
				t.Errorf("log profile %+v, want start/end", c.LogProfile)
			}
			if c.Rules[0].Name != "vca-openclaw-shadow-model-deny" || c.Rules[0].Priority != 10 {
				t.Fatalf("first rule %+v", c.Rules[0])
			}
			// Rules have no UUIDs before the controller assigns them: the
			// decisions are checked by name through a catalog copy that
			// gives each rule a UUID, as the controller source would.
			withIDs := *c
			withIDs.Rules = slices.Clone(c.Rules)
			for i := range withIDs.Rules {
				withIDs.Rules[i].UUID = fakeUUID(i)
			}
			ix2 := compile(&withIDs, nil)
			uuidOf := func(name string) string {
				for i, r := range withIDs.Rules {
					if r.Name == name {
						return fakeUUID(i)
					}
				}
				t.Fatalf("no rule %s", name)
				return ""
			}
			enforced := c.Mode == "enforce"
			for _, tc := range []struct {
				name, rule, sni, dst, proto string
				port                        int
				act, scenario               string
			}{
				{"allowed model call", "allow-model-gateways", "integrate.api.nvidia.com", "", "", 0, "Permit", "approved_model"},
				{"core endpoints", "allow-core", "docs.openclaw.ai", "", "", 0, "Permit", "core"},
				{"shadow model blocked", "vca-openclaw-shadow-model-deny", "api.openai.com", "", "", 0, "Deny", "shadow_model"},
				{"attacker domain blocked", "", "exfil.attacker.example", "", "", 0, "Deny", "default_deny"},
				{"external DNS over UDP blocked", "deny-dns-exfil-udp", "", "8.8.8.8", "UDP", 53, "DENY", "dns_exfiltration"},
				{"external DNS over TCP blocked", "deny-dns-exfil-tcp", "", "1.1.1.1", "TCP", 53, "DENY", "dns_exfiltration"},
				{"VPC resolver works", "allow-vpc-dns-udp", "", "10.20.0.2", "UDP", 53, "PERMIT", "infrastructure"},
				{"east-west blocked", "deny-eastwest", "", "10.30.0.9", "TCP", 22, "DENY", "east_west"},
			} {
				rule := DefaultRuleUUID
				if tc.rule != "" {
					rule = uuidOf(tc.rule)
				}
				ev := l4(rule, "10.20.1.15", tc.dst, tc.proto, tc.port, tc.act, enforced)
				if tc.sni != "" {
					ev = l7(rule, "10.20.1.15", tc.sni, tc.act, enforced)
				}
				ix2.Enrich(ev, &Outcome{})
				x := ev.Enriched
				wantName := tc.rule
				if wantName == "" {
					wantName = DefaultRuleName
				}
				if x.RuleName != wantName || x.Scenario != tc.scenario || !slices.Contains(x.SrcGroups, "sg-vca-openclaw-agents") {
					t.Errorf("%s: rule %q scenario %q src %v", tc.name, x.RuleName, x.Scenario, x.SrcGroups)
				}
				if want := workloads[filepath.Base(f)]; x.SrcWorkload != want {
					t.Errorf("%s: source workload %q, want %q", tc.name, x.SrcWorkload, want)
				}
				if denied := tc.act == "Deny" || tc.act == "DENY"; x.WouldBeDenied != (denied && !enforced) {
					t.Errorf("%s: would_be_denied %v in %s mode", tc.name, x.WouldBeDenied, c.Mode)
				}
			}
		})
	}
}

func fakeUUID(i int) string {
	return "aaaaaaaa-0000-4000-8000-" + fmt.Sprintf("%012d", i)
}
