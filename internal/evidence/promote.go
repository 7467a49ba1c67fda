package evidence

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
)

// Candidate is a registrable domain that enforce mode would block: what
// monitor mode saw of it and where it might belong.
type Candidate struct {
	Domain    string   `json:"domain"` // registrable domain (eTLD+1)
	Names     []string `json:"names"`  // the names agents asked for
	Hits      uint64   `json:"hits"`
	Agents    []string `json:"agents"`
	Hosts     uint64   `json:"agent_hosts"`
	FirstSeen string   `json:"first_seen"`
	LastSeen  string   `json:"last_seen"`
	// Category is the allow-list suggested (approved_model, packages,
	// saas, mcp, identity_telemetry, public_reference, os_updates, core)
	// or "investigate".
	Category string `json:"category"`
	Why      string `json:"why"`
}

// AddressOnly is a would-be-denied destination without a name.
type AddressOnly struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Hits    uint64 `json:"hits"`
}

// NamedDeny counts would-be-denied decisions of a deny rule the policy
// names (shadow model, DNS, east-west): they stay denied.
type NamedDeny struct {
	Rule string `json:"rule"`
	Hits uint64 `json:"hits"`
}

// Promotion is the monitor-to-enforce report.
type Promotion struct {
	From, To   string
	Candidates []Candidate
	Addresses  []AddressOnly
	NamedDeny  []NamedDeny
}

// namePatterns suggest an allow-list from a name when no WebGroup admits
// it: well-known suffixes of each category.
var namePatterns = []struct{ category, why string }{
	{"packages", "npmjs.org yarnpkg.com pypi.org pythonhosted.org proxy.golang.org golang.org crates.io rubygems.org maven.org jsdelivr.net unpkg.com githubusercontent.com docker.io"},
	{"mcp", "mcp."},
	{"saas", "github.com gitlab.com slack.com atlassian.net atlassian.com zendesk.com notion.so salesforce.com linear.app"},
	{"identity_telemetry", "sentry.io datadoghq.com okta.com microsoftonline.com auth0.com newrelic.com honeycomb.io"},
	{"public_reference", "wikipedia.org python.org readthedocs.io stackoverflow.com go.dev mozilla.org duckduckgo.com open-meteo.com"},
	{"os_updates", "debian.org ubuntu.com fedoraproject.org amazonlinux.com"},
}

// modelProviders never become an allow-list suggestion: a model API the
// policy does not name is the shadow-model story, for a person to decide.
var modelProviders = []string{"openai.com", "anthropic.com", "googleapis.com", "mistral.ai", "cohere.ai", "openrouter.ai", "deepseek.com", "huggingface.co"}

func suggest(name string) (string, string) {
	for _, m := range modelProviders {
		if name == m || strings.HasSuffix(name, "."+m) {
			return "investigate", "a model provider: decide between the approved gateways and the shadow-model deny"
		}
	}
	for _, p := range namePatterns {
		for _, suffix := range strings.Fields(p.why) {
			if strings.HasSuffix(suffix, ".") && strings.HasPrefix(name, suffix) ||
				name == suffix || strings.HasSuffix(name, "."+suffix) {
				return p.category, "the name looks like " + suffix
			}
		}
	}
	return "investigate", "no allow-list holds it and the name says nothing"
}

