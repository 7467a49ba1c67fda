// Command terraform-provider-aviatrix is a schema-only stand-in for the
// Aviatrix provider, for offline validate and test runs (mock providers
// still need a provider binary for the schema and its validation). It
// serves exactly the schema of the pinned release for the resources and
// data sources the stack uses (schema.json, cut from that release's
// `providers schema -json` with `tfjson cut-schema`), with the release's
// enum, range and pattern validators; create, read, update and delete do
// nothing.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-sdk/v2/diag"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/validation"
	"github.com/hashicorp/terraform-plugin-sdk/v2/plugin"
)

//go:embed schema.json
var schemaJSON []byte

type block struct {
	Attributes map[string]struct {
		Type        json.RawMessage `json:"type"`
		Description string          `json:"description"`
		Required    bool            `json:"required"`
		Optional    bool            `json:"optional"`
		Computed    bool            `json:"computed"`
		Sensitive   bool            `json:"sensitive"`
	} `json:"attributes"`
	BlockTypes map[string]struct {
		NestingMode string `json:"nesting_mode"`
		Block       block  `json:"block"`
		MinItems    int    `json:"min_items"`
		MaxItems    int    `json:"max_items"`
	} `json:"block_types"`
	Description string `json:"description"`
}

type schemaFile struct {
	Provider        struct{ Block block } `json:"provider"`
	ResourceSchemas map[string]struct {
		Block block `json:"block"`
	} `json:"resource_schemas"`
	DataSourceSchemas map[string]struct {
		Block block `json:"block"`
	} `json:"data_source_schemas"`
}

// enums are the release's StringInSlice validators, by resource and
// attribute path; the bool says whether case is ignored.
var enums = map[string]struct {
	values     []string
	ignoreCase bool
}{
	"aviatrix_distributed_firewalling_policy_list.policies.action":               {[]string{"DENY", "PERMIT", "INTRUSION_DETECTION_PERMIT"}, false},
	"aviatrix_distributed_firewalling_policy_list.policies.protocol":             {[]string{"TCP", "UDP", "ICMP", "ANY"}, true},
	"aviatrix_distributed_firewalling_policy_list.policies.decrypt_policy":       {[]string{"DECRYPT_UNSPECIFIED", "DECRYPT_ALLOWED", "DECRYPT_NOT_ALLOWED"}, false},
	"aviatrix_distributed_firewalling_policy_list.policies.flow_app_requirement": {[]string{"APP_UNSPECIFIED", "TLS_REQUIRED", "NOT_TLS_REQUIRED"}, false},
	"aviatrix_distributed_firewalling_default_action_rule.action":                {[]string{"PERMIT", "DENY"}, true},
	"aviatrix_remote_syslog.protocol":                                            {[]string{"TCP", "UDP"}, false},
	"aviatrix_smart_group.selector.match_expressions.type":                       {[]string{"vm", "vpc", "subnet", "k8s", "k8s_node", "serverless"}, false},
	// The controller's system profiles (START, END, ALL): the policy list
	// refuses any other UUID at plan time.
	"aviatrix_distributed_firewalling_policy_list.policies.log_profile": {[]string{"def000ad-7000-0000-0000-000000000001",
		"def000ad-7000-0000-0000-000000000002", "def000ad-7000-0000-0000-000000000003"}, false},
}

// patterns are the release's StringMatch validators.
var patterns = map[string]struct{ re, message string }{
	"aviatrix_smart_group.selector.match_expressions.k8s_namespace": {dns1123, "must be a valid Kubernetes Namespace name"},
	"aviatrix_smart_group.selector.match_expressions.k8s_pod":       {dns1123, "must be a valid Kubernetes Pod name"},
	"aviatrix_smart_group.selector.match_expressions.k8s_service":   {dns1123, "must be a valid Kubernetes Service name"},
}

