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
  name                    = "t"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_id               = "subnet-0123456789abcdef0"
  gateway_private_ips     = ["10.20.16.10"]
  collector_binary_url    = "https://artifacts.example.com/vca-collector"
  collector_binary_sha256 = "e74fa9b1af7f27201ce0802c00817bb704323e567296b1a506139a28a3224e49"
  collector_config        = "listeners: {tcp: [{name: gw, address: \"0.0.0.0:6514\"}]}"
  policy_catalog_json     = "{}"
}

run "collector_open_only_to_the_gateway" {
  command = apply
  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.syslog : "${r.cidr_ipv4}:${r.from_port}-${r.to_port}/${r.ip_protocol}"] == ["10.20.16.10/32:6514-6514/tcp"]
    error_message = "syslog reachable from the gateway only"
  }
  assert {
    condition     = aws_instance.collector.associate_public_ip_address == false && aws_instance.collector.metadata_options[0].http_tokens == "required" && aws_instance.collector.root_block_device[0].encrypted
    error_message = "the collector host is private and hardened"
  }
  assert {
    condition     = strcontains(aws_instance.collector.user_data, "ExecStart=/usr/local/bin/vca-collector run --config /etc/vca-collector/collector.yaml") && strcontains(aws_instance.collector.user_data, "systemctl enable --now vca-collector") && strcontains(aws_instance.collector.user_data, "catalog check /etc/vca-collector/catalog.json")
    error_message = "user data installs the systemd unit and checks the catalog"
  }
  assert {
    condition     = strcontains(aws_instance.collector.user_data, "echo \"e74fa9b1af7f27201ce0802c00817bb704323e567296b1a506139a28a3224e49  $download\" | sha256sum --check --status") && strcontains(aws_instance.collector.user_data, "mv \"$download\" /usr/local/bin/vca-collector")
    error_message = "user data installs the binary only after its SHA-256 matches"
  }
  assert {
    condition     = strcontains(aws_instance.collector.user_data, file("../../../deploy/systemd/vca-collector.service")) && strcontains(aws_instance.collector.user_data, "Type=notify")
    error_message = "the host runs the release's systemd unit (deploy/systemd), readiness by sd_notify"
  }
}

run "a_binary_without_its_checksum_is_refused" {
  command = plan
  variables {
    collector_binary_sha256 = "sha256:E74FA9B1"
  }
  expect_failures = [var.collector_binary_sha256]
}
