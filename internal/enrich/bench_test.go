package enrich

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// bigCatalog is the size a large multi-team deployment reaches: 1 000
// rules, 500 SmartGroups with 20 000 CIDRs, 200 WebGroups with 5 000
// domains.
func bigCatalog(tb testing.TB) *Index {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	c := &Catalog{Version: "bench", Mode: "enforce"}
	for g := range 500 {
		sg := SmartGroup{Name: fmt.Sprintf("sg-%03d", g)}
		for range 40 {
			bits := 16 + r.IntN(13)
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			sg.CIDRs = append(sg.CIDRs, netip.PrefixFrom(a, bits).Masked().String())
		}
		c.SmartGroups = append(c.SmartGroups, sg)
	}
	for g := range 200 {
		wg := WebGroup{Name: fmt.Sprintf("wg-%03d", g), Category: "saas"}
		for d := range 25 {
			if d%5 == 0 {
				wg.Domains = append(wg.Domains, fmt.Sprintf("*.svc%d-%d.example.com", g, d))
			} else {
				wg.Domains = append(wg.Domains, fmt.Sprintf("api%d.svc%d.example.com", d, g))
			}
		}
		c.WebGroups = append(c.WebGroups, wg)
	}
	for i := range 1000 {
		c.Rules = append(c.Rules, Rule{Name: fmt.Sprintf("rule-%04d", i), UUID: fmt.Sprintf("11111111-0000-4000-8000-%012d", i),
			Priority: uint32(i + 1), Action: "PERMIT", Protocol: "TCP", Scenario: "saas",
			SrcSmartGroups: []string{c.SmartGroups[i%500].Name}, WebGroups: []string{c.WebGroups[i%200].Name},
			OWASPLLM: []string{"LLM06"}})
	}
	return compile(c, nil)
}

func benchEnrich(b *testing.B, ev *parse.Event) {
	ix := bigCatalog(b)
	if ev.Status != parse.StatusOK {
		b.Fatal(string(ev.AppendError(nil)))
	}
	var out Outcome
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ix.Enrich(ev, &out)
	}
	if ev.Enriched.RuleName == "" {
		b.Fatal("rule not found")
	}
}

// BenchmarkEnrichL4: rule lookup, source and destination SmartGroups,
// scenario, for an L4 line.
func BenchmarkEnrichL4(b *testing.B) {
	benchEnrich(b, l4("11111111-0000-4000-8000-000000000500", "10.20.1.15", "10.99.3.4", "TCP", 443, "PERMIT", true))
}

// BenchmarkEnrichL7Deny adds the SNI WebGroup match and the search for an
// allow rule that would admit a denied name.
func BenchmarkEnrichL7Deny(b *testing.B) {
	benchEnrich(b, l7("11111111-0000-4000-8000-000000000077", "10.20.1.15", "API7.svc77.example.com", "Deny", false))
}
