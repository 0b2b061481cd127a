# Every resource the local cloud serves, applied by DigitalOcean's own Terraform provider.
# test/terraform/every-resource.test.ts applies it, plans again (no changes allowed) and destroys it.
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

variable "region" {
  type    = string
  default = "fra1"
}

# Changed by the test's second apply: updates must read back as written too.
variable "volume_size" {
  type    = number
  default = 20
}

variable "https_port" {
  type    = string
  default = "443"
}

variable "app_port" {
  type    = number
  default = 8080
}

variable "record_ttl" {
  type    = number
  default = 300
}

variable "bare_size" {
  type    = string
  default = "s-1vcpu-1gb"
}

resource "digitalocean_tag" "env" {
  name = "${var.name}-env"
}

resource "digitalocean_ssh_key" "deploy" {
  name       = "${var.name}-deploy"
  public_key = var.public_key
}

resource "digitalocean_vpc" "net" {
  name     = "${var.name}-net"
  region   = var.region
  ip_range = "10.40.0.0/16"
}

resource "digitalocean_droplet" "app" {
  name     = "${var.name}-app"
  image    = "ubuntu-22-04-x64"
  region   = var.region
  size     = "s-1vcpu-1gb"
  vpc_uuid = digitalocean_vpc.net.id
  ssh_keys = [digitalocean_ssh_key.deploy.fingerprint]
  tags     = [digitalocean_tag.env.id]
}

# No SSH keys (godo sends "ssh_keys": null), no VPC (the region's default), resized by the update.
resource "digitalocean_droplet" "bare" {
  name   = "${var.name}-bare"
  image  = "ubuntu-22-04-x64"
  region = var.region
  size   = var.bare_size
}

resource "digitalocean_volume" "data" {
  name                    = "${var.name}-data"
  region                  = var.region
  size                    = var.volume_size
  initial_filesystem_type = "ext4"
  description             = "data for ${var.name}"
}

# Unformatted (godo sends "filesystem_type": ""), tagged.
resource "digitalocean_volume" "raw" {
  name   = "${var.name}-raw"
  region = var.region
  size   = 5
  tags   = [digitalocean_tag.env.id]
}

resource "digitalocean_volume_attachment" "data" {
  droplet_id = digitalocean_droplet.app.id
  volume_id  = digitalocean_volume.data.id
}

# A firewall naming its droplet, and one with no droplets at all (the provider sends
# "droplet_ids": null for it).
resource "digitalocean_firewall" "app" {
  name        = "${var.name}-app"
  droplet_ids = [digitalocean_droplet.app.id]

  inbound_rule {
    protocol         = "tcp"
    port_range       = "22"
    source_addresses = ["0.0.0.0/0", "::/0"]
  }
  inbound_rule {
    protocol         = "icmp"
    source_addresses = ["0.0.0.0/0"]
  }
  outbound_rule {
    protocol              = "tcp"
    port_range            = "1-65535"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
}

resource "digitalocean_firewall" "by_tag" {
  name = "${var.name}-by-tag"
  tags = [digitalocean_tag.env.id]

  inbound_rule {
    protocol         = "tcp"
    port_range       = var.https_port
    source_addresses = ["0.0.0.0/0"]
  }
  inbound_rule {
    protocol    = "tcp"
    port_range  = "5432"
    source_tags = [digitalocean_tag.env.id]
  }
  inbound_rule {
    protocol         = "udp"
    port_range       = "all"
    source_addresses = ["10.0.0.0/8"]
  }
  outbound_rule {
    protocol              = "icmp"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
}

resource "digitalocean_reserved_ip" "public" {
  region = var.region
}

resource "digitalocean_reserved_ip_assignment" "public" {
  ip_address = digitalocean_reserved_ip.public.ip_address
  droplet_id = digitalocean_droplet.app.id
}

resource "digitalocean_loadbalancer" "web" {
  name        = "${var.name}-web"
  region      = var.region
  vpc_uuid    = digitalocean_vpc.net.id
  droplet_ids = [digitalocean_droplet.app.id]

  forwarding_rule {
    entry_protocol  = "http"
    entry_port      = 80
    target_protocol = "http"
    target_port     = var.app_port
  }

  healthcheck {
    protocol = "http"
    port     = var.app_port
    path     = "/healthz"
  }
}

resource "digitalocean_domain" "zone" {
  name = "${var.name}.example.com"
}

resource "digitalocean_record" "www" {
  domain = digitalocean_domain.zone.id
  type   = "A"
  name   = "www"
  value  = digitalocean_reserved_ip.public.ip_address
  ttl    = var.record_ttl
}

# After the attach: a droplet takes one action at a time (DigitalOcean answers 422 "Droplet already
# has a pending event" to a second), and Terraform would otherwise start both at once.
# Host names are written with their trailing dot; DigitalOcean keeps them without it.
resource "digitalocean_record" "mail" {
  domain   = digitalocean_domain.zone.id
  type     = "MX"
  name     = "@"
  value    = "mail.${digitalocean_domain.zone.id}."
  priority = 10
}

resource "digitalocean_record" "app" {
  domain = digitalocean_domain.zone.id
  type   = "CNAME"
  name   = "app"
  value  = "www.${digitalocean_domain.zone.id}."
}

resource "digitalocean_droplet_snapshot" "app" {
  droplet_id = digitalocean_droplet.app.id
  name       = "${var.name}-app-snap"
  depends_on = [digitalocean_volume_attachment.data]
}

resource "digitalocean_volume_snapshot" "data" {
  volume_id = digitalocean_volume.data.id
  name      = "${var.name}-data-snap"
}
