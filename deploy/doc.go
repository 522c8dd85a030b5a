// Package deploy holds Gatehouse's deployment files: the container image,
// the compose file, Kubernetes manifests, Istio and Envoy configuration and
// example proxy configurations. It has no code; its tests load every shipped
// file into the real API types of the system that reads it (strictly:
// unknown fields are errors) and check what those types cannot, such as
// references between the parts of one file.
package deploy
