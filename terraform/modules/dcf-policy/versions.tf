terraform {
  required_version = ">= 1.6"
  required_providers {
    aviatrix = {
      source  = "AviatrixSystems/aviatrix"
      version = ">= 8.2.10, < 8.3.0" # aviatrix_config_feature arrived in 8.2.10 (tools/provider-floor.json)
    }
  }
}
