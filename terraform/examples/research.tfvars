# Agent class "research" (see the preset table in the README).
name                  = "vca-research"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "research"
east_west_cidrs       = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
# Approved search/data APIs, document stores and telemetry; no package registries.
approved_saas_api_domains      = ["api.semanticscholar.org", "*.sharepoint.com"]
identity_and_telemetry_domains = ["otel.example.internal"]
collector                      = { address = "10.99.0.5", port = 6514 }