// Promote lists what enforce mode would block in the range, from the
// monitor-mode decisions (DENY, enforced = false) of the POST_RULES
// default deny, grouped by registrable domain; what a named deny rule
// would block is only counted, since the policy means to block it. A name some allow rule's WebGroup already holds (for other
// agents) gets that WebGroup's category; the catalog, when given, names
// the categories.
func Promote(ctx context.Context, src *Source, f Filter, catalog *enrich.Catalog) (*Promotion, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	categories := map[string]string{} // WebGroup → category
	if err := src.webGroupCategories(ctx, categories); err != nil {
		return nil, err
	}
	if catalog != nil {
		for _, g := range catalog.WebGroups {
			if g.Category != "" {
				categories[g.Name] = g.Category
			}
		}
	}
	where, args := f.where()
	rows, err := src.Conn.Query(ctx, fmt.Sprintf(`SELECT sni, admitting_web_group, uniqExact(event_id), groupUniqArray(if(empty(src_groups), '', src_groups[1])),
  groupUniqArray(IPv6NumToString(src_ip)), min(%s), max(%s)
FROM %s WHERE %s AND would_be_denied = 1 AND rule_uuid = '%s' AND sni != ''
GROUP BY sni, admitting_web_group ORDER BY sni, admitting_web_group`, src.millis("event_time"), src.millis("event_time"), src.table("dcf_events"), where, enrich.DefaultRuleUUID), args...)
	if err != nil {
		return nil, fmt.Errorf("query dcf_events: %w", err)
	}
	byDomain := map[string]*Candidate{}
	hosts := map[string]map[string]bool{}
	firstMs, lastMs := map[string]int64{}, map[string]int64{}
	for rows.Next() {
		var name, admitting string
		var hits uint64
		var agents, ips []string
		var first, last int64
		if err := rows.Scan(&name, &admitting, &hits, &agents, &ips, &first, &last); err != nil {
			rows.Close()
			return nil, err
		}
		domain, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(name, "."))
		if err != nil {
			domain = name
		}
		c := byDomain[domain]
		if c == nil {
			c = &Candidate{Domain: domain}
			byDomain[domain] = c
			hosts[domain] = map[string]bool{}
			firstMs[domain], lastMs[domain] = first, last
		}
		if !slices.Contains(c.Names, name) {
			c.Names = append(c.Names, name)
		}
		c.Hits += hits
		for _, a := range agents {
			if a != "" && !slices.Contains(c.Agents, a) {
				c.Agents = append(c.Agents, a)
			}
		}
		for _, ip := range ips {
			hosts[domain][ip] = true
		}
		firstMs[domain], lastMs[domain] = min(firstMs[domain], first), max(lastMs[domain], last)
		if cat := categories[admitting]; admitting != "" && cat != "" && c.Category == "" {
			c.Category, c.Why = cat, fmt.Sprintf("%s already holds %s for other agents", admitting, name)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, err
	}
	p := &Promotion{From: f.From.UTC().Format(time.RFC3339), To: f.To.UTC().Format(time.RFC3339)}
	for domain, c := range byDomain {
		slices.Sort(c.Names)
		slices.Sort(c.Agents)
		c.Hosts = uint64(len(hosts[domain]))
		c.FirstSeen, c.LastSeen = millisUTC(firstMs[domain]), millisUTC(lastMs[domain])
		if c.Category == "" {
			c.Category, c.Why = suggest(c.Names[0])
		}
		p.Candidates = append(p.Candidates, *c)
	}
	slices.SortFunc(p.Candidates, func(a, b Candidate) int {
		if a.Hits != b.Hits {
			if a.Hits > b.Hits {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Domain, b.Domain)
	})
	rows, err = src.Conn.Query(ctx, fmt.Sprintf(`SELECT IPv6NumToString(dst_ip) AS ip, dst_port, uniqExact(event_id) AS n
FROM %s WHERE %s AND would_be_denied = 1 AND rule_uuid = '%s' AND sni = '' GROUP BY ip, dst_port ORDER BY n DESC, ip, dst_port`,
		src.table("dcf_events"), where, enrich.DefaultRuleUUID), args...)
	if err != nil {
		return nil, fmt.Errorf("query dcf_events: %w", err)
	}
	for rows.Next() {
		var a AddressOnly
		if err := rows.Scan(&a.Address, &a.Port, &a.Hits); err != nil {
			rows.Close()
			return nil, err
		}
		a.Address = plainIP(a.Address)
		p.Addresses = append(p.Addresses, a)
	}
	rows.Close()
	rows, err = src.Conn.Query(ctx, fmt.Sprintf(`SELECT if(rule_name != '', rule_name, rule_uuid) AS rule, uniqExact(event_id) AS n
FROM %s WHERE %s AND would_be_denied = 1 AND rule_uuid != '%s' GROUP BY rule ORDER BY n DESC, rule`, src.table("dcf_events"), where, enrich.DefaultRuleUUID), args...)
	if err != nil {
		return nil, fmt.Errorf("query dcf_events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var nd NamedDeny
		if err := rows.Scan(&nd.Rule, &nd.Hits); err != nil {
			return nil, err
		}
		p.NamedDeny = append(p.NamedDeny, nd)
	}
	return p, rows.Err()
}

// webGroupCategories reads, from the recorded catalogs, the scenario of
// the allow rules that use each WebGroup.
func (s *Source) webGroupCategories(ctx context.Context, into map[string]string) error {
	rows, err := s.Conn.Query(ctx, fmt.Sprintf(`SELECT wg, any(scenario) FROM (
  SELECT arrayJoin(web_groups) AS wg, scenario FROM %s WHERE action = 'PERMIT' AND scenario != '')
GROUP BY wg`, s.table("policy_rules")))
	if err != nil {
		return fmt.Errorf("query policy_rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var wg, scenario string
		if err := rows.Scan(&wg, &scenario); err != nil {
			return err
		}
		into[wg] = scenario
	}
	return rows.Err()
}

// WriteTable prints the report for a terminal.
func (p *Promotion) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "default deny would block in enforce mode, %s to %s\n\n", p.From, p.To)
	fmt.Fprintln(tw, "DOMAIN\tHITS\tAGENTS\tHOSTS\tFIRST SEEN\tLAST SEEN\tSUGGESTED\tNAMES")
	for _, c := range p.Candidates {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Domain, c.Hits, strings.Join(c.Agents, ","), c.Hosts, c.FirstSeen, c.LastSeen,
			c.Category, strings.Join(c.Names, " "))
	}
	if len(p.Addresses) > 0 {
		fmt.Fprintln(tw, "\nADDRESS\tPORT\tHITS\t(no name: investigate)")
		for _, a := range p.Addresses {
			fmt.Fprintf(tw, "%s\t%d\t%d\t\n", a.Address, a.Port, a.Hits)
		}
	}
	if len(p.NamedDeny) > 0 {
		fmt.Fprintln(tw, "\nNAMED DENY RULE\tHITS\t(the policy means to block these: not candidates)")
		for _, nd := range p.NamedDeny {
			fmt.Fprintf(tw, "%s\t%d\t\n", nd.Rule, nd.Hits)
		}
	}
	return tw.Flush()
}

