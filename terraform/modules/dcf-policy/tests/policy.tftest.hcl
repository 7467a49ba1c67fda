# Offline tests: the Aviatrix provider is mocked (its schema and validators
# come from the stub in terraform/tools/stub-aviatrix).
mock_provider "aviatrix" {
  # The controller's system profile "start/end" as the data source reads
  # it (the policy list accepts only the system profiles' UUIDs).
  mock_data "aviatrix_dcf_log_profile" {
    defaults = { profile_id = "def000ad-7000-0000-0000-000000000003", session_start = true, session_end = true }
  }
}

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

run "every_rule_and_the_default_action_log_session_start_and_end" {
  command = apply
  assert {
    condition     = alltrue([for p in aviatrix_distributed_firewalling_policy_list.this[0].policies : p.log_profile == "def000ad-7000-0000-0000-000000000003"]) && aviatrix_distributed_firewalling_default_action_rule.this[0].log_profile == "def000ad-7000-0000-0000-000000000003"
    error_message = "every rule and the default action must log with the start/end profile"
  }
  assert {
    condition     = data.aviatrix_dcf_log_profile.rules[0].profile_name == "start/end" && output.policy_catalog.log_profile == { name = "start/end", uuid = "def000ad-7000-0000-0000-000000000003", session_start = true, session_end = true }
    error_message = "the catalog records the log profile: ${jsonencode(output.policy_catalog.log_profile)}"
  }
}

run "guardrail_refuses_a_profile_that_logs_nothing" {
  command = plan
  variables {
    log_profile = "start"
  }
  override_data {
    target = data.aviatrix_dcf_log_profile.rules
    values = { profile_id = "def000ad-7000-0000-0000-000000000001", session_start = false, session_end = false }
  }
  expect_failures = [aviatrix_distributed_firewalling_policy_list.this]
}

run "a_profile_name_the_policy_list_cannot_take_is_refused" {
  command = plan
  variables {
    log_profile = "my-custom-profile"
  }
  expect_failures = [var.log_profile]
}

run "kubernetes_agents_by_cluster_and_namespace" {
  command = apply
  variables {
    agent_tag        = null
    agent_kubernetes = { cluster_id = "arn:aws:eks:us-east-1:123456789012:cluster/agents", namespace = "coding-agents", register_cluster = true }
  }
  assert {
    condition = [for e in aviatrix_smart_group.this["agents"].selector[0].match_expressions : "${e.type}|${e.k8s_cluster_id}|${e.k8s_namespace}"] == [
      "k8s|arn:aws:eks:us-east-1:123456789012:cluster/agents|coding-agents",
    ]
    error_message = "the agent SmartGroup selects the namespace of the cluster, and nothing by tag"
  }
  assert {
    condition     = join(",", sort(keys(aviatrix_config_feature.k8s))) == "k8s,k8s_dcf_policies" && aviatrix_kubernetes_cluster.agents[0].cluster_id == "arn:aws:eks:us-east-1:123456789012:cluster/agents" && aviatrix_kubernetes_cluster.agents[0].use_csp_credentials
    error_message = "Kubernetes SmartGroups need the k8s features and the cluster registered"
  }
  assert {
    condition     = one([for g in output.policy_catalog.smart_groups : g if g.name == "sg-vca-openclaw-agents"]).kubernetes == { cluster_id = "arn:aws:eks:us-east-1:123456789012:cluster/agents", namespace = "coding-agents" }
    error_message = "the catalog carries the Kubernetes selector of the agent group"
  }
  assert {
    condition     = output.rule_names[0] == "vca-openclaw-shadow-model-deny" && length(output.rule_names) == 8
    error_message = "the same ordered pack applies to Kubernetes agents: ${jsonencode(output.rule_names)}"
  }
}

run "kubernetes_agents_by_tag_and_pod" {
  command = apply
  variables {
    agent_kubernetes = { cluster_id = "agents-cluster", namespace = "coding-agents", pod = "openclaw-0", features = false }
  }
  assert {
    condition     = length(aviatrix_smart_group.this["agents"].selector[0].match_expressions) == 2 && length(aviatrix_config_feature.k8s) == 0 && length(aviatrix_kubernetes_cluster.agents) == 0
    error_message = "tag and pod: one expression each, features and registration left to the operator"
  }
}

run "kubernetes_pod_without_namespace_is_refused" {
  command = plan
  variables {
    agent_kubernetes = { cluster_id = "agents-cluster", pod = "openclaw-0" }
  }
  expect_failures = [var.agent_kubernetes]
}

run "kubernetes_pod_and_service_together_are_refused" {
  command = plan
  variables {
    agent_kubernetes = { cluster_id = "agents-cluster", namespace = "coding-agents", pod = "openclaw-0", service = "openclaw" }
  }
  expect_failures = [var.agent_kubernetes]
}

run "kubernetes_names_must_be_rfc1123_labels" {
  command = plan
  variables {
    agent_kubernetes = { cluster_id = "agents-cluster", namespace = "Coding_Agents" }
  }
  expect_failures = [var.agent_kubernetes]
}

run "no_agent_selector_is_refused" {
  command = plan
  variables {
    agent_tag = null
  }
  expect_failures = [output.rule_names]
}
