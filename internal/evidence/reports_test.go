package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
)

// firstDecision is the first simulated decision that matches.
func firstDecision(t *testing.T, ds *gatewaysim.Dataset, match func(*gatewaysim.Decision) bool) *gatewaysim.Decision {
	t.Helper()
	for _, d := range ds.Decisions {
		if d != nil && match(d) {
			return d
		}
	}
	t.Fatal("the simulated traffic has no such decision")
	return nil
}

// TestVerifyScenarios turns simulated decisions into the lines
// verify-egress.sh would print on the agent host, and checks that each is
// found with the right rule, and that a wrong rule, a destination never
// contacted and a probe outside the window are reported.
func TestVerifyScenarios(t *testing.T) {
	src, ds := seeded(t)
	enforce, monitor := gatewaysim.Gateways[0], gatewaysim.Gateways[1]
	line := func(check string, d *gatewaysim.Decision, dest, expected, rule string) string {
		mode := "enforce"
		if !d.Enforced {
			mode = "monitor"
		}
		return fmt.Sprintf(`{"check":%q,"destination":%q,"mode":%q,"expected":%q,"observed":%q,"rule":%q,"attempts":1,"pass":true,"time":%q,"source":%q}`,
			check, dest, mode, expected, expected, rule, d.Time.Add(3*time.Second).Format(time.RFC3339), d.SrcIP)
	}
	shadow := firstDecision(t, ds, func(d *gatewaysim.Decision) bool {
		return d.Scenario == "shadow_model" && d.Gateway.Name == enforce.Name
	})
	model := firstDecision(t, ds, func(d *gatewaysim.Decision) bool { return d.Scenario == "approved_model" })
	dns := firstDecision(t, ds, func(d *gatewaysim.Decision) bool {
		return d.Scenario == "dns_exfiltration" && d.Gateway.Name == monitor.Name
	})
	exfil := firstDecision(t, ds, func(d *gatewaysim.Decision) bool {
		return d.Scenario == "default_deny" && d.Kind == "l7" && d.AdmittingWebGroup == "" && d.Gateway.Name == enforce.Name
	})
	resolver := firstDecision(t, ds, func(d *gatewaysim.Decision) bool { return d.RuleName == "allow-vpc-dns" })
	good := strings.Join([]string{
		line("shadow_model_blocked", shadow, "https://"+shadow.SNI+"/", "blocked", "deny-shadow-models"),
		line("allowed_model_call", model, "https://"+model.SNI+"/v1/models", "reachable", "allow-model-gateways"),
		line("external_dns_udp_blocked", dns, dns.DstIP+":53", "resolves", "deny-dns-exfil-udp"),
		line("attacker_domain_blocked", exfil, "https://"+exfil.SNI+"/", "blocked", "POST_RULES default"),
		line("vpc_resolver_works", resolver, resolver.DstIP, "resolves", "allow-vpc-dns"),
		line("monitor_to_enforce_new_destination", model, "https://"+model.SNI+"/", "reachable", anyAllowRule),
	}, "\n")
	checks, err := ReadScenarioChecks(strings.NewReader(good + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyScenarios(context.Background(), src, checks, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	if rep.Failed != 0 || rep.Passed != len(checks) {
		t.Fatalf("checks that match the data failed:\n%s", table.String())
	}
	t.Logf("\n%s", table.String())

	bad := strings.Join([]string{
		line("shadow_model_blocked", shadow, "https://"+shadow.SNI+"/", "blocked", "vca-openclaw-shadow-model-deny"), // another rule name
		line("core_endpoints", model, "https://never-contacted.example/", "reachable", "allow-core"),
		strings.Replace(line("allowed_model_call", model, "https://"+model.SNI+"/", "reachable", "allow-model-gateways"),
			model.Time.Add(3*time.Second).Format(time.RFC3339), model.Time.Add(time.Hour).Format(time.RFC3339), 1), // outside the window
	}, "\n")
	checks, err = ReadScenarioChecks(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyScenarios(context.Background(), src, checks, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 3 {
		table.Reset()
		rep.WriteTable(&table)
		t.Fatalf("%d of 3 wrong checks failed:\n%s", rep.Failed, table.String())
	}
	for i, want := range []string{"another rule", "no decision for never-contacted.example", "no decision"} {
		if !strings.Contains(rep.Checks[i].Reason, want) {
			t.Errorf("check %s: reason %q, want %q", rep.Checks[i].Check, rep.Checks[i].Reason, want)
		}
	}
	if _, err := ReadScenarioChecks(strings.NewReader("+ curl -s https://x\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a stray line: %v", err)
	}
}

// TestPromote finds what the default deny would block for the monitor-mode
// agents, suggests the allow-lists, and writes the tfvars patch that
// terraform/tools/check.sh feeds to the dcf-policy module and the stack
// (terraform/testdata/promote-coding.tfvars; UPDATE_GOLDEN=1 rewrites it).
func TestPromote(t *testing.T) {
	src, _ := seeded(t)
	ix, err := enrich.LoadFile("../../terraform/testdata/catalog-coding-monitor.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Promote(context.Background(), src, Filter{From: simStart, To: simEnd}, ix.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	byDomain := map[string]Candidate{}
	for _, c := range p.Candidates {
		byDomain[c.Domain] = c
		if len(c.Agents) != 1 || c.Agents[0] != gatewaysim.Hermes {
			t.Errorf("%s: agents %v, want only the monitor-mode %s", c.Domain, c.Agents, gatewaysim.Hermes)
		}
	}
	for domain, want := range map[string]string{"pypi.org": "packages", "openclaw.ai": "core", "wikipedia.org": "public_reference",
		"pastebin.com": "investigate", "webhook.site": "investigate", "huggingface.co": "investigate", "jsdelivr.net": "packages"} {
		if got := byDomain[domain].Category; got != want {
			t.Errorf("%s: suggested %q, want %q", domain, got, want)
		}
	}
	if _, ok := byDomain["openai.com"]; ok {
		t.Error("a shadow-model name (a named deny) is a promotion candidate")
	}
	if len(p.NamedDeny) == 0 || len(p.Addresses) == 0 {
		t.Errorf("named denies %v, address-only destinations %v", p.NamedDeny, p.Addresses)
	}
	var patch bytes.Buffer
	if _, err := p.WriteTFVars(&patch, ix.Catalog, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"enable_package_installs = true", `"pypi.org",`, `"registry.npmjs.org",`, "openclaw_core_domains = ["} {
		if !strings.Contains(patch.String(), want) {
			t.Errorf("patch lacks %s:\n%s", want, patch.String())
		}
	}
	if strings.Contains(patch.String(), "pastebin") {
		t.Error("the patch admits an exfiltration endpoint")
	}
	golden.Check(t, "../../terraform/testdata/promote-coding.tfvars", patch.Bytes())
	var accepted bytes.Buffer
	n, _ := p.WriteTFVars(&accepted, ix.Catalog, []string{"pypi.org"})
	if n != 1 || strings.Contains(accepted.String(), "openclaw_core_domains") {
		t.Errorf("--accept pypi.org added %d domains:\n%s", n, accepted.String())
	}
	b, _ := json.Marshal(p)
	if !bytes.Contains(b, []byte(`"category":"packages"`)) {
		t.Error("JSON report lacks categories")
	}
}
