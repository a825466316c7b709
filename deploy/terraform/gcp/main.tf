# Cloud Run: an API service (serve with RUN_WORKERS=0, public) and a worker service (serve with
# RUN_WORKERS slots, internal, CPU always allocated), Cloud SQL for PostgreSQL on a private IP (the metadata
# store), Memorystore for Redis (live run events), keys in Secret Manager. See README.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

locals {
  database_url = "postgres://aggregator:${random_password.db.result}@${google_sql_database_instance.postgres.private_ip_address}:5432/aggregator?sslmode=require"
  secrets = {
    SECRET_KEY     = google_secret_manager_secret.secret_key.secret_id
    ENCRYPTION_KEY = google_secret_manager_secret.encryption_key.secret_id
    DATABASE_URL   = google_secret_manager_secret.database_url.secret_id
  }
  environment = {
    ENVIRONMENT = "production"
    LOG_FORMAT  = "json"
    PUBLIC_URL  = var.public_url
    REDIS_URL   = "redis://${google_redis_instance.redis.host}:${google_redis_instance.redis.port}/0"
  }
}

resource "google_service_account" "run" {
  account_id   = var.name
  display_name = "Data Aggregator"
}

# --- Secrets -------------------------------------------------------------------------------

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "google_secret_manager_secret" "secret_key" {
  secret_id = "${var.name}-secret-key"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "secret_key" {
  secret      = google_secret_manager_secret.secret_key.id
  secret_data = var.secret_key
}

resource "google_secret_manager_secret" "encryption_key" {
  secret_id = "${var.name}-encryption-key"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "encryption_key" {
  secret      = google_secret_manager_secret.encryption_key.id
  secret_data = var.encryption_key
}

resource "google_secret_manager_secret" "database_url" {
  secret_id = "${var.name}-database-url"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  secret      = google_secret_manager_secret.database_url.id
  secret_data = local.database_url
}

resource "google_secret_manager_secret_iam_member" "run" {
  for_each  = local.secrets
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run.email}"
}

# --- PostgreSQL and Redis ------------------------------------------------------------------

resource "google_sql_database_instance" "postgres" {
  name                = var.name
  database_version    = "POSTGRES_17"
  region              = var.region
  deletion_protection = true
  settings {
    tier              = var.db_tier
    availability_type = "REGIONAL"
    ip_configuration {
      ipv4_enabled    = false
      private_network = var.network
      ssl_mode        = "ENCRYPTED_ONLY"
    }
    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }
  }
}

resource "google_sql_database" "aggregator" {
  name     = "aggregator"
  instance = google_sql_database_instance.postgres.name
}

resource "google_sql_user" "aggregator" {
  name     = "aggregator"
  instance = google_sql_database_instance.postgres.name
  password = random_password.db.result
}

resource "google_redis_instance" "redis" {
  name               = var.name
  tier               = "STANDARD_HA"
  memory_size_gb     = var.redis_memory_size_gb
  region             = var.region
  authorized_network = var.network
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  redis_version      = "REDIS_7_2"
}

# --- Cloud Run -----------------------------------------------------------------------------

resource "google_cloud_run_v2_service" "api" {
  name     = "${var.name}-api"
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  template {
    service_account = google_service_account.run.email
    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
    }
    # WebSockets of the live run view stay open up to the request timeout.
    timeout = "3600s"
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = var.network
        subnetwork = var.subnetwork
      }
    }
    containers {
      image = var.image
      args  = ["serve"]
      ports {
        container_port = 8001
      }
      dynamic "env" {
        for_each = merge(local.environment, { RUN_WORKERS = "0" })
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }
      startup_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 2
        failure_threshold = 60
      }
      liveness_probe {
        http_get {
          path = "/healthz"
        }
      }
      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
      }
    }
  }
  depends_on = [google_secret_manager_secret_iam_member.run, google_sql_user.aggregator]
}

# Anyone may reach the API (it has its own sign-in).
resource "google_cloud_run_v2_service_iam_member" "public" {
  name     = google_cloud_run_v2_service.api.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service" "worker" {
  name     = "${var.name}-worker"
  location = var.region
  # Cloud Run starts an instance only when its port answers, and `aggregator worker` serves no
  # HTTP: the workers here are `serve` processes with RUN_WORKERS run slots (the same queue and
  # take-over as `aggregator worker`), reachable only from inside the project.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  template {
    service_account = google_service_account.run.email
    scaling {
      min_instance_count = var.worker_instances
      max_instance_count = var.worker_instances
    }
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = var.network
        subnetwork = var.subnetwork
      }
    }
    containers {
      image = var.image
      args  = ["serve"]
      ports {
        container_port = 8001
      }
      dynamic "env" {
        for_each = merge(local.environment, { RUN_WORKERS = tostring(var.worker_concurrency) })
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }
      resources {
        cpu_idle = false # CPU always allocated: runs go on between requests
        limits = {
          cpu    = "2"
          memory = "2Gi"
        }
      }
    }
  }
  depends_on = [google_cloud_run_v2_service.api]
}
