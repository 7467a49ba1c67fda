# The ordered rule list is defined once, here. It feeds the DCF policy list
# and the policy_catalog output the collector loads, so the names an auditor
# reads in the evidence are the names the gateway enforces.

locals {
  # Agent-class presets: which optional destination categories each class
  # may reach (the seed's preset table). "custom" enables only overrides.
  presets = {
    locked-down-demo = { packages = false, public_reference = false, saas = false, mcp = false, identity_telemetry = false, os_updates = false }
    coding           = { packages = true, public_reference = false, saas = false, mcp = false, identity_telemetry = true, os_updates = true }
    research         = { packages = false, public_reference = true, saas = true, mcp = false, identity_telemetry = true, os_updates = false }
    support          = { packages = false, public_reference = false, saas = true, mcp = true, identity_telemetry = true, os_updates = false }
    regulated-data   = { packages = false, public_reference = false, saas = false, mcp = false, identity_telemetry = true, os_updates = false }
    custom           = { packages = false, public_reference = false, saas = true, mcp = true, identity_telemetry = true, os_updates = true }
  }
  preset = local.presets[var.agent_class]
  enabled = {
    packages           = coalesce(var.enable_package_installs, local.preset.packages)
    public_reference   = coalesce(var.enable_public_reference, local.preset.public_reference)
    saas               = local.preset.saas
    mcp                = local.preset.mcp
    identity_telemetry = local.preset.identity_telemetry
    os_updates         = local.preset.os_updates
  }

  aws_infra_domains = [for svc in ["ssm", "ssmmessages", "ec2messages", "ec2", "logs", "sts", "s3", "api.ecr", "dkr.ecr"] : "${svc}.${var.aws_region}.amazonaws.com"]

  # WebGroups by key: name, category (the collector's scenario for traffic
  # they admit or deny) and sorted domains. A category with no domains, or
  # one the preset leaves out, creates no WebGroup and no rule.
  web_group_intent = {
    aws-infra                  = { category = "infrastructure", domains = local.aws_infra_domains, on = true }
    openclaw-core              = { category = "core", domains = var.openclaw_core_domains, on = true }
    approved-model-gateways    = { category = "approved_model", domains = var.approved_model_gateway_domains, on = true }
    package-registries         = { category = "packages", domains = var.package_registry_domains, on = local.enabled.packages }
    os-updates                 = { category = "os_updates", domains = var.os_update_domains, on = local.enabled.os_updates }
    approved-saas-apis         = { category = "saas", domains = var.approved_saas_api_domains, on = local.enabled.saas }
    approved-mcp-gateways      = { category = "mcp", domains = var.approved_mcp_gateway_domains, on = local.enabled.mcp }
    identity-telemetry         = { category = "identity_telemetry", domains = var.identity_and_telemetry_domains, on = local.enabled.identity_telemetry }
    public-reference           = { category = "public_reference", domains = var.public_reference_domains, on = local.enabled.public_reference }
    unapproved-model-providers = { category = "shadow_model", domains = var.unapproved_model_provider_domains, on = true }
  }
  web_groups = {
    for k, v in local.web_group_intent : k => {
      name     = "wg-${k}"
      category = v.category
      domains  = sort(distinct([for d in v.domains : lower(d)]))
    } if v.on && length(v.domains) > 0
  }

  # The agents are selected by CSP tag, by Kubernetes workload, or both
  # (the group is the union of its expressions).
  agent_k8s = var.agent_kubernetes == null ? null : {
    cluster_id = var.agent_kubernetes.cluster_id
    namespace  = var.agent_kubernetes.namespace
    pod        = var.agent_kubernetes.pod
    service    = var.agent_kubernetes.service
  }
  smart_group_intent = {
    agents              = { cidrs = [], tags = var.agent_tag == null ? null : { (var.agent_tag.key) = var.agent_tag.value }, k8s = local.agent_k8s }
    vpc-dns-resolver    = { cidrs = [var.vpc_dns_resolver_cidr], tags = null, k8s = null }
    east-west-deny      = { cidrs = var.east_west_cidrs, tags = null, k8s = null }
    model-gateway-cidrs = { cidrs = var.approved_model_gateway_cidrs, tags = null, k8s = null }
  }
  smart_groups = {
    for k, v in local.smart_group_intent : k => merge(v, { name = "sg-${var.name_prefix}-${k}" })
    if v.tags != null || v.k8s != null || length(v.cidrs) > 0
  }

  # The controller's predefined SmartGroups.
  anywhere        = "def000ad-0000-0000-0000-000000000000"
  public_internet = "def000ad-0000-0000-0000-000000000001"
  system_groups   = { (local.anywhere) = "Anywhere", (local.public_internet) = "Public Internet" }

  https = { protocol = "TCP", ports = [443] }
  allow = { action = "PERMIT", src = ["agents"], dst = [local.public_internet], scenario = null, owasp = [], atlas = [] }

  # Rule intent in evaluation order, with the seed's priorities. src and
  # dst name SmartGroups by key, or system groups by UUID; web names
  # WebGroups by key. A rule whose groups do not exist is left out.
  rule_intent = [
    merge(local.https, { priority = 10, name = "${var.name_prefix}-shadow-model-deny", action = "DENY", src = ["agents"], dst = [local.public_internet],
    web = ["unapproved-model-providers"], scenario = "shadow_model", owasp = ["LLM08"], atlas = ["AML.T0048"] }),
    { priority = 18, name = "allow-vpc-dns-udp", action = "PERMIT", protocol = "UDP", ports = [53], src = ["agents"], dst = ["vpc-dns-resolver"], web = [], scenario = "infrastructure", owasp = [], atlas = [] },
    { priority = 19, name = "allow-vpc-dns-tcp", action = "PERMIT", protocol = "TCP", ports = [53], src = ["agents"], dst = ["vpc-dns-resolver"], web = [], scenario = "infrastructure", owasp = [], atlas = [] },
    { priority = 20, name = "deny-dns-exfil-udp", action = "DENY", protocol = "UDP", ports = [53], src = ["agents"], dst = [local.anywhere], web = [], scenario = "dns_exfiltration", owasp = ["LLM02"], atlas = ["AML.T0025"] },
    { priority = 21, name = "deny-dns-exfil-tcp", action = "DENY", protocol = "TCP", ports = [53], src = ["agents"], dst = [local.anywhere], web = [], scenario = "dns_exfiltration", owasp = ["LLM02"], atlas = ["AML.T0025"] },
    merge(local.allow, local.https, { priority = 30, name = "allow-aws-infra", web = ["aws-infra"], scenario = "infrastructure" }),
    merge(local.allow, local.https, { priority = 31, name = "allow-os-updates-https", web = ["os-updates"], scenario = "os_updates" }),
    merge(local.allow, local.https, { priority = 40, name = "allow-model-gateways", web = ["approved-model-gateways"], scenario = "approved_model" }),
    merge(local.allow, local.https, { priority = 41, name = "allow-model-gateway-cidrs", dst = ["model-gateway-cidrs"], web = [], scenario = "approved_model" }),
    merge(local.allow, local.https, { priority = 50, name = "allow-core", web = ["openclaw-core"], scenario = "core" }),
    merge(local.allow, local.https, { priority = 60, name = "allow-packages", web = ["package-registries"], scenario = "packages" }),
    merge(local.allow, local.https, { priority = 70, name = "allow-saas-apis", web = ["approved-saas-apis"], scenario = "saas" }),
    merge(local.allow, local.https, { priority = 80, name = "allow-mcp-gateways", web = ["approved-mcp-gateways"], scenario = "mcp" }),
    merge(local.allow, local.https, { priority = 90, name = "allow-identity-telemetry", web = ["identity-telemetry"], scenario = "identity_telemetry" }),
    merge(local.allow, local.https, { priority = 95, name = "allow-public-reference", web = ["public-reference"], scenario = "public_reference" }),
    { priority = 100, name = "deny-eastwest", action = "DENY", protocol = "ANY", ports = [], src = ["agents"], dst = ["east-west-deny"], web = [], scenario = "east_west", owasp = ["LLM06"], atlas = ["AML.T0051"] },
  ]
  rules = [
    for r in local.rule_intent : r
    if alltrue([for g in concat(r.src, r.dst) : contains(keys(local.smart_groups), g) || contains(keys(local.system_groups), g)])
    && alltrue([for w in r.web : contains(keys(local.web_groups), w)])
  ]

  # Guardrail: a provider both approved and denied as a shadow model.
  model_overlap = sort(tolist(setintersection(
    toset([for d in var.approved_model_gateway_domains : lower(d)]),
    toset([for d in var.unapproved_model_provider_domains : lower(d)]),
  )))
}
