# Offline stand-in for terraform-aviatrix-modules/mc-spoke/aviatrix 8.2.3:
# the inputs this stack passes (types and defaults as upstream) and the
# outputs it reads. Seeded by tests/modules.json so that init downloads
# nothing; the real module is used for every real plan and apply.
terraform {
  required_providers {
    aviatrix = {
      source = "AviatrixSystems/aviatrix"
    }
  }
}

variable "cloud" { type = string }
variable "name" { type = string }
variable "region" { type = string }
variable "account" { type = string }
variable "cidr" {
  type    = string
  default = ""
}
variable "use_existing_vpc" {
  type    = bool
  default = false
}
variable "vpc_id" {
  type    = string
  default = ""
}
variable "gw_subnet" {
  type    = string
  default = ""
  validation {
    condition     = var.gw_subnet == "" || can(cidrnetmask(var.gw_subnet))
    error_message = "gw_subnet must be a CIDR (upstream validates it the same way)."
  }
}
variable "instance_size" {
  type    = string
  default = null
}
variable "ha_gw" {
  type    = bool
  default = true
}
variable "attached" {
  type    = bool
  default = true
}
variable "transit_gw" {
  type    = string
  default = ""
}
variable "single_ip_snat" {
  type    = bool
  default = false
}
variable "private_vpc_default_route" {
  type    = bool
  default = false
}
variable "enable_encrypt_volume" {
  type    = bool
  default = false
}
variable "tags" {
  type    = map(string)
  default = null
}

output "vpc" {
  value = null
}

output "spoke_gateway" {
  value = {
    gw_name           = var.name
    private_ip        = "10.20.16.10"
    eip               = "198.51.100.10"
    cloud_instance_id = "i-0123456789abcdef0"
    security_group_id = "sg-0123456789abcdef0"
  }
  sensitive = true
}

output "spoke_ha_gateway" {
  value     = []
  sensitive = true
}
