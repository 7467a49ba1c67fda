output "rule_names" {
  description = "DCF rule names in evaluation order."
  value       = [for r in local.rules : r.name]
  precondition {
    condition     = var.agent_tag != null || var.agent_kubernetes != null
    error_message = "Select the agent workload by agent_tag, agent_kubernetes or both: without either the agent SmartGroup is empty and no rule applies."
  }
}

output "rules" {
  description = "The ordered rules as deployed (priority, name, action, protocol, ports, scenario)."
  value       = [for r in local.rules : { priority = r.priority, name = r.name, action = r.action, protocol = r.protocol, ports = r.ports, scenario = r.scenario }]
}

locals {
  sg_name = merge({ for k, g in local.smart_groups : k => g.name }, local.system_groups)

  catalog_rules = [for r in local.rules : {
    name             = r.name
    priority         = r.priority
    action           = r.action
    protocol         = r.protocol
    ports            = [for p in r.ports : tostring(p)]
    src_smart_groups = [for g in r.src : local.sg_name[g]]
    dst_smart_groups = [for g in r.dst : local.sg_name[g]]
    web_groups       = [for w in r.web : local.web_groups[w].name]
    logging          = true
    enforced         = var.policy_mode == "enforce"
    scenario         = r.scenario
    owasp_llm        = r.owasp
    mitre_atlas      = r.atlas
  }]
  catalog_smart_groups = [for k, g in local.smart_groups : merge(
    { name = g.name },
    length(g.cidrs) > 0 ? { cidrs = g.cidrs } : {},
    g.tags != null ? { tags = g.tags } : {},
    g.k8s != null ? { kubernetes = { for key, value in g.k8s : key => value if value != null } } : {},
    k == "agents" && length(var.agent_member_ips) > 0 ? { member_ips = var.agent_member_ips } : {},
    # The pods' addresses let the collector name the agents; the
    # controller's group is the Kubernetes selector alone.
    k == "agents" && length(try(var.agent_kubernetes.pod_cidrs, [])) > 0 ? { cidrs = var.agent_kubernetes.pod_cidrs } : {},
  )]
  catalog_web_groups = [for k, w in local.web_groups : { name = w.name, category = w.category, domains = w.domains }]

  # The policy catalog without what only the controller knows (UUIDs):
  # deterministic for a given configuration, which the tests compare
  # against a golden file per preset.
  catalog_body = {
    format         = "openclaw-vca/policy-catalog"
    format_version = 1
    generated_by   = "terraform/modules/dcf-policy"
    mode           = var.policy_mode
    agent_class    = var.agent_class
    default_action = { action = var.policy_mode == "enforce" ? "DENY" : "PERMIT", logging = true }
    log_profile    = { name = var.log_profile }
    rules          = local.catalog_rules
    smart_groups   = local.catalog_smart_groups
    web_groups     = local.catalog_web_groups
  }
  catalog_static = merge(local.catalog_body, { catalog_version = "${var.agent_class}-${var.policy_mode}-${substr(sha256(jsonencode(local.catalog_body)), 0, 12)}" })

  policy_uuids = length(aviatrix_distributed_firewalling_policy_list.this) > 0 ? { for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : p.name => p.uuid } : {}
}

output "policy_catalog" {
  description = "The policy catalog vca-collector loads (catalog.file): terraform output -json policy_catalog > catalog.json. Rule UUIDs are included once the controller assigned them."
  value = merge(local.catalog_static, {
    rules = [for r in local.catalog_rules : merge(r, try(local.policy_uuids[r.name], null) == null ? {} : { uuid = local.policy_uuids[r.name] })]
    # Expanded from the (zero or one) lookups, so the booleans stay booleans.
    log_profile = merge({ name = var.log_profile }, [for p in data.aviatrix_dcf_log_profile.rules : {
      uuid          = p.profile_id
      session_start = p.session_start
      session_end   = p.session_end
    }]...)
  })
}

output "policy_catalog_static" {
  description = "The policy catalog without rule UUIDs: known at plan time (the collector host installs it; the collector's controller source adds the UUIDs)."
  value       = local.catalog_static
}
