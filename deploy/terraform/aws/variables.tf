variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "aggregator"
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "vpc_id" {
  description = "VPC the services, the database and the cache run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer (at least two zones)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks, RDS and ElastiCache (at least two zones)."
  type        = list(string)
}

variable "image" {
  description = "Container image of the aggregator (the repository's Dockerfile), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/aggregator:v1.0.0."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "public_url" {
  description = "The address users reach the web app at (https://...)."
  type        = string
}

variable "api_count" {
  description = "API tasks (serve with RUN_WORKERS=0) behind the load balancer."
  type        = number
  default     = 2
}

variable "worker_count" {
  description = "Worker tasks (aggregator worker)."
  type        = number
  default     = 2
}

variable "worker_concurrency" {
  description = "Runs each worker task executes at once."
  type        = number
  default     = 2
}

variable "api_cpu" {
  description = "CPU units of an API task (1024 = one vCPU)."
  type        = number
  default     = 512
}

variable "api_memory" {
  description = "Memory of an API task, MiB."
  type        = number
  default     = 1024
}

variable "worker_cpu" {
  description = "CPU units of a worker task."
  type        = number
  default     = 1024
}

variable "worker_memory" {
  description = "Memory of a worker task, MiB."
  type        = number
  default     = 2048
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL store."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "RDS storage, GiB."
  type        = number
  default     = 50
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "secret_key" {
  description = "SECRET_KEY (openssl rand -hex 32), stored in Secrets Manager."
  type        = string
  sensitive   = true
}

variable "encryption_key" {
  description = "ENCRYPTION_KEY (openssl rand -hex 32), stored in Secrets Manager. Keep it: it seals saved connectors' secrets."
  type        = string
  sensitive   = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
