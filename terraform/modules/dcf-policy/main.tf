resource "aviatrix_config_feature" "dcf" {
  count        = var.enable_distributed_firewalling ? 1 : 0
  feature_name = "microseg"
  is_enabled   = true
}

# Kubernetes SmartGroups need the controller's k8s features and the
# cluster registered with it.
resource "aviatrix_config_feature" "k8s" {
  for_each     = var.enable_distributed_firewalling && try(var.agent_kubernetes.features, false) ? toset(["k8s", "k8s_dcf_policies"]) : toset([])
  feature_name = each.key
  is_enabled   = true
  depends_on   = [aviatrix_config_feature.dcf]
}

resource "aviatrix_kubernetes_cluster" "agents" {
  count               = try(var.agent_kubernetes.register_cluster, false) ? 1 : 0
  cluster_id          = var.agent_kubernetes.cluster_id
  use_csp_credentials = true
  depends_on          = [aviatrix_config_feature.k8s]
}

# The profile the rules log with; its UUID is the controller's.
data "aviatrix_dcf_log_profile" "rules" {
  count        = var.manage_controller_policy ? 1 : 0
  profile_name = var.log_profile
}

resource "aviatrix_smart_group" "this" {
  for_each = local.smart_groups
  name     = each.value.name

  selector {
    dynamic "match_expressions" {
      for_each = each.value.k8s == null ? [] : [each.value.k8s]
      content {
        type           = "k8s"
        k8s_cluster_id = match_expressions.value.cluster_id
        k8s_namespace  = match_expressions.value.namespace
        k8s_pod        = match_expressions.value.pod
        k8s_service    = match_expressions.value.service
      }
    }
    # cidr cannot share an expression with other keys (the API refuses
    # it at apply, the schema does not): one expression per CIDR.
    dynamic "match_expressions" {
      for_each = each.value.tags == null ? [] : [each.value.tags]
      content {
        type = "vm"
        tags = match_expressions.value
      }
    }
    dynamic "match_expressions" {
      for_each = each.value.cidrs
      content {
        cidr = match_expressions.value
      }
    }
  }
}

resource "aviatrix_web_group" "this" {
  for_each = local.web_groups
  name     = each.value.name

  selector {
    dynamic "match_expressions" {
      for_each = each.value.domains
      content {
        snifilter = match_expressions.value
      }
    }
  }
}

locals {
  group_uuid = merge(
    { for k, g in aviatrix_smart_group.this : k => g.uuid },
    { for k in keys(local.system_groups) : k => k },
  )
}

resource "aviatrix_distributed_firewalling_policy_list" "this" {
  # Without rules (no agent selector: see output rule_names) there is no
  # list to write; the provider refuses an empty one.
  count = var.manage_controller_policy && length(local.rules) > 0 ? 1 : 0

  dynamic "policies" {
    for_each = local.rules
    content {
      name             = policies.value.name
      priority         = policies.value.priority
      action           = policies.value.action
      protocol         = policies.value.protocol
      logging          = true
      watch            = var.policy_mode == "monitor"
      log_profile      = data.aviatrix_dcf_log_profile.rules[0].profile_id
      src_smart_groups = [for g in policies.value.src : local.group_uuid[g]]
      dst_smart_groups = [for g in policies.value.dst : local.group_uuid[g]]
      web_groups       = [for w in policies.value.web : aviatrix_web_group.this[w].uuid]
      # SigV4 and pinned model endpoints break under TLS interception.
      decrypt_policy = length(policies.value.web) > 0 ? "DECRYPT_NOT_ALLOWED" : null

      dynamic "port_ranges" {
        for_each = policies.value.protocol == "ICMP" ? [] : policies.value.ports
        content {
          lo = port_ranges.value
        }
      }
    }
  }

  depends_on = [aviatrix_config_feature.dcf]

  lifecycle {
    precondition {
      condition     = length(local.model_overlap) == 0
      error_message = "Model provider(s) ${join(", ", local.model_overlap)} listed as both approved and unapproved: remove them from one of approved_model_gateway_domains and unapproved_model_provider_domains."
    }
    precondition {
      condition     = length(distinct([for r in local.rules : r.priority])) == length(local.rules)
      error_message = "Two rules share a priority."
    }
    precondition {
      condition     = alltrue([for r in local.rules : r.protocol != "ICMP" || length(r.ports) == 0])
      error_message = "ICMP rules cannot carry port ranges (the controller refuses them at apply)."
    }
    precondition {
      condition     = data.aviatrix_dcf_log_profile.rules[0].session_start || data.aviatrix_dcf_log_profile.rules[0].session_end
      error_message = "The controller's log profile \"${var.log_profile}\" logs neither session start nor session end: the gateways would send no decision to the collector."
    }
  }
}

resource "aviatrix_distributed_firewalling_default_action_rule" "this" {
  count       = var.manage_controller_policy ? 1 : 0
  action      = var.policy_mode == "enforce" ? "DENY" : "PERMIT"
  logging     = true
  log_profile = data.aviatrix_dcf_log_profile.rules[0].profile_id

  depends_on = [aviatrix_distributed_firewalling_policy_list.this]
}

resource "aviatrix_remote_syslog" "collector" {
  count                   = var.syslog == null ? 0 : 1
  index                   = var.syslog.index
  name                    = "${var.name_prefix}-vca-collector"
  server                  = var.syslog.server
  port                    = var.syslog.port
  protocol                = var.syslog.protocol
  ca_certificate_file     = var.syslog.ca_certificate
  public_certificate_file = var.syslog.client_certificate
  private_key_file        = var.syslog.client_private_key
  excluded_gateways       = var.syslog.excluded_gateways
}
