data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  az = coalesce(var.availability_zone, data.aws_availability_zones.available.names[0])
}

module "network" {
  source                     = "./modules/agent-network"
  name                       = var.name
  vpc_cidr                   = var.vpc_cidr
  availability_zone          = local.az
  enable_s3_gateway_endpoint = var.enable_s3_gateway_endpoint
  tags                       = var.tags
}

# The spoke gateway in the existing VPC's public subnet. The controller
# programs the private route tables' default route toward it, which is what
# makes it the agents' only way out.
module "spoke" {
  source  = "terraform-aviatrix-modules/mc-spoke/aviatrix"
  version = "8.2.3"

  cloud                     = "AWS"
  name                      = "${var.name}-spoke"
  region                    = var.aws_region
  account                   = var.aviatrix_account_name
  use_existing_vpc          = true
  vpc_id                    = module.network.vpc_id
  gw_subnet                 = module.network.gateway_subnet_cidr
  instance_size             = var.spoke_instance_size
  ha_gw                     = false
  attached                  = var.transit_gateway_name != null
  transit_gw                = var.transit_gateway_name
  single_ip_snat            = true
  private_vpc_default_route = true
  enable_encrypt_volume     = true
  tags                      = var.tags
}

# The VM agent host; agents that run as Kubernetes pods (agent_kubernetes)
# need none.
module "agent_host" {
  count         = var.deploy_agent_host ? 1 : 0
  source        = "./modules/agent-host"
  name          = var.name
  vpc_id        = module.network.vpc_id
  subnet_id     = module.network.agent_subnet_id
  instance_type = var.agent_instance_type
  agent_tag     = var.agent_tag
  policy_mode   = var.policy_mode
  verify_egress_env = {
    VPC_RESOLVER = cidrhost(var.vpc_cidr, 2)
  }
  tags       = var.tags
  depends_on = [module.spoke] # the default route exists before the host boots
}

module "policy" {
  source                            = "./modules/dcf-policy"
  name_prefix                       = "vca-openclaw"
  policy_mode                       = var.policy_mode
  agent_class                       = var.agent_class
  aws_region                        = var.aws_region
  agent_tag                         = var.agent_tag
  agent_kubernetes                  = var.agent_kubernetes
  log_profile                       = var.log_profile
  agent_member_ips                  = module.agent_host[*].private_ip
  vpc_dns_resolver_cidr             = module.network.vpc_dns_resolver_cidr
  east_west_cidrs                   = var.east_west_cidrs
  approved_model_gateway_cidrs      = var.approved_model_gateway_cidrs
  approved_model_gateway_domains    = var.approved_model_gateway_domains
  unapproved_model_provider_domains = var.unapproved_model_provider_domains
  os_update_domains                 = var.os_update_domains
  approved_saas_api_domains         = var.approved_saas_api_domains
  approved_mcp_gateway_domains      = var.approved_mcp_gateway_domains
  identity_and_telemetry_domains    = var.identity_and_telemetry_domains
  openclaw_core_domains             = var.openclaw_core_domains
  package_registry_domains          = var.package_registry_domains
  public_reference_domains          = var.public_reference_domains
  enable_package_installs           = var.enable_package_installs
  enable_public_reference           = var.enable_public_reference
  manage_controller_policy          = var.manage_controller_policy
  syslog = var.collector == null ? null : {
    server             = coalesce(try(var.collector.address, null), try(module.collector_host[0].private_ip, null))
    port               = var.collector.port
    index              = var.collector.syslog_index
    protocol           = var.collector.protocol
    ca_certificate     = var.collector.ca_certificate
    client_certificate = var.collector.client_certificate
    client_private_key = var.collector.client_private_key
  }
  depends_on = [module.spoke] # SmartGroups resolve the VPC's objects
}

locals {
  deploy_collector = try(var.collector.host, null) != null
  collector_config = <<-YAML
    listeners:
      tcp:
        - name: gateways
          address: "0.0.0.0:${try(var.collector.port, 6514)}"
    catalog:
      file: /etc/vca-collector/catalog.json
    sinks:
      file: {path: /var/lib/vca-collector/events.jsonl}
    admin: {address: "127.0.0.1:9465"}
  YAML
}

module "collector_host" {
  count                   = local.deploy_collector ? 1 : 0
  source                  = "./modules/collector-host"
  name                    = var.name
  vpc_id                  = module.network.vpc_id
  subnet_id               = module.network.gateway_subnet_id
  gateway_private_ips     = [nonsensitive(module.spoke.spoke_gateway.private_ip)]
  syslog_port             = var.collector.port
  instance_type           = var.collector.host.instance_type
  collector_binary_url    = var.collector.host.binary_url
  collector_binary_sha256 = var.collector.host.binary_sha256
  collector_config        = coalesce(var.collector.host.config, local.collector_config)
  policy_catalog_json     = jsonencode(module.policy.policy_catalog_static)
  tags                    = var.tags
}
