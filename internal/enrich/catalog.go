// Package enrich holds the policy catalog (rules by UUID, SmartGroups by
// address, WebGroups by domain pattern) and stamps every parsed event with
// what it says: rule name, priority, scenario, tags and group names. The
// compiled catalog is immutable and swapped atomically on reload, so the
// hot path takes no lock and allocates nothing.
package enrich

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// SchemaJSON is the JSON Schema every catalog file must satisfy.
//
//go:embed catalog.schema.json
var SchemaJSON []byte

// Catalog is the policy catalog file, as the Terraform stack writes it.
type Catalog struct {
	Format        string         `json:"format"`
	FormatVersion int            `json:"format_version"`
	Version       string         `json:"catalog_version"`
	GeneratedBy   string         `json:"generated_by,omitempty"`
	GeneratedAt   string         `json:"generated_at,omitempty"`
	Mode          string         `json:"mode"`
	AgentClass    string         `json:"agent_class,omitempty"`
	DefaultAction *DefaultAction `json:"default_action,omitempty"`
	LogProfile    *LogProfile    `json:"log_profile,omitempty"`
	Rules         []Rule         `json:"rules"`
	SmartGroups   []SmartGroup   `json:"smart_groups"`
	WebGroups     []WebGroup     `json:"web_groups"`
}

// DefaultAction is the POST_RULES default action.
type DefaultAction struct {
	Action  string `json:"action"`
	Logging bool   `json:"logging"`
}

// LogProfile is the controller log profile the rules log with: which
// session records the gateways send.
type LogProfile struct {
	Name         string `json:"name"`
	UUID         string `json:"uuid,omitempty"`
	SessionStart *bool  `json:"session_start,omitempty"`
	SessionEnd   *bool  `json:"session_end,omitempty"`
}

// KubernetesSelector selects a SmartGroup's members as Kubernetes
// workload: a cluster, optionally a namespace, within it a pod or a
// service.
type KubernetesSelector struct {
	ClusterID string `json:"cluster_id"`
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Service   string `json:"service,omitempty"`
}

// Workload names the selection as "k8s:CLUSTER/NAMESPACE[/pod/NAME|/service/NAME]".
func (k *KubernetesSelector) Workload() string {
	w := "k8s:" + k.ClusterID
	if k.Namespace != "" {
		w += "/" + k.Namespace
	}
	switch {
	case k.Pod != "":
		w += "/pod/" + k.Pod
	case k.Service != "":
		w += "/service/" + k.Service
	}
	return w
}

// Rule is one DCF rule; Rules are listed in evaluation order.
type Rule struct {
	Name           string   `json:"name"`
	UUID           string   `json:"uuid,omitempty"`
	Priority       uint32   `json:"priority"`
	Action         string   `json:"action"`
	Protocol       string   `json:"protocol"`
	Ports          []string `json:"ports,omitempty"`
	SrcSmartGroups []string `json:"src_smart_groups,omitempty"`
	DstSmartGroups []string `json:"dst_smart_groups,omitempty"`
	WebGroups      []string `json:"web_groups,omitempty"`
	Logging        bool     `json:"logging"`
	Enforced       *bool    `json:"enforced,omitempty"`
	Scenario       string   `json:"scenario"`
	OWASPLLM       []string `json:"owasp_llm,omitempty"`
	MITREATLAS     []string `json:"mitre_atlas,omitempty"`
	Description    string   `json:"description,omitempty"`
}

// SmartGroup is a named set of workloads or networks.
type SmartGroup struct {
	Name        string              `json:"name"`
	UUID        string              `json:"uuid,omitempty"`
	CIDRs       []string            `json:"cidrs,omitempty"`
	MemberIPs   []string            `json:"member_ips,omitempty"`
	Tags        map[string]string   `json:"tags,omitempty"`
	Kubernetes  *KubernetesSelector `json:"kubernetes,omitempty"`
	Description string              `json:"description,omitempty"`
}

// WebGroup is a named set of domains matched against the SNI. "*.a.b"
// matches every name below a.b, not a.b itself.
type WebGroup struct {
	Name        string   `json:"name"`
	UUID        string   `json:"uuid,omitempty"`
	Category    string   `json:"category,omitempty"`
	Domains     []string `json:"domains"`
	Description string   `json:"description,omitempty"`
}

var printer = message.NewPrinter(language.English)

