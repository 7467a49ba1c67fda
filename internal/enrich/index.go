package enrich

import (
	"crypto/sha256"
	"net/netip"
	"strings"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Index is a compiled catalog: immutable, shared by every worker.
type Index struct {
	Catalog *Catalog
	SHA256  [32]byte // of the catalog file as loaded

	rules   map[parse.UUID]*ruleInfo
	addrs   addrIndex
	domains domainIndex
	// approved[name] marks WebGroups some PERMIT rule uses, in rule order.
	approved map[string]int
	// groupScenario is each WebGroup's category, for unknown rules.
	groupScenario map[string]string
	eastWest      map[string]bool // SmartGroups an east-west deny targets
	defaultRule   ruleInfo
	// workloads names the Kubernetes workload of SmartGroups that select one.
	workloads map[string]string
}

type ruleInfo struct {
	name     string
	priority uint32
	action   string
	scenario string
	tags     []string
	webSet   map[string]bool
}

// Empty is the index used before any catalog is loaded: only the
// controller's system objects are known.
func Empty() *Index {
	return compile(&Catalog{Version: "builtin", Mode: "monitor"}, nil)
}

// compile builds the index of a catalog that passed Load's checks.
func compile(c *Catalog, raw []byte) *Index {
	ix := &Index{Catalog: c, SHA256: sha256.Sum256(raw),
		rules:    map[parse.UUID]*ruleInfo{},
		approved: map[string]int{}, groupScenario: map[string]string{}, eastWest: map[string]bool{},
		domains: newDomainIndex(), workloads: map[string]string{}}
	for _, g := range c.SmartGroups {
		if g.Kubernetes != nil {
			ix.workloads[g.Name] = g.Kubernetes.Workload()
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		ri := &ruleInfo{name: r.Name, priority: r.Priority, action: r.Action, scenario: r.Scenario,
			tags: append(append([]string(nil), r.OWASPLLM...), r.MITREATLAS...)}
		if len(r.WebGroups) > 0 {
			ri.webSet = map[string]bool{}
			for _, w := range r.WebGroups {
				ri.webSet[w] = true
			}
		}
		if r.UUID != "" {
			ix.rules[mustUUID(strings.ToLower(r.UUID))] = ri
		}
		if r.Action == "PERMIT" {
			for _, w := range r.WebGroups {
				if _, seen := ix.approved[w]; !seen {
					ix.approved[w] = i
				}
			}
		}
		if r.Action == "DENY" && r.Scenario == "east_west" {
			for _, g := range r.DstSmartGroups {
				ix.eastWest[g] = true
			}
		}
	}
	ix.defaultRule = ruleInfo{name: DefaultRuleName, scenario: "default_deny"}
	if c.DefaultAction != nil {
		ix.defaultRule.action = c.DefaultAction.Action
	} else if c.Mode == "enforce" {
		ix.defaultRule.action = "DENY"
	}

	var sgNames []string
	var prefixes []prefixEntry
	for gi, g := range c.SmartGroups {
		sgNames = append(sgNames, g.Name)
		add := func(p netip.Prefix) {
			first, last := prefixRange(p)
			bits := p.Bits()
			if p.Addr().Is4() {
				bits += 96
			}
			prefixes = append(prefixes, prefixEntry{first: first, last: last, bits: bits, group: gi})
		}
		for _, s := range g.CIDRs {
			add(netip.MustParsePrefix(s)) // checked on load
		}
		for _, s := range g.MemberIPs {
			a := netip.MustParseAddr(s).Unmap()
			add(netip.PrefixFrom(a, a.BitLen()))
		}
	}
	ix.addrs = buildAddrIndex(prefixes, sgNames)

	var wgNames []string
	for gi, g := range c.WebGroups {
		wgNames = append(wgNames, g.Name)
		for _, d := range g.Domains {
			ix.domains.add(d, gi)
		}
		if g.Category != "" {
			ix.groupScenario[g.Name] = g.Category
		}
	}
	ix.domains.finish(wgNames)
	return ix
}

// Version is the catalog version.
func (ix *Index) Version() string { return ix.Catalog.Version }

// Outcome tallies what a batch's enrichment could not resolve.
type Outcome struct {
	UnknownRules int // events whose rule UUID the catalog does not name
}

// Enrich stamps ev with what the catalog knows about it.
func (ix *Index) Enrich(ev *parse.Event, out *Outcome) {
	x := &ev.Enriched
	*x = parse.Enrichment{CatalogVersion: ix.Catalog.Version}
	if ev.Kind == parse.KindOther || ev.Status == parse.StatusFailed {
		return
	}
	var ri *ruleInfo
	if ev.Has&parse.HasRuleUUID != 0 {
		if r, ok := ix.rules[ev.RuleUUID]; ok {
			ri = r
		} else if _, ok := systemRules[ev.RuleUUID]; ok {
			ri = &ix.defaultRule
		} else {
			out.UnknownRules++
		}
	}
	x.SrcGroups = ix.addrs.lookup(ev.SrcIP)
	x.DstGroups = ix.addrs.lookup(ev.DstIP)
	for _, g := range x.SrcGroups {
		if w, ok := ix.workloads[g]; ok {
			x.SrcWorkload = w
			break
		}
	}
	var webs []string
	if len(ev.SNI) > 0 {
		webs = ix.domains.lookup(ev.SNI)
	}
	if ri != nil {
		x.RuleName, x.RulePriority, x.RuleAction, x.Tags = ri.name, ri.priority, ri.action, ri.tags
		x.Scenario = ri.scenario
		if ri == &ix.defaultRule && ev.Action == parse.ActionPermit {
			x.Scenario = "other" // a PERMIT default action is not a containment decision
		}
	}
	if len(webs) > 0 {
		x.WebGroup = webs[0]
		if ri != nil && ri.webSet != nil {
			for _, w := range webs {
				if ri.webSet[w] {
					x.WebGroup = w
					break
				}
			}
		}
	}
	denied := ev.Action == parse.ActionDeny
	x.WouldBeDenied = denied && ev.Has&parse.HasEnforced != 0 && !ev.Enforced
	if denied && len(webs) > 0 {
		first := -1 // the allow rule evaluated first wins
		for _, w := range webs {
			if i, ok := ix.approved[w]; ok && (first < 0 || i < first) {
				x.AdmittingWebGroup, first = w, i
			}
		}
	}
	if x.Scenario == "" {
		x.Scenario = ix.infer(ev, webs)
	}
}

// infer classifies an event whose rule the catalog does not name, from
// what it hit: the destination port, groups and name.
func (ix *Index) infer(ev *parse.Event, webs []string) string {
	denied := ev.Action == parse.ActionDeny
	for _, w := range webs {
		if s := ix.groupScenario[w]; s == "shadow_model" && denied {
			return s
		}
	}
	if ev.Kind == parse.KindL4 && ev.DstPort == 53 {
		if denied {
			return "dns_exfiltration"
		}
		return "infrastructure"
	}
	if denied {
		for _, g := range ev.Enriched.DstGroups {
			if ix.eastWest[g] {
				return "east_west"
			}
		}
	}
	for _, w := range webs {
		if s := ix.groupScenario[w]; s != "" && !denied {
			return s
		}
	}
	return "other"
}
