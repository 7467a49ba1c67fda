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
  name            = "t-host"
  inline_policies = { write-logs = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}

run "ssm_managed_role_with_its_inline_policy" {
  command = apply
  assert {
    condition     = aws_iam_role_policy_attachment.ssm_core.policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" && join(",", keys(aws_iam_role_policy.inline)) == "write-logs"
    error_message = "SSM core and the given inline policy, nothing else"
  }
  assert {
    condition     = aws_iam_instance_profile.this.role == aws_iam_role.this.name
    error_message = "the instance profile carries the role"
  }
}
