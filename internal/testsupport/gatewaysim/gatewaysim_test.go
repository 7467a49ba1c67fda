package gatewaysim

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// TestLinesDecodeToTheirDecisions parses and enriches every simulated line
// with the simulated catalog, as the collector would, and checks that the
// event says what the simulator meant.
func TestLinesDecodeToTheirDecisions(t *testing.T) {
	ix, err := enrich.Load(CatalogJSON())
	if err != nil {
		t.Fatalf("the simulated catalog does not load: %v", err)
	}
	p := parse.NewParser(parse.Options{})
	start := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC) // crosses a day
	scenarios := map[string]int{}
	var malformed, monitor int
	var out enrich.Outcome
	err = Generate(Options{Start: start, Duration: 2 * time.Hour, Seed: 7, MalformedEvery: 100}, func(l Line) error {
		var ev parse.Event
		ev.ReceivedAt = l.Time.Add(300 * time.Millisecond)
		p.Parse(l.Text, &ev)
		ix.Enrich(&ev, &out)
		d := l.Decision
		if d == nil {
			malformed++
			if ev.Status == parse.StatusOK {
				t.Errorf("malformed line parsed cleanly: %q", l.Text)
			}
			return nil
		}
		if ev.Status != parse.StatusOK {
			t.Fatalf("%q: status %v, %v", l.Text, ev.Status, ev.Reason)
		}
		x := ev.Enriched
		action := map[parse.Action]string{parse.ActionPermit: "PERMIT", parse.ActionDeny: "DENY"}[ev.Action]
		got := []string{ev.Kind.String(), x.RuleName, x.Scenario, action, ev.SrcIP.String(), string(ev.SNI), string(ev.Gateway), x.AdmittingWebGroup}
		want := []string{d.Kind, d.RuleName, d.Scenario, d.Action, d.SrcIP, d.SNI, d.Gateway.Name, d.AdmittingWebGroup}
		if !slices.Equal(got, want) {
			t.Fatalf("%q\n got %q\nwant %q", l.Text, got, want)
		}
		if len(x.SrcGroups) == 0 || x.SrcGroups[0] != d.Agent {
			t.Fatalf("%q: source groups %q, want %s first", l.Text, x.SrcGroups, d.Agent)
		}
		if !ev.EventTime.Equal(d.Time) || ev.Enforced != d.Enforced || x.WouldBeDenied != d.WouldBeDenied() {
			t.Fatalf("%q: time %v enforced %v would-be-denied %v; want %v %v %v", l.Text, ev.EventTime, ev.Enforced, x.WouldBeDenied, d.Time, d.Enforced, d.WouldBeDenied())
		}
		if d.WebGroup != "" && x.WebGroup != d.WebGroup {
			t.Fatalf("%q: WebGroup %q, want %q", l.Text, x.WebGroup, d.WebGroup)
		}
		scenarios[d.Scenario]++
		if !d.Enforced {
			monitor++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"shadow_model", "dns_exfiltration", "east_west", "default_deny", "approved_model", "core",
		"packages", "os_updates", "saas", "mcp", "identity_telemetry", "public_reference", "infrastructure"} {
		if scenarios[s] == 0 {
			t.Errorf("no %s decision in two hours of traffic", s)
		}
	}
	if malformed == 0 || monitor == 0 || out.UnknownRules != 0 {
		t.Errorf("malformed %d, monitor-mode %d, unknown rules %d", malformed, monitor, out.UnknownRules)
	}
	t.Logf("scenarios %v, %d malformed", scenarios, malformed)
}

func TestGenerateIsDeterministicAndHonoursGaps(t *testing.T) {
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	gap := Gap{Gateway: Gateways[1].Name, From: start.Add(20 * time.Minute), To: start.Add(35 * time.Minute)}
	collect := func() (lines [][]byte) {
		err := Generate(Options{Start: start, Duration: time.Hour, Seed: 3, Gaps: []Gap{gap}}, func(l Line) error {
			if l.Gateway == gap.Gateway && !l.Time.Before(gap.From) && l.Time.Before(gap.To) {
				t.Fatalf("line inside the gap: %s", l.Text)
			}
			if l.Time.Before(start) || !l.Time.Before(start.Add(time.Hour)) {
				t.Fatalf("line outside the range: %s", l.Text)
			}
			lines = append(lines, l.Text)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return lines
	}
	a, b := collect(), collect()
	if len(a) < 60*40 || !slices.EqualFunc(a, b, bytes.Equal) {
		t.Errorf("two runs gave %d and %d lines (or different ones)", len(a), len(b))
	}
}

// With IDSAlertEvery, flows that trip a signature come with the L7 IDS
// verdict and the Suricata alert, which share the signature id and the
// client's address.
func TestIDSAlertsPairWithVerdicts(t *testing.T) {
	p := parse.NewParser(parse.Options{})
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	verdicts := map[string]int{}
	var alerts int
	err := Generate(Options{Start: start, Duration: 30 * time.Minute, Seed: 3, MalformedEvery: -1, IDSAlertEvery: 20}, func(l Line) error {
		var ev parse.Event
		ev.ReceivedAt = l.Time.Add(time.Second)
		p.Parse(l.Text, &ev)
		if ev.Status != parse.StatusOK {
			t.Fatalf("%s: %s", l.Text, ev.AppendError(nil))
		}
		switch {
		case ev.Kind == parse.KindL7 && string(ev.L7Reason) == "IDS_POLICY_ALERT":
			verdicts[string(ev.SignatureID)+" "+ev.SrcIP.String()]++
		case ev.Kind == parse.KindAlert:
			alerts++
			if verdicts[string(ev.SignatureID)+" "+ev.SrcIP.String()] == 0 || len(ev.AlertSignature) == 0 || ev.AlertSeverity == 0 {
				t.Fatalf("alert without its verdict or signature: %s", l.Text)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if alerts == 0 {
		t.Fatal("no IDS alert in 30 simulated minutes")
	}
}