const dns1123 = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`

// envDefaults are the release's provider arguments read from the
// environment when the configuration leaves them out.
var envDefaults = map[string]string{
	"controller_ip": "AVIATRIX_CONTROLLER_IP",
	"username":      "AVIATRIX_USERNAME",
	"password":      "AVIATRIX_PASSWORD",
}

// intRanges are the release's IntBetween validators.
var intRanges = map[string][2]int{
	"aviatrix_remote_syslog.index":                                         {0, 9},
	"aviatrix_distributed_firewalling_policy_list.policies.port_ranges.lo": {0, 65535},
	"aviatrix_distributed_firewalling_policy_list.policies.port_ranges.hi": {0, 65535},
}

func primitive(t string) schema.ValueType {
	switch t {
	case "string":
		return schema.TypeString
	case "number":
		return schema.TypeInt
	case "bool":
		return schema.TypeBool
	}
	panic("unsupported type " + t)
}

func attrType(raw json.RawMessage) (schema.ValueType, *schema.Schema) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return primitive(s), nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		panic(fmt.Sprintf("unsupported type %s", raw))
	}
	elem := &schema.Schema{Type: primitive(pair[1])}
	switch pair[0] {
	case "list":
		return schema.TypeList, elem
	case "set":
		return schema.TypeSet, elem
	case "map":
		return schema.TypeMap, elem
	}
	panic(fmt.Sprintf("unsupported collection %s", raw))
}

func build(path string, b block, resource bool) map[string]*schema.Schema {
	out := map[string]*schema.Schema{}
	for name, a := range b.Attributes {
		if resource && name == "id" {
			continue // the SDK adds id itself
		}
		t, elem := attrType(a.Type)
		s := &schema.Schema{Type: t, Description: a.Description, Required: a.Required, Optional: a.Optional,
			Computed: a.Computed, Sensitive: a.Sensitive}
		if elem != nil {
			s.Elem = elem
		}
		if e, ok := enums[path+name]; ok {
			s.ValidateDiagFunc = validation.ToDiagFunc(validation.StringInSlice(e.values, e.ignoreCase))
		}
		if env, ok := envDefaults[name]; ok && path == "" {
			s.DefaultFunc = schema.EnvDefaultFunc(env, nil)
		}
		if p, ok := patterns[path+name]; ok {
			s.ValidateDiagFunc = validation.ToDiagFunc(validation.StringMatch(regexp.MustCompile(p.re), p.message))
		}
		if r, ok := intRanges[path+name]; ok {
			s.ValidateDiagFunc = validation.ToDiagFunc(validation.IntBetween(r[0], r[1]))
		}
		out[name] = s
	}
	for name, bt := range b.BlockTypes {
		s := &schema.Schema{Type: schema.TypeList, Description: bt.Block.Description, MaxItems: bt.MaxItems,
			Elem: &schema.Resource{Schema: build(path+name+".", bt.Block, false)}}
		if bt.NestingMode == "set" {
			s.Type = schema.TypeSet
		}
		if bt.MinItems > 0 {
			s.Required, s.MinItems = true, bt.MinItems
		} else {
			s.Optional = true
		}
		out[name] = s
	}
	return out
}

func noop(_ context.Context, d *schema.ResourceData, _ any) diag.Diagnostics {
	if d.Id() == "" {
		d.SetId("stub")
	}
	return nil
}

func provider() *schema.Provider {
	var f schemaFile
	if err := json.Unmarshal(schemaJSON, &f); err != nil {
		panic(err)
	}
	p := &schema.Provider{Schema: build("", f.Provider.Block, false), ResourcesMap: map[string]*schema.Resource{},
		DataSourcesMap: map[string]*schema.Resource{}}
	for name, r := range f.ResourceSchemas {
		p.ResourcesMap[name] = &schema.Resource{Schema: build(name+".", r.Block, true), Description: r.Block.Description,
			CreateContext: noop, ReadContext: noop, UpdateContext: noop,
			DeleteContext: func(context.Context, *schema.ResourceData, any) diag.Diagnostics { return nil }}
	}
	for name, d := range f.DataSourceSchemas {
		p.DataSourcesMap[name] = &schema.Resource{Schema: build(name+".", d.Block, true), Description: d.Block.Description,
			ReadContext: noop}
	}
	return p
}

func main() {
	plugin.Serve(&plugin.ServeOpts{ProviderFunc: provider})
}
