# Stack A's infrastructure (examples/stack-a.yaml) as a Terraform user writes it: SSH key, VPC,
# droplet, firewall, 20 GB volume and attachment, reserved IP and assignment. bench/terraform.ts
# applies it against the local cloud, side by side with opsflow's provisionEnvironment.
# The provider reads its endpoint and token from DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN.
terraform {
  required_providers {
    digitalocean = { source = "digitalocean/digitalocean" }
  }
}

variable "name" {
  type = string
}

variable "public_key" {
  type = string
}

variable "ip_range" {
  type = string
}

variable "region" {
  type    = string
  default = "fra1"
}

resource "digitalocean_ssh_key" "deploy" {
  name       = "${var.name}-deploy"
  public_key = var.public_key
}

resource "digitalocean_vpc" "net" {
  name     = "${var.name}-vpc"
  region   = var.region
  ip_range = var.ip_range
}

resource "digitalocean_droplet" "app" {
  name     = "${var.name}-app"
  image    = "ubuntu-22-04-x64"
  region   = var.region
  size     = "s-1vcpu-1gb"
  vpc_uuid = digitalocean_vpc.net.id
  ssh_keys = [digitalocean_ssh_key.deploy.fingerprint]
  tags     = ["booking"]
}

resource "digitalocean_firewall" "app" {
  name        = "${var.name}-fw"
  droplet_ids = [digitalocean_droplet.app.id]

  inbound_rule {
    protocol         = "tcp"
    port_range       = "22"
    source_addresses = ["0.0.0.0/0"]
  }
  inbound_rule {
    protocol         = "tcp"
    port_range       = "3000"
    source_addresses = ["0.0.0.0/0"]
  }
  inbound_rule {
    protocol         = "tcp"
    port_range       = "8081-8084"
    source_addresses = ["0.0.0.0/0"]
  }
}

resource "digitalocean_volume" "data" {
  name                    = "${var.name}-data"
  region                  = var.region
  size                    = 20
  initial_filesystem_type = "ext4"
}

resource "digitalocean_volume_attachment" "data" {
  droplet_id = digitalocean_droplet.app.id
  volume_id  = digitalocean_volume.data.id
}

resource "digitalocean_reserved_ip" "public" {
  region = var.region
}

resource "digitalocean_reserved_ip_assignment" "public" {
  ip_address = digitalocean_reserved_ip.public.ip_address
  droplet_id = digitalocean_droplet.app.id
}
