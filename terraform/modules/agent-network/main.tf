terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
  }
}

variable "name" {
  type = string
}

variable "vpc_cidr" {
  type = string
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a CIDR."
  }
}

variable "availability_zone" {
  type = string
}

variable "enable_s3_gateway_endpoint" {
  type    = bool
  default = false
}

variable "flow_log_retention_days" {
  type    = number
  default = 90
}

variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_region" "current" {}

locals {
  agent_subnet_cidr   = cidrsubnet(var.vpc_cidr, 4, 0)
  gateway_subnet_cidr = cidrsubnet(var.vpc_cidr, 4, 1)
  endpoints           = toset(["ssm", "ssmmessages", "ec2messages", "logs", "sts"])
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints need private DNS
  tags                 = merge(var.tags, { Name = var.name })
}

# The agents' subnet: no internet gateway route. Its default route is
# programmed toward the spoke gateway by the controller.
resource "aws_subnet" "agents" {
  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.agent_subnet_cidr
  availability_zone       = var.availability_zone
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-agents", Tier = "private" })
}

# The spoke gateway's subnet: public, with the internet gateway route.
resource "aws_subnet" "gateway" {
  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.gateway_subnet_cidr
  availability_zone       = var.availability_zone
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-gateway", Tier = "public" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_route_table" "gateway" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-gateway" })
}

resource "aws_route" "gateway_default" {
  route_table_id         = aws_route_table.gateway.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "gateway" {
  subnet_id      = aws_subnet.gateway.id
  route_table_id = aws_route_table.gateway.id
}

# No inline routes: the controller owns this table's default route, and
# inline route blocks would delete it on the next apply.
resource "aws_route_table" "agents" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-agents" })
}

resource "aws_route_table_association" "agents" {
  subnet_id      = aws_subnet.agents.id
  route_table_id = aws_route_table.agents.id
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "HTTPS from the VPC to the interface endpoints"
  vpc_id      = aws_vpc.this.id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# SSM, logs and STS stay on private endpoints, so managing the host does not
# depend on the egress policy.
resource "aws_vpc_endpoint" "interface" {
  for_each            = local.endpoints
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.agents.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_endpoint" "s3" {
  count             = var.enable_s3_gateway_endpoint ? 1 : 0
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  tags              = merge(var.tags, { Name = "${var.name}-s3" })
}

resource "aws_vpc_endpoint_route_table_association" "s3" {
  count           = var.enable_s3_gateway_endpoint ? 1 : 0
  vpc_endpoint_id = aws_vpc_endpoint.s3[0].id
  route_table_id  = aws_route_table.agents.id
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/openclaw-vca/${var.name}/vpc-flow-logs"
  retention_in_days = var.flow_log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id               = aws_vpc.this.id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
  tags                 = var.tags
}

output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr" {
  value = aws_vpc.this.cidr_block
}

output "agent_subnet_id" {
  value = aws_subnet.agents.id
}

output "gateway_subnet_id" {
  value = aws_subnet.gateway.id
}

output "gateway_subnet_cidr" {
  value = aws_subnet.gateway.cidr_block
}

output "agent_route_table_id" {
  value = aws_route_table.agents.id
}

output "vpc_dns_resolver_cidr" {
  description = "The VPC resolver (base + 2)."
  value       = "${cidrhost(var.vpc_cidr, 2)}/32"
}

output "interface_endpoints" {
  value = sort(keys(aws_vpc_endpoint.interface))
}
