# A DOKS cluster with a second node pool, applied by DigitalOcean's own Terraform provider against
# the local cloud (each cluster a real Kubernetes control plane on this machine).
# test/terraform/kubernetes.test.ts applies it, plans again (no changes allowed), resizes a pool,
# plans again and destroys it. The provider reads its endpoint and token from DIGITALOCEAN_API_URL
# and DIGITALOCEAN_TOKEN.
terraform {
  required_providers {
    digitalocean = { source = "digitalocean/digitalocean" }
  }
}

variable "name" {
  type = string
}

variable "region" {
  type    = string
  default = "fra1"
}

# Changed by the test's second apply: a resize must read back as written too.
variable "workers" {
  type    = number
  default = 1
}

data "digitalocean_kubernetes_versions" "current" {}

resource "digitalocean_kubernetes_cluster" "main" {
  name    = "${var.name}-k8s"
  region  = var.region
  version = data.digitalocean_kubernetes_versions.current.latest_version
  tags    = ["${var.name}-env"]

  node_pool {
    name       = "${var.name}-default"
    size       = "s-2vcpu-4gb"
    node_count = 1
    labels     = { role = "system" }
  }
}

resource "digitalocean_kubernetes_node_pool" "workers" {
  cluster_id = digitalocean_kubernetes_cluster.main.id
  name       = "${var.name}-workers"
  size       = "s-2vcpu-4gb"
  node_count = var.workers
  tags       = ["${var.name}-workers"]
}

output "endpoint" {
  value = digitalocean_kubernetes_cluster.main.endpoint
}
