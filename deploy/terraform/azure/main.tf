# Azure Container Apps: an API app (serve with RUN_WORKERS=0, external ingress) and a worker app
# (aggregator worker, no ingress), Azure Database for PostgreSQL flexible server (the metadata
# store) and Azure Cache for Redis (live run events). See README.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "azurerm" {
  features {}
}

locals {
  database_url = "postgres://aggregator:${random_password.db.result}@${azurerm_postgresql_flexible_server.postgres.fqdn}:5432/aggregator?sslmode=require"
  redis_url    = "rediss://:${azurerm_redis_cache.redis.primary_access_key}@${azurerm_redis_cache.redis.hostname}:${azurerm_redis_cache.redis.ssl_port}/0"
  # Container Apps secrets, read by both apps.
  secrets = {
    "secret-key"     = var.secret_key
    "encryption-key" = var.encryption_key
    "database-url"   = local.database_url
    "redis-url"      = local.redis_url
  }
  secret_env = {
    SECRET_KEY     = "secret-key"
    ENCRYPTION_KEY = "encryption-key"
    DATABASE_URL   = "database-url"
    REDIS_URL      = "redis-url"
  }
  environment = {
    ENVIRONMENT = "production"
    LOG_FORMAT  = "json"
  }
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "random_id" "suffix" {
  byte_length = 3
}

# --- PostgreSQL and Redis ------------------------------------------------------------------

resource "azurerm_postgresql_flexible_server" "postgres" {
  name                          = "${var.name}-${random_id.suffix.hex}"
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  version                       = "16"
  sku_name                      = var.postgres_sku
  storage_mb                    = var.postgres_storage_mb
  administrator_login           = "aggregator"
  administrator_password        = random_password.db.result
  backup_retention_days         = 7
  public_network_access_enabled = true
  lifecycle {
    ignore_changes = [zone]
  }
}

# 0.0.0.0 admits Azure services only (the Container Apps' outbound addresses), not the internet.
resource "azurerm_postgresql_flexible_server_firewall_rule" "azure" {
  name             = "azure-services"
  server_id        = azurerm_postgresql_flexible_server.postgres.id
  start_ip_address = "0.0.0.0"
  end_ip_address   = "0.0.0.0"
}

resource "azurerm_postgresql_flexible_server_database" "aggregator" {
  name      = "aggregator"
  server_id = azurerm_postgresql_flexible_server.postgres.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

resource "azurerm_redis_cache" "redis" {
  name                 = "${var.name}-${random_id.suffix.hex}"
  location             = azurerm_resource_group.this.location
  resource_group_name  = azurerm_resource_group.this.name
  sku_name             = var.redis_sku
  family               = var.redis_sku == "Premium" ? "P" : "C"
  capacity             = var.redis_capacity
  minimum_tls_version  = "1.2"
  non_ssl_port_enabled = false
}

# --- Container Apps ------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "this" {
  name                = var.name
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = 30
}

resource "azurerm_container_app_environment" "this" {
  name                       = var.name
  location                   = azurerm_resource_group.this.location
  resource_group_name        = azurerm_resource_group.this.name
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id
}

resource "azurerm_container_app" "api" {
  name                         = "${var.name}-api"
  container_app_environment_id = azurerm_container_app_environment.this.id
  resource_group_name          = azurerm_resource_group.this.name
  revision_mode                = "Single"

  dynamic "secret" {
    for_each = local.secrets
    content {
      name  = secret.key
      value = secret.value
    }
  }

  ingress {
    external_enabled = true
    target_port      = 8001
    transport        = "auto" # HTTP/1.1 with WebSocket upgrades
    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  template {
    min_replicas = var.api_min_replicas
    max_replicas = var.api_max_replicas
    container {
      name   = "api"
      image  = var.image
      args   = ["serve"]
      cpu    = 1
      memory = "2Gi"
      dynamic "env" {
        for_each = merge(local.environment, { RUN_WORKERS = "0" }, var.public_url == "" ? {} : { PUBLIC_URL = var.public_url })
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secret_env
        content {
          name        = env.key
          secret_name = env.value
        }
      }
      startup_probe {
        transport = "HTTP"
        port      = 8001
        path      = "/healthz"
      }
      liveness_probe {
        transport = "HTTP"
        port      = 8001
        path      = "/healthz"
      }
      readiness_probe {
        transport = "HTTP"
        port      = 8001
        path      = "/readyz"
      }
    }
  }
  depends_on = [azurerm_postgresql_flexible_server_database.aggregator, azurerm_postgresql_flexible_server_firewall_rule.azure]
}

resource "azurerm_container_app" "worker" {
  name                         = "${var.name}-worker"
  container_app_environment_id = azurerm_container_app_environment.this.id
  resource_group_name          = azurerm_resource_group.this.name
  revision_mode                = "Single"

  dynamic "secret" {
    for_each = local.secrets
    content {
      name  = secret.key
      value = secret.value
    }
  }

  template {
    min_replicas = var.worker_replicas
    max_replicas = var.worker_replicas
    container {
      name   = "worker"
      image  = var.image
      args   = ["worker", "--concurrency", tostring(var.worker_concurrency)]
      cpu    = 2
      memory = "4Gi"
      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secret_env
        content {
          name        = env.key
          secret_name = env.value
        }
      }
    }
  }
  # Workers start after the API app, whose first replica applies the schema migrations.
  depends_on = [azurerm_container_app.api]
}
