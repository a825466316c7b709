// Package deploy holds the checks of the deployment files next to it: the root Dockerfile (parsed,
// and its runtime layout started without a container engine), the compose files, the Helm chart,
// the Terraform modules and the Grafana dashboard. It is a module of its own so that the Helm,
// Kubernetes, compose and HCL libraries stay out of the product's module; `make deploy-test` runs it.
package deploy
