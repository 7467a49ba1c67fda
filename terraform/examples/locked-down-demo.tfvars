# Agent class "locked-down-demo" (see the preset table in the README).
name                  = "vca-locked-down-demo"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "locked-down-demo"
east_west_cidrs       = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
# Model gateway, OpenClaw/NemoClaw core and AWS private operations only.
collector = { address = "10.99.0.5", port = 6514 }
