# One LabelVault instance per user or team, as a platform deploys it: the server and a
# worker in one group sharing the data volume; PostgreSQL, Redis and S3 from the platform.
# Run: nomad job run -var admin_password=… deploy/labelvault.nomad.hcl   (see README "Recipes").
variable "instance" { default = "team-a" }
variable "admin_password" {}
variable "image" { default = "labelvault:latest" }

job "labelvault-team-a" {
  type = "service"

  group "labelvault" {
    network {
      port "http" { to = 8080 }
    }

    volume "data" {
      type   = "host"
      source = "labelvault-data"
    }

    service {
      name = "labelvault-${var.instance}"
      port = "http"
      tags = ["traefik.enable=true"]
      check {
        name     = "live"
        type     = "http"
        path     = "/api/server/health"
        interval = "15s"
        timeout  = "3s"
      }
      check {
        name     = "ready"
        type     = "http"
        path     = "/api/server/ready"
        interval = "30s"
        timeout  = "5s"
      }
    }

    task "server" {
      driver = "docker"
      config {
        image = var.image
        ports = ["http"]
        args  = ["serve", "--queue-url", "redis://redis.service.consul:6379/0"]
      }
      volume_mount {
        volume      = "data"
        destination = "/data"
      }
      env {
        LABELVAULT_INSTANCE_NAME    = var.instance
        LABELVAULT_ADMIN_PASSWORD   = var.admin_password
        LABELVAULT_DATABASE_URL     = "postgresql+psycopg://labelvault@postgres.service.consul/labelvault"
        LABELVAULT_STORAGE_URL      = "webdav+https://nextcloud.example.org/remote.php/dav/files/team-a/labelvault"
        LABELVAULT_STORAGE_REQUIRED = "true"
        LABELVAULT_TRUSTED_PROXIES  = "10.0.0.0/8"
        LABELVAULT_LOG_FORMAT       = "json"
        LABELVAULT_OIDC_ISSUER      = "https://aai.egi.eu/auth/realms/egi"
        LABELVAULT_OIDC_NAME        = "EGI Check-in"
      }
      resources {
        cpu    = 1000
        memory = 2048
      }
    }

    task "worker" {
      driver = "docker"
      config {
        image = var.image
        args  = ["worker", "--queue-url", "redis://redis.service.consul:6379/0"]
      }
      volume_mount {
        volume      = "data"
        destination = "/data"
      }
      env {
        LABELVAULT_DATABASE_URL = "postgresql+psycopg://labelvault@postgres.service.consul/labelvault"
        LABELVAULT_LOG_FORMAT   = "json"
      }
      resources {
        cpu    = 1000
        memory = 2048
      }
    }
  }
}
