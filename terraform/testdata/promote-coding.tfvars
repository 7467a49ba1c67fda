# vca-collector promote: destinations monitor mode saw denied from 2026-11-20T08:00:00Z to 2026-11-20T11:00:00Z,
# accepted into their allow-lists (policy catalog coding-monitor-63727ea37141, agent class coding).
# Each list is whole: the catalog's domains plus the new ones. Review, then merge into terraform.tfvars.

# core: docs.openclaw.ai hub.openclaw.ai openclaw.ai (403 hits, sg-hermes-agents)
openclaw_core_domains = [
  "clawhub.ai",
  "docs.openclaw.ai",
  "hub.openclaw.ai",
  "openclaw.ai",
  "www.nvidia.com",
  "www.openclaw.ai",
]

# packages: registry.npmjs.org (111 hits, sg-hermes-agents) proxy.golang.org (104 hits, sg-hermes-agents) pypi.org (103 hits, sg-hermes-agents) files.pythonhosted.org (98 hits, sg-hermes-agents) raw.githubusercontent.com (47 hits, sg-hermes-agents) cdn.jsdelivr.net (45 hits, sg-hermes-agents)
enable_package_installs = true
package_registry_domains = [
  "*.githubusercontent.com",
  "cdn.jsdelivr.net",
  "files.pythonhosted.org",
  "github.com",
  "huggingface.co",
  "proxy.golang.org",
  "pypi.org",
  "raw.githubusercontent.com",
  "registry-1.docker.io",
  "registry.npmjs.org",
]

# public_reference: pkg.go.dev (84 hits, sg-hermes-agents) docs.python.org (72 hits, sg-hermes-agents) en.wikipedia.org (69 hits, sg-hermes-agents)
# The catalog has no public_reference WebGroup: this list replaces the module's default list.
enable_public_reference = true
public_reference_domains = [
  "docs.python.org",
  "en.wikipedia.org",
  "pkg.go.dev",
]
