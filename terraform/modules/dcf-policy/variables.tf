variable "name_prefix" {
  description = "Prefix of the SmartGroup and WebGroup names."
  type        = string
  default     = "vca-openclaw"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: lower-case letters, digits and dashes, 2 to 31 characters, starting with a letter."
  }
}

variable "policy_mode" {
  description = "monitor: every rule logs what it would do (watch = true) and unmatched traffic is permitted and logged; enforce: rules act and the default action denies and logs."
  type        = string
  default     = "monitor"
  validation {
    condition     = contains(["monitor", "enforce"], var.policy_mode)
    error_message = "policy_mode must be \"monitor\" or \"enforce\"."
  }
}

variable "agent_class" {
  description = "Preset of permitted destination categories: locked-down-demo, coding, research, support, regulated-data, or custom (only the enable_* overrides)."
  type        = string
  default     = "locked-down-demo"
  validation {
    condition     = contains(["locked-down-demo", "coding", "research", "support", "regulated-data", "custom"], var.agent_class)
    error_message = "agent_class must be one of locked-down-demo, coding, research, support, regulated-data, custom."
  }
}

variable "aws_region" {
  description = "Region of the agent VPC; the AWS infrastructure WebGroup is generated from it."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "agent_tag" {
  description = "CSP tag that selects the agent hosts for the agent SmartGroup; null selects them by agent_kubernetes alone."
  type        = object({ key = string, value = string })
  default     = { key = "Role", value = "openclaw-agent-harness" }
}

variable "agent_kubernetes" {
  description = "Kubernetes workload of agent pods for the agent SmartGroup (with agent_tag, the group holds both): the cluster as registered with the controller (for EKS its ARN), optionally a namespace, and within it a pod or a service. register_cluster registers the cluster with the controller using the account's CSP credentials; features turns on the controller's k8s and k8s_dcf_policies features; pod_cidrs (the pods' addresses) go into the policy catalog only, so the collector can name the agents (the controller resolves the selector, the collector cannot)."
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
  validation {
    condition     = var.agent_kubernetes == null || try(length(trimspace(var.agent_kubernetes.cluster_id)) > 0, false)
    error_message = "agent_kubernetes.cluster_id must name the cluster (for EKS its ARN)."
  }
  validation {
    condition     = var.agent_kubernetes == null || try(var.agent_kubernetes.pod == null || var.agent_kubernetes.namespace != null, true)
    error_message = "agent_kubernetes.pod needs agent_kubernetes.namespace: a pod is selected within a cluster and a namespace."
  }
  validation {
    condition     = var.agent_kubernetes == null || try(var.agent_kubernetes.pod == null || var.agent_kubernetes.service == null, true)
    error_message = "agent_kubernetes.pod and agent_kubernetes.service exclude each other: select the agent pods by one or the other."
  }
  validation {
    condition = var.agent_kubernetes == null || alltrue([for n in compact([try(var.agent_kubernetes.namespace, null), try(var.agent_kubernetes.pod, null), try(var.agent_kubernetes.service, null)]) :
    can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", n))])
    error_message = "agent_kubernetes.namespace, pod and service must be Kubernetes names (RFC 1123 labels: lower case, digits and '-', at most 63 characters)."
  }
  validation {
    condition     = var.agent_kubernetes == null || alltrue([for c in try(var.agent_kubernetes.pod_cidrs, []) : can(cidrhost(c, 0))])
    error_message = "agent_kubernetes.pod_cidrs must be CIDRs."
  }
}

variable "log_profile" {
  description = "The controller log profile every rule and the default action log with, by name: start/end (session start and end records: bytes, packets, duration and end reason reach the evidence), start or end. The policy list accepts only the controller's system profiles."
  type        = string
  default     = "start/end"
  validation {
    condition     = contains(["start/end", "start", "end"], var.log_profile)
    error_message = "log_profile must be \"start/end\", \"start\" or \"end\": the controller's system profiles, the only ones a DCF policy list accepts."
  }
}

variable "agent_member_ips" {
  description = "Private IPs of the agent hosts, when known at apply: written into the policy catalog so the collector can name the agent group by address (the controller resolves tags; the collector cannot)."
  type        = list(string)
  default     = []
}

variable "vpc_dns_resolver_cidr" {
  description = "The VPC resolver (VPC base + 2), as a /32."
  type        = string
  validation {
    condition     = can(cidrhost(var.vpc_dns_resolver_cidr, 0)) && endswith(var.vpc_dns_resolver_cidr, "/32")
    error_message = "vpc_dns_resolver_cidr must be a /32, e.g. 10.20.0.2/32."
  }
}

variable "east_west_cidrs" {
  description = "Internal CIDRs the agents must not reach (lateral movement). Empty: no east-west rule."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.east_west_cidrs : can(cidrhost(c, 0))])
    error_message = "east_west_cidrs must all be CIDRs."
  }
}

