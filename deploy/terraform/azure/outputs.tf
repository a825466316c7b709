output "url" {
  description = "HTTPS address of the API Container App."
  value       = "https://${azurerm_container_app.api.ingress[0].fqdn}"
}

output "worker_app" {
  description = "Name of the worker Container App."
  value       = azurerm_container_app.worker.name
}

output "postgres_fqdn" {
  description = "Host name of the Azure Database for PostgreSQL flexible server."
  value       = azurerm_postgresql_flexible_server.postgres.fqdn
}

output "redis_hostname" {
  description = "Host name of the Azure Cache for Redis."
  value       = azurerm_redis_cache.redis.hostname
}

output "resource_group" {
  description = "Resource group holding every resource."
  value       = azurerm_resource_group.this.name
}
