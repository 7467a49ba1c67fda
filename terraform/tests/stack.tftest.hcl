# The whole stack, offline: both providers mocked (schemas and validators
# from the AWS and Aviatrix stubs, or the real AWS provider under
# preflight-real-aws), mc-spoke replaced by
# tests/stubs/mc-spoke (seeded by tests/modules.json).
mock_provider "aviatrix" {
  # The controller's system profile "start/end" as the data source reads
  # it (the policy list accepts only the system profiles' UUIDs).
  mock_data "aviatrix_dcf_log_profile" {
    defaults = { profile_id = "def000ad-7000-0000-0000-000000000003", session_start = true, session_end = true }
  }
}

mock_provider "aws" {
  # Values that pass the real provider's validation (ARNs, policy JSON,
  # zones, AMIs). OpenTofu has no shared mock files: each test file
  # declares its mocks.
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b"] }
  }
  mock_data "aws_region" {
    defaults = { region = "us-east-1", name = "us-east-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_instance" {
    defaults = { private_ip = "10.20.0.15" }
  }
}

variables {
  aws_region            = "us-east-1"
  aviatrix_account_name = "aws-agents"
}

run "monitor_mode_stack_with_collector_host" {
  command = apply
  variables {
    agent_class     = "coding"
    east_west_cidrs = ["10.0.0.0/8"]
    collector = {
      host = {
        binary_url    = "https://artifacts.example.com/vca-collector"
        binary_sha256 = "e74fa9b1af7f27201ce0802c00817bb704323e567296b1a506139a28a3224e49"
      }
    }
  }
  assert {
    condition     = output.agent_private_ip == "10.20.0.15" && output.verify_egress == "POLICY_MODE=monitor /opt/openclaw-vca/verify-egress.sh"
    error_message = "agent host wiring"
  }
  assert {
    condition     = output.rule_names[0] == "vca-openclaw-shadow-model-deny" && contains(output.rule_names, "allow-packages") && output.rule_names[length(output.rule_names) - 1] == "deny-eastwest"
    error_message = "policy wiring: ${jsonencode(output.rule_names)}"
  }
  assert {
    condition     = output.policy_catalog.mode == "monitor" && join(",", output.policy_catalog.smart_groups[0].member_ips) == "10.20.0.15" && output.collector_private_ip == "10.20.0.15"
    error_message = "the catalog names the agent host by address; the collector host exists"
  }
}

run "existing_collector_and_enforce" {
  command = plan
  variables {
    policy_mode = "enforce"
    collector   = { address = "10.99.0.5", syslog_index = 2 }
  }
  assert {
    condition     = output.collector_private_ip == null
    error_message = "no collector host when an address is given"
  }
}

run "collector_needs_an_address_or_a_host" {
  command = plan
  variables {
    collector = { port = 6514 }
  }
  expect_failures = [var.collector]
}

run "collector_host_needs_the_binary_checksum" {
  command = plan
  variables {
    collector = {
      host = { binary_url = "https://artifacts.example.com/vca-collector" }
    }
  }
  expect_failures = [var.collector]
}