variable "approved_model_gateway_cidrs" {
  description = "Internal model-gateway CIDRs (rule 41). Empty: no rule."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.approved_model_gateway_cidrs : can(cidrhost(c, 0))])
    error_message = "approved_model_gateway_cidrs must all be CIDRs."
  }
}

variable "openclaw_core_domains" {
  type     = list(string)
  nullable = false
  default  = ["openclaw.ai", "www.openclaw.ai", "docs.openclaw.ai", "clawhub.ai", "www.nvidia.com"]
}

variable "approved_model_gateway_domains" {
  description = "Sanctioned model endpoints. Prefer an enterprise model gateway."
  type        = list(string)
  default     = ["integrate.api.nvidia.com", "inference-api.nvidia.com"]
}

variable "unapproved_model_provider_domains" {
  description = "Model APIs denied ahead of every allow rule, so shadow-model attempts are logged by name."
  type        = list(string)
  default     = ["api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai", "openrouter.ai", "api.deepseek.com"]
}

variable "package_registry_domains" {
  type     = list(string)
  nullable = false
  default  = ["registry.npmjs.org", "pypi.org", "files.pythonhosted.org", "github.com", "*.githubusercontent.com", "huggingface.co", "registry-1.docker.io"]
}

variable "os_update_domains" {
  description = "HTTPS OS update mirrors (rule 31). Empty: no rule."
  type        = list(string)
  default     = []
}

variable "approved_saas_api_domains" {
  description = "Business SaaS APIs for this agent class (rule 70). Empty: no rule."
  type        = list(string)
  default     = []
}

variable "approved_mcp_gateway_domains" {
  description = "Enterprise MCP / tool gateways (rule 80). Empty: no rule."
  type        = list(string)
  default     = []
}

variable "identity_and_telemetry_domains" {
  description = "Identity providers and observability endpoints (rule 90). Empty: no rule."
  type        = list(string)
  default     = []
}

variable "public_reference_domains" {
  description = "Search, weather and reference endpoints for demo or research agents (rule 95)."
  type        = list(string)
  nullable    = false
  default     = ["api.duckduckgo.com", "en.wikipedia.org", "api.open-meteo.com"]
}

variable "enable_package_installs" {
  description = "Override the preset: allow package registries (rule 60). null keeps the preset."
  type        = bool
  default     = null
}

variable "enable_public_reference" {
  description = "Override the preset: allow public reference endpoints (rule 95). null keeps the preset."
  type        = bool
  default     = null
}

variable "manage_controller_policy" {
  description = "Write the controller-wide DCF policy list and default action. The policy list replaces every DCF rule on the controller: set false on a shared controller and merge the rules centrally (the catalog output still describes them)."
  type        = bool
  default     = true
}

variable "enable_distributed_firewalling" {
  description = "Turn the controller's DCF feature (microseg) on."
  type        = bool
  default     = true
}

variable "syslog" {
  description = "Remote syslog profile pointing the gateways at vca-collector; null creates none. ca_certificate (PEM) turns TLS on; client_certificate and client_private_key add a client certificate."
  type = object({
    server             = string
    port               = optional(number, 6514)
    index              = optional(number, 0)
    protocol           = optional(string, "TCP")
    ca_certificate     = optional(string)
    client_certificate = optional(string)
    client_private_key = optional(string)
    excluded_gateways  = optional(list(string), [])
  })
  default = null
  validation {
    condition     = var.syslog == null || (try(var.syslog.index, 0) >= 0 && try(var.syslog.index, 0) <= 8)
    error_message = "syslog.index must be 0 to 8: profile 9 is reserved for CoPilot."
  }
  validation {
    condition     = var.syslog == null || contains(["TCP", "UDP"], try(var.syslog.protocol, "TCP"))
    error_message = "syslog.protocol must be TCP or UDP; TLS is TCP with ca_certificate set."
  }
  validation {
    condition     = var.syslog == null || ((try(var.syslog.client_certificate, null) == null) == (try(var.syslog.client_private_key, null) == null))
    error_message = "syslog.client_certificate and syslog.client_private_key go together."
  }
}
