# Agent class "coding" (see the preset table in the README).
name                  = "vca-coding"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "coding"
east_west_cidrs       = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
# GitHub, package registries, OS updates and telemetry on top of the core.
os_update_domains              = ["deb.debian.org", "security.debian.org"]
identity_and_telemetry_domains = ["otel.example.internal"]
collector                      = { address = "10.99.0.5", port = 6514 }
