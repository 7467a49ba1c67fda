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

variable "vpc_id" {
  type = string
}

variable "subnet_id" {
  description = "Subnet of the collector host, in the spoke gateway's VPC."
  type        = string
}

variable "gateway_private_ips" {
  description = "The spoke gateways' private IPs: the only sources allowed to reach the syslog port."
  type        = list(string)
}

variable "syslog_port" {
  type    = number
  default = 6514
}

variable "instance_type" {
  type    = string
  default = "t3.medium"
}

variable "ami_id" {
  description = "AMI; null picks the latest Amazon Linux 2023 from SSM."
  type        = string
  default     = null
}

variable "data_volume_gib" {
  description = "Root volume size: the spool (default cap 10 GiB) lives on it."
  type        = number
  default     = 40
}

variable "collector_binary_url" {
  description = "Where user data downloads the vca-collector binary (HTTPS or an s3:// URI read with the instance role)."
  type        = string
}

variable "collector_binary_sha256" {
  description = "SHA-256 of the binary at collector_binary_url (its line in the release's SHA256SUMS). User data refuses to install a binary that does not match."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.collector_binary_sha256))
    error_message = "collector_binary_sha256: 64 lower-case hex digits, the release's SHA256SUMS line for the binary at collector_binary_url."
  }
}

variable "collector_config" {
  description = "collector.yaml content; the listener must use syslog_port."
  type        = string
}

variable "policy_catalog_json" {
  description = "The policy catalog (dcf-policy's policy_catalog output, JSON-encoded), installed as /etc/vca-collector/catalog.json."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

module "profile" {
  source = "../instance-profile"
  name   = "${var.name}-collector"
  tags   = var.tags
}

resource "aws_security_group" "collector" {
  name        = "${var.name}-collector"
  description = "vca-collector: syslog from the spoke gateways only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "syslog" {
  for_each          = toset(var.gateway_private_ips)
  security_group_id = aws_security_group.collector.id
  cidr_ipv4         = "${each.value}/32"
  ip_protocol       = "tcp"
  from_port         = var.syslog_port
  to_port           = var.syslog_port
  description       = "syslog (TCP/TLS) from spoke gateway ${each.value}"
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.collector.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_instance" "collector" {
  ami                         = coalesce(var.ami_id, try(nonsensitive(data.aws_ssm_parameter.al2023[0].value), null))
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.collector.id]
  iam_instance_profile        = module.profile.instance_profile_name
  associate_public_ip_address = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    volume_size = var.data_volume_gib
    volume_type = "gp3"
  }

  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    binary_url    = var.collector_binary_url
    binary_sha256 = var.collector_binary_sha256
    config        = var.collector_config
    catalog       = var.policy_catalog_json
    # The unit the release ships (deploy/systemd), not a copy of it.
    unit = file("${path.module}/../../../deploy/systemd/vca-collector.service")
  })
  user_data_replace_on_change = true

  tags = merge(var.tags, { Name = "${var.name}-collector", Role = "vca-collector" })
}

output "private_ip" {
  value = aws_instance.collector.private_ip
}

output "instance_id" {
  value = aws_instance.collector.id
}

output "security_group_id" {
  value = aws_security_group.collector.id
}
