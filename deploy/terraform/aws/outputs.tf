output "url" {
  description = "HTTPS address of the load balancer (point public_url's DNS name at it)."
  value       = "https://${aws_lb.this.dns_name}"
}

output "load_balancer_dns_name" {
  description = "DNS name of the Application Load Balancer."
  value       = aws_lb.this.dns_name
}

output "cluster_name" {
  description = "ECS cluster of the API and worker services."
  value       = aws_ecs_cluster.this.name
}

output "database_endpoint" {
  description = "RDS PostgreSQL endpoint (host:port)."
  value       = aws_db_instance.postgres.endpoint
}

output "redis_endpoint" {
  description = "ElastiCache primary endpoint."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding DATABASE_URL (for pg_dump and aggregator migrate from a bastion)."
  value       = aws_secretsmanager_secret.database_url.arn
}
