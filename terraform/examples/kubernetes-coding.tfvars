# A coding agent that runs as Kubernetes pods (agent class "coding"): the
# agent SmartGroup selects the namespace of the cluster instead of a tagged
# VM, and the same ordered policy pack and preset apply. The cluster (for
# EKS its ARN) runs its nodes in the stack's private agent subnet, so the
# spoke gateway is the pods' only way out; it is registered with the
# controller with the account's credentials. pod_cidrs are the pods'
# addresses (the VPC CNI hands them out of the agent subnet): they go into
# the policy catalog so the collector names the agents and their workload.
name                  = "vca-k8s-coding"
aws_region            = "us-east-1"
aviatrix_account_name = "aws-agents"
policy_mode           = "monitor"
agent_class           = "coding"
deploy_agent_host     = false
agent_tag             = null
agent_kubernetes = {
  cluster_id       = "arn:aws:eks:us-east-1:123456789012:cluster/agents"
  namespace        = "coding-agents"
  register_cluster = true
  pod_cidrs        = ["10.20.0.0/20"]
}
east_west_cidrs                = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
os_update_domains              = ["deb.debian.org", "security.debian.org"]
identity_and_telemetry_domains = ["otel.example.internal"]
collector                      = { address = "10.99.0.5", port = 6514 }
