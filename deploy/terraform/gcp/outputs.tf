output "url" {
  description = "HTTPS address of the API service on Cloud Run."
  value       = google_cloud_run_v2_service.api.uri
}

output "worker_service" {
  description = "Name of the worker Cloud Run service."
  value       = google_cloud_run_v2_service.worker.name
}

output "database_connection_name" {
  description = "Cloud SQL connection name (for the Cloud SQL Auth Proxy, pg_dump from a bastion)."
  value       = google_sql_database_instance.postgres.connection_name
}

output "database_private_ip" {
  description = "Private IP of the Cloud SQL instance."
  value       = google_sql_database_instance.postgres.private_ip_address
}

output "redis_host" {
  description = "Memorystore for Redis host."
  value       = google_redis_instance.redis.host
}

output "service_account" {
  description = "Service account the Cloud Run services run as."
  value       = google_service_account.run.email
}
