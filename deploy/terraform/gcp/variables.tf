variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "aggregator"
}

variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL and Memorystore."
  type        = string
}

variable "network" {
  description = "Self link of the VPC network with private services access (Cloud SQL private IP, Memorystore)."
  type        = string
}

variable "subnetwork" {
  description = "Subnetwork the Cloud Run services reach the VPC through (direct VPC egress)."
  type        = string
}

variable "image" {
  description = "Container image of the aggregator in Artifact Registry, e.g. europe-docker.pkg.dev/p/r/aggregator:v1.0.0."
  type        = string
}

variable "public_url" {
  description = "The address users reach the web app at (https://...)."
  type        = string
}

variable "api_min_instances" {
  description = "API instances always running."
  type        = number
  default     = 2
}

variable "api_max_instances" {
  description = "API instances at most."
  type        = number
  default     = 10
}

variable "worker_instances" {
  description = "Worker instances (always running, CPU always allocated)."
  type        = number
  default     = 2
}

variable "worker_concurrency" {
  description = "Runs each worker executes at once."
  type        = number
  default     = 2
}

variable "db_tier" {
  description = "Cloud SQL machine tier of the PostgreSQL store."
  type        = string
  default     = "db-custom-2-7680"
}

variable "redis_memory_size_gb" {
  description = "Memorystore for Redis capacity, GB."
  type        = number
  default     = 1
}

variable "secret_key" {
  description = "SECRET_KEY (openssl rand -hex 32), stored in Secret Manager."
  type        = string
  sensitive   = true
}

variable "encryption_key" {
  description = "ENCRYPTION_KEY (openssl rand -hex 32), stored in Secret Manager. Keep it: it seals saved connectors' secrets."
  type        = string
  sensitive   = true
}
