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
  name              = "t"
  vpc_cidr          = "10.20.0.0/16"
  availability_zone = "us-east-1a"
}

run "private_agent_subnet" {
  command = apply
  assert {
    condition     = aws_subnet.agents.map_public_ip_on_launch == false && aws_subnet.agents.cidr_block == "10.20.0.0/20"
    error_message = "the agent subnet is private"
  }
  assert {
    condition     = aws_route.gateway_default.route_table_id == aws_route_table.gateway.id
    error_message = "only the gateway subnet routes to the internet gateway"
  }
  assert {
    condition     = aws_route_table_association.agents.route_table_id == aws_route_table.agents.id
    error_message = "the agent subnet has its own route table (the controller programs its default route)"
  }
  assert {
    condition     = join(",", sort(keys(aws_vpc_endpoint.interface))) == "ec2messages,logs,ssm,ssmmessages,sts" && alltrue([for e in aws_vpc_endpoint.interface : e.private_dns_enabled])
    error_message = "interface endpoints for ssm, ssmmessages, ec2messages, logs and sts"
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_flow_log.this.log_destination_type == "cloud-watch-logs"
    error_message = "VPC flow logs of all traffic to CloudWatch"
  }
  assert {
    condition     = length(aws_vpc_endpoint.s3) == 0 && output.vpc_dns_resolver_cidr == "10.20.0.2/32"
    error_message = "no S3 endpoint unless asked; resolver at base + 2"
  }
}

run "optional_s3_gateway_endpoint" {
  command = plan
  variables {
    enable_s3_gateway_endpoint = true
  }
  assert {
    condition     = length(aws_vpc_endpoint.s3) == 1 && aws_vpc_endpoint.s3[0].vpc_endpoint_type == "Gateway"
    error_message = "the S3 gateway endpoint"
  }
}
