# Agent class "regulated-data" (see the preset table in the README).
name                  = "vca-regulated-data"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "regulated-data"
east_west_cidrs       = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
# Specific internal APIs through the model gateway CIDRs, and observability only.
approved_model_gateway_cidrs   = ["10.60.0.0/24"]
identity_and_telemetry_domains = ["otel.example.internal"]
collector                      = { address = "10.99.0.5", port = 6514 }
