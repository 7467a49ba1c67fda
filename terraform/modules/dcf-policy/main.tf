resource "aviatrix_config_feature" "dcf" {
  count        = var.enable_distributed_firewalling ? 1 : 0
  feature_name = "microseg"
  is_enabled   = true
}

resource "aviatrix_smart_group" "this" {
  for_each = local.smart_groups
  name     = each.value.name

  selector {
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
  count = var.manage_controller_policy ? 1 : 0

  dynamic "policies" {
    for_each = local.rules
    content {
      name             = policies.value.name
      priority         = policies.value.priority
      action           = policies.value.action
      protocol         = policies.value.protocol
      logging          = true
      watch            = var.policy_mode == "monitor"
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
  }
}

resource "aviatrix_distributed_firewalling_default_action_rule" "this" {
  count   = var.manage_controller_policy ? 1 : 0
  action  = var.policy_mode == "enforce" ? "DENY" : "PERMIT"
  logging = true

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
