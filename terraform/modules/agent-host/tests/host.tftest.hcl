# Offline: the AWS provider is mocked (its schema from tools/stub-aws, or
# schema and validation from the real provider under preflight-real-aws).
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
  name        = "t"
  vpc_id      = "vpc-0123456789abcdef0"
  subnet_id   = "subnet-0123456789abcdef0"
  agent_tag   = { key = "Role", value = "openclaw-agent-harness" }
  policy_mode = "enforce"
  verify_egress_env = {
    VPC_RESOLVER = "10.20.0.2"
  }
}

run "hardened_agent_host" {
  command = apply
  assert {
    condition     = aws_instance.agent.metadata_options[0].http_tokens == "required" && aws_instance.agent.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "IMDSv2 must be required"
  }
  assert {
    condition     = aws_instance.agent.root_block_device[0].encrypted
    error_message = "the root volume must be encrypted"
  }
  assert {
    condition     = aws_instance.agent.associate_public_ip_address == false
    error_message = "the agent host must have no public IP"
  }
  assert {
    condition     = aws_instance.agent.tags["Role"] == "openclaw-agent-harness"
    error_message = "the agent SmartGroup selects the Role tag"
  }
  assert {
    condition     = strcontains(aws_instance.agent.user_data, "/opt/openclaw-vca/verify-egress.sh") && strcontains(aws_instance.agent.user_data, "probe_dns udp") && strcontains(aws_instance.agent.user_data, "POLICY_MODE=enforce") && strcontains(aws_instance.agent.user_data, "VPC_RESOLVER=10.20.0.2")
    error_message = "user data installs verify-egress.sh and its settings"
  }
  assert {
    condition     = join(",", output.managed_policy_arns) == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "SSM core is the only managed policy"
  }
}

run "tag_is_configurable" {
  command = plan
  variables {
    agent_tag = { key = "workload", value = "coding-agent" }
  }
  assert {
    condition     = aws_instance.agent.tags["workload"] == "coding-agent"
    error_message = "agent tag key and value come from agent_tag"
  }
}