var schema = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("catalog.schema.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("catalog.schema.json")
}()

// LoadFile reads, validates and compiles a catalog file.
func LoadFile(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy catalog: %w", err)
	}
	ix, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("policy catalog %s: %w", path, err)
	}
	return ix, nil
}

// Load validates a catalog document against the schema, checks what a
// schema cannot (references, addresses, duplicates, order) and compiles it.
func Load(data []byte) (*Index, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if err := schema.Validate(doc); err != nil {
		return nil, schemaError(err)
	}
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return compile(&c, data), nil
}

// schemaError reduces a validation error to its first leaf: the location
// and what is wrong there.
func schemaError(err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	loc := "/" + strings.Join(ve.InstanceLocation, "/")
	return fmt.Errorf("%s: %s", loc, ve.ErrorKind.LocalizedString(printer))
}

func (c *Catalog) check() error {
	sgs := map[string]bool{}
	for i, g := range c.SmartGroups {
		at := fmt.Sprintf("/smart_groups/%d", i)
		if sgs[g.Name] {
			return fmt.Errorf("%s/name: SmartGroup %q is defined twice", at, g.Name)
		}
		sgs[g.Name] = true
		for j, s := range g.CIDRs {
			if _, err := netip.ParsePrefix(s); err != nil {
				return fmt.Errorf("%s/cidrs/%d: %q is not a CIDR: %v", at, j, s, err)
			}
		}
		for j, s := range g.MemberIPs {
			if _, err := netip.ParseAddr(s); err != nil {
				return fmt.Errorf("%s/member_ips/%d: %q is not an IP address", at, j, s)
			}
		}
	}
	wgs := map[string]bool{}
	for i, g := range c.WebGroups {
		if wgs[g.Name] {
			return fmt.Errorf("/web_groups/%d/name: WebGroup %q is defined twice", i, g.Name)
		}
		wgs[g.Name] = true
	}
	rules := map[string]bool{}
	uuids := map[string]string{}
	var last uint32
	for i, r := range c.Rules {
		at := fmt.Sprintf("/rules/%d", i)
		if rules[r.Name] {
			return fmt.Errorf("%s/name: rule %q is defined twice", at, r.Name)
		}
		rules[r.Name] = true
		if i > 0 && r.Priority <= last {
			return fmt.Errorf("%s/priority: %d after %d; rules must be listed in evaluation order", at, r.Priority, last)
		}
		last = r.Priority
		if r.UUID != "" {
			u := strings.ToLower(r.UUID)
			if _, ok := parse.ParseUUID(u); !ok {
				return fmt.Errorf("%s/uuid: %q is not a UUID", at, r.UUID)
			}
			if other, dup := uuids[u]; dup {
				return fmt.Errorf("%s/uuid: %s is also rule %q", at, r.UUID, other)
			}
			if _, sys := systemRules[mustUUID(u)]; sys {
				return fmt.Errorf("%s/uuid: %s is a system rule", at, r.UUID)
			}
			uuids[u] = r.Name
		}
		for key, refs := range map[string][]string{"src_smart_groups": r.SrcSmartGroups, "dst_smart_groups": r.DstSmartGroups} {
			for j, n := range refs {
				if !sgs[n] && !isSystemGroup(n) {
					return fmt.Errorf("%s/%s/%d: SmartGroup %q is not defined", at, key, j, n)
				}
			}
		}
		for j, n := range r.WebGroups {
			if !wgs[n] && !isSystemGroup(n) {
				return fmt.Errorf("%s/web_groups/%d: WebGroup %q is not defined", at, j, n)
			}
		}
		for j, p := range r.Ports {
			if err := checkPort(p); err != nil {
				return fmt.Errorf("%s/ports/%d: %v", at, j, err)
			}
		}
	}
	return nil
}

func checkPort(p string) error {
	lo, hi, ok := strings.Cut(p, ":")
	var a, b int
	fmt.Sscan(lo, &a)
	b = a
	if ok {
		fmt.Sscan(hi, &b)
	}
	if a < 1 || b > 65535 || b < a {
		return fmt.Errorf("%q is not a port or port range", p)
	}
	return nil
}

func mustUUID(s string) parse.UUID {
	u, ok := parse.ParseUUID(s)
	if !ok {
		panic("bad UUID " + s)
	}
	return u
}
