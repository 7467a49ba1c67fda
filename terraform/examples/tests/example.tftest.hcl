# Plans the stack with an example variable file (tofu test -var-file=…):
# every required variable is present and the presets hold.
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

run "example_plans" {
  command = plan
  assert {
    condition     = output.rule_names[0] == "vca-openclaw-shadow-model-deny" && contains(output.rule_names, "deny-dns-exfil-udp") && contains(output.rule_names, "deny-dns-exfil-tcp")
    error_message = "the shadow-model deny first, DNS exfiltration denied on UDP and TCP: ${jsonencode(output.rule_names)}"
  }
}
