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

variable "subnet_id" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "t3.large"
}

variable "ami_id" {
  description = "AMI of the agent host; null picks the latest Amazon Linux 2023 from SSM."
  type        = string
  default     = null
}

variable "root_volume_gib" {
  type    = number
  default = 40
}

variable "agent_tag" {
  description = "The CSP tag the agent SmartGroup selects."
  type        = object({ key = string, value = string })
}

variable "policy_mode" {
  type = string
}

variable "verify_egress_env" {
  description = "Environment for verify-egress.sh (destinations to probe), written to /opt/openclaw-vca/verify-egress.env."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  type    = number
  default = 90
}

variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_cloudwatch_log_group" "agent" {
  name              = "/openclaw-vca/${var.name}/agent-host"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.agent.arn}:*"]
  }
}

# SSM sessions instead of SSH, and writing to its own log group: nothing else.
module "profile" {
  source          = "../instance-profile"
  name            = "${var.name}-agent-host"
  inline_policies = { write-own-log-group = data.aws_iam_policy_document.logs.json }
  tags            = var.tags
}

# No inbound at all: administration goes through SSM.
resource "aws_security_group" "agent" {
  name        = "${var.name}-agent-host"
  description = "Agent host: no inbound; outbound is filtered by the spoke gateway"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.agent.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_instance" "agent" {
  ami                         = coalesce(var.ami_id, try(nonsensitive(data.aws_ssm_parameter.al2023[0].value), null))
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.agent.id]
  iam_instance_profile        = module.profile.instance_profile_name
  associate_public_ip_address = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    volume_size = var.root_volume_gib
    volume_type = "gp3"
  }

  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    verify_egress = file("${path.module}/../../scripts/verify-egress.sh")
    env           = merge({ POLICY_MODE = var.policy_mode }, var.verify_egress_env)
  })
  user_data_replace_on_change = true

  tags = merge(var.tags, { Name = "${var.name}-agent-host", (var.agent_tag.key) = var.agent_tag.value })
}

output "instance_id" {
  value = aws_instance.agent.id
}

output "private_ip" {
  value = aws_instance.agent.private_ip
}

output "role_arn" {
  value = module.profile.role_arn
}

output "managed_policy_arns" {
  value = module.profile.managed_policy_arns
}