// tfvarsFor maps a category to the stack's variable holding its domains
// and, for the categories a preset may leave off, the switch that turns
// the rule on.
var tfvarsFor = map[string]struct{ list, enable string }{
	"approved_model":     {"approved_model_gateway_domains", ""},
	"core":               {"openclaw_core_domains", ""},
	"packages":           {"package_registry_domains", "enable_package_installs"},
	"public_reference":   {"public_reference_domains", "enable_public_reference"},
	"os_updates":         {"os_update_domains", ""},
	"saas":               {"approved_saas_api_domains", ""},
	"mcp":                {"approved_mcp_gateway_domains", ""},
	"identity_telemetry": {"identity_and_telemetry_domains", ""},
}

// presetOnly are categories only the agent class turns on.
var presetOnly = map[string]map[string]bool{
	"locked-down-demo": {"saas": true, "mcp": true, "identity_telemetry": true, "os_updates": true},
	"coding":           {"saas": true, "mcp": true},
	"research":         {"mcp": true, "os_updates": true},
	"support":          {"os_updates": true},
	"regulated-data":   {"saas": true, "mcp": true, "os_updates": true},
}

// WriteTFVars writes the Terraform variables that add the accepted
// candidates (those whose category is not "investigate", or those named
// in accept when it is not empty) to their allow-lists. Each list is
// written whole, the catalog's current domains plus the new ones, because
// a tfvars assignment replaces the list.
func (p *Promotion) WriteTFVars(w io.Writer, catalog *enrich.Catalog, accept []string) (int, error) {
	current := map[string][]string{}
	for _, g := range catalog.WebGroups {
		if g.Category != "" {
			current[g.Category] = append(current[g.Category], g.Domains...)
		}
	}
	added := map[string][]Candidate{}
	n := 0
	for _, c := range p.Candidates {
		ok := c.Category != "investigate"
		if len(accept) > 0 {
			ok = slices.Contains(accept, c.Domain)
		}
		if _, known := tfvarsFor[c.Category]; !ok || !known {
			continue
		}
		added[c.Category] = append(added[c.Category], c)
		n++
	}
	fmt.Fprintf(w, "# vca-collector promote: destinations monitor mode saw denied from %s to %s,\n", p.From, p.To)
	fmt.Fprintf(w, "# accepted into their allow-lists (policy catalog %s, agent class %s).\n", catalog.Version, catalog.AgentClass)
	fmt.Fprintf(w, "# Each list is whole: the catalog's domains plus the new ones. Review, then merge into terraform.tfvars.\n")
	var cats []string
	for cat := range added {
		cats = append(cats, cat)
	}
	slices.Sort(cats)
	for _, cat := range cats {
		v := tfvarsFor[cat]
		fmt.Fprintf(w, "\n# %s:", cat)
		list := append([]string{}, current[cat]...)
		for _, c := range added[cat] {
			fmt.Fprintf(w, " %s (%d hits, %s)", strings.Join(c.Names, " "), c.Hits, strings.Join(c.Agents, ", "))
			list = append(list, c.Names...)
		}
		fmt.Fprintln(w)
		if len(current[cat]) == 0 {
			fmt.Fprintf(w, "# The catalog has no %s WebGroup: this list replaces the module's default list.\n", cat)
		}
		if presetOnly[catalog.AgentClass][cat] {
			fmt.Fprintf(w, "# The %s agent class does not enable %s: the list takes effect with agent_class = \"custom\".\n", catalog.AgentClass, cat)
		}
		if v.enable != "" {
			fmt.Fprintf(w, "%s = true\n", v.enable)
		}
		slices.Sort(list)
		list = slices.Compact(list)
		fmt.Fprintf(w, "%s = [\n", v.list)
		for _, d := range list {
			fmt.Fprintf(w, "  %q,\n", d)
		}
		fmt.Fprintln(w, "]")
	}
	return n, nil
}
