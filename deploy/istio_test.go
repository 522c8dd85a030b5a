package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	securityv1beta1 "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// loadMeshConfig decodes a MeshConfig fragment into Istio's own proto type;
// protojson rejects unknown fields.
func loadMeshConfig(data []byte) (*meshv1alpha1.MeshConfig, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var mc meshv1alpha1.MeshConfig
	if err := protojson.Unmarshal(js, &mc); err != nil {
		return nil, fmt.Errorf("MeshConfig: %w", err)
	}
	return &mc, nil
}

// loadAuthorizationPolicy decodes the Kubernetes envelope strictly and its
// spec into Istio's AuthorizationPolicy proto.
func loadAuthorizationPolicy(data []byte) (*securityv1beta1.AuthorizationPolicy, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var env struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Spec       json.RawMessage   `json:"spec"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, err
	}
	if (env.APIVersion != "security.istio.io/v1" && env.APIVersion != "security.istio.io/v1beta1") || env.Kind != "AuthorizationPolicy" {
		return nil, fmt.Errorf("apiVersion/kind %s/%s", env.APIVersion, env.Kind)
	}
	var ap securityv1beta1.AuthorizationPolicy
	if err := protojson.Unmarshal(env.Spec, &ap); err != nil {
		return nil, fmt.Errorf("AuthorizationPolicy spec: %w", err)
	}
	return &ap, nil
}

// checkIstio checks the two files together: the policy is CUSTOM and names
// a provider of the mesh config, which is a fail-closed gRPC ext_authz
// provider on Gatehouse's gRPC port with the request body.
func checkIstio(mesh, policy []byte) error {
	mc, err := loadMeshConfig(mesh)
	if err != nil {
		return err
	}
	ap, err := loadAuthorizationPolicy(policy)
	if err != nil {
		return err
	}
	var errs []error
	if ap.GetAction() != securityv1beta1.AuthorizationPolicy_CUSTOM {
		errs = append(errs, fmt.Errorf("action %v, want CUSTOM", ap.GetAction()))
	}
	var names []string
	for _, p := range mc.GetExtensionProviders() {
		names = append(names, p.GetName())
		if p.GetName() != ap.GetProvider().GetName() {
			continue
		}
		g := p.GetEnvoyExtAuthzGrpc()
		if g == nil {
			errs = append(errs, fmt.Errorf("provider %s is not envoyExtAuthzGrpc", p.GetName()))
			continue
		}
		if g.GetPort() != 9191 {
			errs = append(errs, fmt.Errorf("provider %s: port %d, want Gatehouse's gRPC port 9191", p.GetName(), g.GetPort()))
		}
		if g.GetFailOpen() {
			errs = append(errs, fmt.Errorf("provider %s: failOpen must be false", p.GetName()))
		}
		if g.GetTimeout().AsDuration() <= 0 {
			errs = append(errs, fmt.Errorf("provider %s: no timeout", p.GetName()))
		}
		if g.GetIncludeRequestBodyInCheck() == nil {
			errs = append(errs, fmt.Errorf("provider %s: no includeRequestBodyInCheck (peer signatures cover the body)", p.GetName()))
		}
	}
	if !slices.Contains(names, ap.GetProvider().GetName()) {
		errs = append(errs, fmt.Errorf("policy provider %q is not among the mesh's extensionProviders %v", ap.GetProvider().GetName(), names))
	}
	return errors.Join(errs...)
}

func TestIstio(t *testing.T) {
	if err := checkIstio(read(t, "istio/mesh-config.yaml"), read(t, "istio/authorization-policy.yaml")); err != nil {
		t.Fatal(err)
	}
	// The provider reaches the Service the Kubernetes manifests create.
	mc, err := loadMeshConfig(read(t, "istio/mesh-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render("kubernetes/base", nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := typed[corev1.Service](objs, "Service")
	if err != nil {
		t.Fatal(err)
	}
	host := svc.Name + "." + svc.Namespace + ".svc.cluster.local"
	for _, p := range mc.GetExtensionProviders() {
		g := p.GetEnvoyExtAuthzGrpc()
		if g == nil {
			continue
		}
		if g.GetService() != host {
			t.Errorf("provider %s: service %q, but the manifests create %q", p.GetName(), g.GetService(), host)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return uint32(sp.Port) == g.GetPort() && sp.Name == "grpc" }) {
			t.Errorf("provider %s: port %d is not the Service's grpc port", p.GetName(), g.GetPort())
		}
	}
}

func istioMutations(t *testing.T) []mutation {
	mesh := func(b []byte) error { return checkIstio(b, read(t, "istio/authorization-policy.yaml")) }
	policy := func(b []byte) error { return checkIstio(read(t, "istio/mesh-config.yaml"), b) }
	return []mutation{
		{"istio: misspelt mesh field", "istio/mesh-config.yaml", "envoyExtAuthzGrpc:", "envoyExtAuthGrpc:", mesh},
		{"istio: fail open", "istio/mesh-config.yaml", "failOpen: false", "failOpen: true", mesh},
		{"istio: wrong port", "istio/mesh-config.yaml", "port: 9191", "port: 8080", mesh},
		{"istio: misspelt policy field", "istio/authorization-policy.yaml", "notPaths:", "notPath:", policy},
		{"istio: unknown action", "istio/authorization-policy.yaml", "action: CUSTOM", "action: CUSTOMISED", policy},
		{"istio: ALLOW instead of CUSTOM", "istio/authorization-policy.yaml", "action: CUSTOM", "action: ALLOW", policy},
		{"istio: unknown provider", "istio/authorization-policy.yaml", "name: gatehouse\n", "name: gatehous\n", policy},
		{"istio: misspelt envelope", "istio/authorization-policy.yaml", "metadata:", "metdata:", policy},
	}
}
