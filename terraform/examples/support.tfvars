# Agent class "support" (see the preset table in the README).
name                  = "vca-support"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "support"
east_west_cidrs       = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
# CRM, ticketing, knowledge base and the MCP gateway; no source code or registries.
approved_saas_api_domains      = ["api.zendesk.com", "*.my.salesforce.com", "kb.example.com"]
approved_mcp_gateway_domains   = ["mcp.example.internal"]
identity_and_telemetry_domains = ["login.microsoftonline.com"]
collector                      = { address = "10.99.0.5", port = 6514 }
