terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
    aviatrix = {
      source  = "AviatrixSystems/aviatrix"
      version = ">= 8.2.10, < 8.3.0" # aviatrix_config_feature arrived in 8.2.10 (tools/provider-floor.json)
    }
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = var.tags
  }
}

# controller_ip, username and password come from AVIATRIX_CONTROLLER_IP,
# AVIATRIX_USERNAME and AVIATRIX_PASSWORD.
provider "aviatrix" {
  verify_ssl_certificate = var.aviatrix_ca_certificate_path != null
  path_to_ca_certificate = var.aviatrix_ca_certificate_path
}
