variable "name" {
  description = "Name of the deployment: prefixes AWS resources and names the spoke gateway."
  type        = string
  default     = "openclaw-vca"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 2 to 31 characters."
  }
}

variable "aws_region" {
  type = string
}

variable "availability_zone" {
  description = "Zone of the agent and gateway subnets; null takes the region's first."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "enable_s3_gateway_endpoint" {
  type    = bool
  default = false
}

variable "aviatrix_account_name" {
  description = "The AWS account as onboarded in the Aviatrix controller."
  type        = string
}

variable "aviatrix_ca_certificate_path" {
  description = "CA of the controller's certificate; set it to verify the controller (the provider does not by default)."
  type        = string
  default     = null
}

variable "spoke_instance_size" {
  type    = string
  default = "t3.medium"
}

variable "transit_gateway_name" {
  description = "Transit gateway to attach the spoke to; null leaves it unattached (egress through the spoke itself)."
  type        = string
  default     = null
}

variable "agent_instance_type" {
  type    = string
  default = "t3.large"
}

variable "agent_tag" {
  description = "CSP tag of the agent hosts (the VM agent host gets it); null selects the agents by agent_kubernetes alone."
  type        = object({ key = string, value = string })
  default     = { key = "Role", value = "openclaw-agent-harness" }
}

variable "deploy_agent_host" {
  description = "Deploy the VM agent host; false when the agents run as Kubernetes pods (agent_kubernetes)."
  type        = bool
  default     = true
}

variable "agent_kubernetes" {
  description = "Kubernetes workload of agent pods (see modules/dcf-policy): cluster_id (for EKS its ARN), namespace, pod or service, register_cluster, features, pod_cidrs (the pods' addresses, so the collector can name the agents)."
  type = object({
    cluster_id       = string
    namespace        = optional(string)
    pod              = optional(string)
    service          = optional(string)
    register_cluster = optional(bool, false)
    features         = optional(bool, true)
    pod_cidrs        = optional(list(string), [])
  })
  default = null
}

variable "log_profile" {
  description = "The controller log profile every DCF rule and the default action log with: start/end (default; session end records carry bytes, packets, duration and end reason), start or end."
  type        = string
  default     = "start/end"
}

variable "policy_mode" {
  description = "monitor first; enforce once the would-be-denied destinations are reviewed."
  type        = string
  default     = "monitor"
}

variable "agent_class" {
  type    = string
  default = "locked-down-demo"
}

variable "manage_controller_policy" {
  description = "false on a shared controller: the DCF policy list is controller-wide and replaces every rule on it."
  type        = bool
  default     = true
}

variable "east_west_cidrs" {
  type    = list(string)
  default = []
}

variable "approved_model_gateway_cidrs" {
  type    = list(string)
  default = []
}

variable "approved_model_gateway_domains" {
  type    = list(string)
  default = ["integrate.api.nvidia.com", "inference-api.nvidia.com"]
}

variable "unapproved_model_provider_domains" {
  type    = list(string)
  default = ["api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai", "openrouter.ai", "api.deepseek.com"]
}

variable "os_update_domains" {
  type    = list(string)
  default = []
}

variable "approved_saas_api_domains" {
  type    = list(string)
  default = []
}

variable "approved_mcp_gateway_domains" {
  type    = list(string)
  default = []
}

variable "identity_and_telemetry_domains" {
  type    = list(string)
  default = []
}

# The lists below default to the dcf-policy module's own (null keeps
# them); vca-collector promote writes them whole.
variable "openclaw_core_domains" {
  type    = list(string)
  default = null
}

variable "package_registry_domains" {
  type    = list(string)
  default = null
}

variable "public_reference_domains" {
  type    = list(string)
  default = null
}

variable "enable_package_installs" {
  type    = bool
  default = null
}

variable "enable_public_reference" {
  type    = bool
  default = null
}

variable "collector" {
  description = "Where the gateways send syslog. Set host to deploy a collector EC2 in the gateway subnet (address is then its private IP; binary_url and binary_sha256 name a release binary and its SHA256SUMS line), or address to use an existing collector; null sends nothing."
  type = object({
    address            = optional(string)
    port               = optional(number, 6514)
    syslog_index       = optional(number, 0)
    protocol           = optional(string, "TCP")
    ca_certificate     = optional(string)
    client_certificate = optional(string)
    client_private_key = optional(string)
    host = optional(object({
      binary_url    = string
      binary_sha256 = optional(string)
      config        = optional(string)
      instance_type = optional(string, "t3.medium")
    }))
  })
  default = null
  validation {
    condition     = var.collector == null || try(var.collector.address, null) != null || try(var.collector.host, null) != null
    error_message = "collector: set address (an existing collector) or host (deploy one)."
  }
  validation {
    condition     = try(var.collector.host, null) == null || can(regex("^[0-9a-f]{64}$", try(var.collector.host.binary_sha256, "")))
    error_message = "collector.host.binary_sha256: set it to the SHA-256 of the binary at binary_url (64 lower-case hex digits, its line in the release's SHA256SUMS); the host refuses to run a binary it cannot verify."
  }
}

variable "tags" {
  type    = map(string)
  default = { Project = "openclaw-vca" }
}
