output "policy_catalog" {
  description = "The catalog vca-collector loads: terraform output -json policy_catalog > catalog.json"
  value       = module.policy.policy_catalog
}

output "rule_names" {
  value = module.policy.rule_names
}

output "agent_instance_id" {
  description = "Open a session with: aws ssm start-session --target <id>"
  value       = try(module.agent_host[0].instance_id, null)
}

output "agent_private_ip" {
  value = try(module.agent_host[0].private_ip, null)
}

output "vpc_id" {
  value = module.network.vpc_id
}

output "spoke_gateway_name" {
  value = nonsensitive(module.spoke.spoke_gateway.gw_name)
}

output "collector_private_ip" {
  value = try(module.collector_host[0].private_ip, null)
}

output "verify_egress" {
  description = "Run on the agent host after apply (via SSM)."
  value       = "POLICY_MODE=${var.policy_mode} /opt/openclaw-vca/verify-egress.sh"
}
