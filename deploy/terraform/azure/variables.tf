variable "name" {
  description = "Prefix of every resource name (letters and digits; globally unique names derive from it)."
  type        = string
  default     = "aggregator"
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group created for the deployment."
  type        = string
}

variable "image" {
  description = "Container image of the aggregator, e.g. myregistry.azurecr.io/aggregator:v1.0.0."
  type        = string
}

variable "public_url" {
  description = "The address users reach the web app at (https://...); empty for the Container App's own address."
  type        = string
  default     = ""
}

variable "api_min_replicas" {
  description = "API replicas always running."
  type        = number
  default     = 2
}

variable "api_max_replicas" {
  description = "API replicas at most."
  type        = number
  default     = 10
}

variable "worker_replicas" {
  description = "Worker replicas (aggregator worker)."
  type        = number
  default     = 2
}

variable "worker_concurrency" {
  description = "Runs each worker executes at once."
  type        = number
  default     = 2
}

variable "postgres_sku" {
  description = "Azure Database for PostgreSQL flexible server SKU."
  type        = string
  default     = "GP_Standard_D2ds_v5"
}

variable "postgres_storage_mb" {
  description = "PostgreSQL storage, MB."
  type        = number
  default     = 65536
}

variable "redis_sku" {
  description = "Azure Cache for Redis SKU (Basic, Standard, Premium)."
  type        = string
  default     = "Standard"
}

variable "redis_capacity" {
  description = "Azure Cache for Redis size within its SKU family (C0-C6)."
  type        = number
  default     = 1
}

variable "secret_key" {
  description = "SECRET_KEY (openssl rand -hex 32), a Container Apps secret."
  type        = string
  sensitive   = true
}

variable "encryption_key" {
  description = "ENCRYPTION_KEY (openssl rand -hex 32), a Container Apps secret. Keep it: it seals saved connectors' secrets."
  type        = string
  sensitive   = true
}
