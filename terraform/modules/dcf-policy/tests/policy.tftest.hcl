# Offline tests: the Aviatrix provider is mocked (its schema and validators
# come from the stub in terraform/tools/stub-aviatrix).
mock_provider "aviatrix" {}

variables {
  aws_region            = "us-east-1"
  vpc_dns_resolver_cidr = "10.20.0.2/32"
}

run "locked_down_demo_monitor" {
  command = apply
  variables {
    agent_class = "locked-down-demo"
    policy_mode = "monitor"
  }
  assert {
    condition = output.rule_names == [
      "vca-openclaw-shadow-model-deny", "allow-vpc-dns-udp", "allow-vpc-dns-tcp", "deny-dns-exfil-udp", "deny-dns-exfil-tcp",
      "allow-aws-infra", "allow-model-gateways", "allow-core",
    ]
    error_message = "locked-down rules: ${jsonencode(output.rule_names)}"
  }
  assert {
    condition     = aviatrix_distributed_firewalling_policy_list.this[0].policies[0].name == "vca-openclaw-shadow-model-deny" && aviatrix_distributed_firewalling_policy_list.this[0].policies[0].priority == 10 && aviatrix_distributed_firewalling_policy_list.this[0].policies[0].action == "DENY"
    error_message = "the shadow-model deny must be first, at priority 10"
  }
  assert {
    condition     = alltrue([for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : p.watch && p.logging])
    error_message = "monitor mode: every rule watches and logs"
  }
  assert {
    condition     = aviatrix_distributed_firewalling_default_action_rule.this[0].action == "PERMIT" && aviatrix_distributed_firewalling_default_action_rule.this[0].logging
    error_message = "monitor mode: the default action permits and logs"
  }
  assert {
    condition     = !contains(keys(aviatrix_web_group.this), "package-registries") && length(aviatrix_remote_syslog.collector) == 0
    error_message = "locked-down: no package WebGroup, no syslog profile unless asked"
  }
}

run "coding_enforce_with_every_optional_input" {
  command = apply
  variables {
    agent_class                    = "coding"
    policy_mode                    = "enforce"
    east_west_cidrs                = ["10.0.0.0/8", "172.16.0.0/12"]
    approved_model_gateway_cidrs   = ["10.50.0.0/24"]
    os_update_domains              = ["deb.debian.org"]
    identity_and_telemetry_domains = ["login.microsoftonline.com"]
  }
  assert {
    condition = [for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : "${p.priority}:${p.name}"] == [
      "10:vca-openclaw-shadow-model-deny", "18:allow-vpc-dns-udp", "19:allow-vpc-dns-tcp", "20:deny-dns-exfil-udp", "21:deny-dns-exfil-tcp",
      "30:allow-aws-infra", "31:allow-os-updates-https", "40:allow-model-gateways", "41:allow-model-gateway-cidrs", "50:allow-core",
      "60:allow-packages", "90:allow-identity-telemetry", "100:deny-eastwest",
    ]
    error_message = "coding rules: ${jsonencode(output.rule_names)}"
  }
  assert {
    condition     = alltrue([for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : !p.watch && p.logging])
    error_message = "enforce mode: every rule acts and logs"
  }
  assert {
    condition     = aviatrix_distributed_firewalling_default_action_rule.this[0].action == "DENY" && aviatrix_distributed_firewalling_default_action_rule.this[0].logging
    error_message = "enforce mode: the default action denies and logs"
  }
  assert {
    condition     = [for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : "${p.protocol}/${p.port_ranges[0].lo}:${p.action}" if startswith(p.name, "deny-dns-exfil")] == ["UDP/53:DENY", "TCP/53:DENY"]
    error_message = "external DNS must be denied on both UDP and TCP 53"
  }
  assert {
    condition     = alltrue([for i in range(1, length(aviatrix_distributed_firewalling_policy_list.this[0].policies)) : aviatrix_distributed_firewalling_policy_list.this[0].policies[i].priority > aviatrix_distributed_firewalling_policy_list.this[0].policies[i - 1].priority])
    error_message = "priorities must ascend in list order"
  }
}

run "presets_differ_as_the_seed_says" {
  command = plan
  variables {
    agent_class                  = "support"
    approved_saas_api_domains    = ["api.zendesk.com", "*.salesforce.com"]
    approved_mcp_gateway_domains = ["mcp.example.internal"]
  }
  assert {
    condition     = contains(output.rule_names, "allow-saas-apis") && contains(output.rule_names, "allow-mcp-gateways") && !contains(output.rule_names, "allow-packages")
    error_message = "support: SaaS and MCP allowed, packages not: ${jsonencode(output.rule_names)}"
  }
}

run "optional_rules_absent_without_inputs" {
  command = plan
  variables {
    agent_class = "support"
  }
  assert {
    condition     = !contains(output.rule_names, "allow-saas-apis") && !contains(output.rule_names, "allow-mcp-gateways") && !contains(output.rule_names, "deny-eastwest")
    error_message = "rules without domains or CIDRs must not exist: ${jsonencode(output.rule_names)}"
  }
}

run "guardrail_refuses_a_model_both_approved_and_denied" {
  command = plan
  variables {
    approved_model_gateway_domains = ["integrate.api.nvidia.com", "API.OpenAI.com"]
  }
  expect_failures = [aviatrix_distributed_firewalling_policy_list.this]
}

run "syslog_index_9_is_refused" {
  command = plan
  variables {
    syslog = { server = "10.20.0.50", index = 9 }
  }
  expect_failures = [var.syslog]
}

run "syslog_over_tls_with_client_certificate" {
  command = apply
  variables {
    syslog = { server = "10.20.0.50", port = 6514, index = 3, ca_certificate = "CA PEM", client_certificate = "CERT PEM", client_private_key = "KEY PEM" }
  }
  assert {
    condition     = aviatrix_remote_syslog.collector[0].index == 3 && aviatrix_remote_syslog.collector[0].protocol == "TCP" && aviatrix_remote_syslog.collector[0].ca_certificate_file == "CA PEM" && aviatrix_remote_syslog.collector[0].private_key_file == "KEY PEM"
    error_message = "syslog profile: TCP with TLS certificates at index 3"
  }
}

run "shared_controller_leaves_policy_alone" {
  command = apply
  variables {
    manage_controller_policy = false
  }
  assert {
    condition     = length(aviatrix_distributed_firewalling_policy_list.this) == 0 && length(aviatrix_distributed_firewalling_default_action_rule.this) == 0 && length(output.policy_catalog.rules) == 8
    error_message = "manage_controller_policy = false: no policy list, no default action, the catalog still describes the rules"
  }
}

run "bad_agent_class_is_refused" {
  command = plan
  variables {
    agent_class = "developer"
  }
  expect_failures = [var.agent_class]
}
