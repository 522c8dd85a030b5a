package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// kubeTypes maps apiVersion/kind to a constructor of the API type.
var kubeTypes = map[string]func() any{
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Namespace":                           func() any { return new(corev1.Namespace) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"v1/PersistentVolumeClaim":               func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return new(networkingv1.NetworkPolicy) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
}

// kustomization is the part of kustomize's Kustomization the manifests use,
// decoded strictly.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Patches []struct {
		Path   string `json:"path"`
		Patch  string `json:"patch"`
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
	} `json:"patches"`
}

// kubeObject is one decoded manifest: the raw JSON tree and the typed value.
type kubeObject struct {
	kind, name string
	raw        map[string]any
}

// decodeKube decodes one object strictly into its API type: unknown fields,
// wrong types and unknown kinds are errors.
func decodeKube(raw map[string]any) (any, error) {
	av, _ := raw["apiVersion"].(string)
	kind, _ := raw["kind"].(string)
	mk, ok := kubeTypes[av+"/"+kind]
	if !ok {
		return nil, fmt.Errorf("unknown apiVersion/kind %s/%s", av, kind)
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	obj := mk()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return obj, nil
}

// decodeKubeFile decodes every document of a manifest file strictly.
func decodeKubeFile(data []byte) ([]kubeObject, error) {
	var out []kubeObject
	for i, doc := range splitYAML(data) {
		var raw map[string]any
		if err := yaml.UnmarshalStrict(doc, &raw); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if raw == nil {
			continue
		}
		if _, err := decodeKube(raw); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		md, _ := raw["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		out = append(out, kubeObject{kind: raw["kind"].(string), name: name, raw: raw})
	}
	return out, nil
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// render builds a kustomization directory the way `kustomize build` does
// for the features these manifests use (resources, labels, JSON 6902
// patches with a kind/name target). Kustomize itself (krusty) would bring
// most of Kubernetes' client libraries into go.mod. override replaces the
// content of files by path, for the broken-copy tests.
func render(dir string, override map[string][]byte) ([]kubeObject, error) {
	readF := func(p string) ([]byte, error) {
		if b, ok := override[filepath.Clean(p)]; ok {
			return b, nil
		}
		return os.ReadFile(p)
	}
	kb, err := readF(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(kb, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s/kustomization.yaml: apiVersion/kind %s/%s", dir, k.APIVersion, k.Kind)
	}
	var objs []kubeObject
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			sub, err := render(p, override)
			if err != nil {
				return nil, err
			}
			objs = append(objs, sub...)
			continue
		}
		b, err := readF(p)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %s: %w", dir, r, err)
		}
		sub, err := decodeKubeFile(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		objs = append(objs, sub...)
	}
	if k.Namespace != "" {
		for _, o := range objs {
			if o.kind == "Namespace" {
				continue
			}
			o.raw["metadata"].(map[string]any)["namespace"] = k.Namespace
		}
	}
	for _, l := range k.Labels {
		for _, o := range objs {
			md := o.raw["metadata"].(map[string]any)
			labels, _ := md["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
				md["labels"] = labels
			}
			for key, v := range l.Pairs {
				labels[key] = v
			}
		}
	}
	for i, p := range k.Patches {
		text := []byte(p.Patch)
		if p.Path != "" {
			if text, err = readF(filepath.Join(dir, p.Path)); err != nil {
				return nil, err
			}
		}
		var ops []jsonPatchOp
		if err := yaml.UnmarshalStrict(text, &ops); err != nil {
			return nil, fmt.Errorf("%s: patch %d: %w", dir, i, err)
		}
		hit := 0
		for _, o := range objs {
			if o.kind != p.Target.Kind || (p.Target.Name != "" && o.name != p.Target.Name) {
				continue
			}
			hit++
			for _, op := range ops {
				if err := op.apply(o.raw); err != nil {
					return nil, fmt.Errorf("%s: patch %d on %s/%s: %w", dir, i, o.kind, o.name, err)
				}
			}
		}
		if hit == 0 {
			return nil, fmt.Errorf("%s: patch %d matches no resource (%s/%s)", dir, i, p.Target.Kind, p.Target.Name)
		}
	}
	for _, o := range objs {
		if _, err := decodeKube(o.raw); err != nil {
			return nil, fmt.Errorf("%s: after patches: %w", dir, err)
		}
	}
	return objs, nil
}

// jsonPatchOp is one RFC 6902 operation (add, replace, remove).
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

func (op jsonPatchOp) apply(doc map[string]any) error {
	parts := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
	for i := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "~1", "/"), "~0", "~")
	}
	var parent any = doc
	for _, p := range parts[:len(parts)-1] {
		switch c := parent.(type) {
		case map[string]any:
			next, ok := c[p]
			if !ok {
				return fmt.Errorf("%s %s: no %q", op.Op, op.Path, p)
			}
			parent = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("%s %s: bad index %q", op.Op, op.Path, p)
			}
			parent = c[n]
		default:
			return fmt.Errorf("%s %s: %q is not a container", op.Op, op.Path, p)
		}
	}
	last := parts[len(parts)-1]
	switch c := parent.(type) {
	case map[string]any:
		_, exists := c[last]
		switch op.Op {
		case "add":
			c[last] = op.Value
		case "replace":
			if !exists {
				return fmt.Errorf("replace %s: no such member", op.Path)
			}
			c[last] = op.Value
		case "remove":
			if !exists {
				return fmt.Errorf("remove %s: no such member", op.Path)
			}
			delete(c, last)
		default:
			return fmt.Errorf("unsupported op %q", op.Op)
		}
		return nil
	case []any:
		// Arrays are replaced in their parent, so find the parent's slot:
		// re-applying on the grandparent keeps the code short.
		var n int
		if last == "-" && op.Op == "add" {
			n = len(c)
		} else {
			var err error
			if n, err = strconv.Atoi(last); err != nil || n < 0 || n > len(c) || (op.Op != "add" && n == len(c)) {
				return fmt.Errorf("%s %s: bad index %q", op.Op, op.Path, last)
			}
		}
		var updated []any
		switch op.Op {
		case "add":
			updated = slices.Insert(slices.Clone(c), n, op.Value)
		case "replace":
			updated = slices.Clone(c)
			updated[n] = op.Value
		case "remove":
			updated = slices.Delete(slices.Clone(c), n, n+1)
		default:
			return fmt.Errorf("unsupported op %q", op.Op)
		}
		parentPath := "/" + strings.Join(parts[:len(parts)-1], "/")
		return jsonPatchOp{Op: "replace", Path: parentPath, Value: updated}.apply(doc)
	}
	return fmt.Errorf("%s %s: parent is not a container", op.Op, op.Path)
}

// typed finds the one object of a kind in objs, decoded.
func typed[T any](objs []kubeObject, kind string) (*T, error) {
	var found *T
	for _, o := range objs {
		if o.kind != kind {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("more than one %s", kind)
		}
		v, err := decodeKube(o.raw)
		if err != nil {
			return nil, err
		}
		t, ok := v.(*T)
		if !ok {
			return nil, fmt.Errorf("%s decodes to %T", kind, v)
		}
		found = t
	}
	if found == nil {
		return nil, fmt.Errorf("no %s", kind)
	}
	return found, nil
}

// checkOverlay renders an overlay and checks what Gatehouse needs of it.
func checkOverlay(dir string, override map[string][]byte) error {
	objs, err := render(dir, override)
	if err != nil {
		return err
	}
	dep, err := typed[appsv1.Deployment](objs, "Deployment")
	if err != nil {
		return err
	}
	svc, err := typed[corev1.Service](objs, "Service")
	if err != nil {
		return err
	}
	pdb, err := typed[policyv1.PodDisruptionBudget](objs, "PodDisruptionBudget")
	if err != nil {
		return err
	}
	np, err := typed[networkingv1.NetworkPolicy](objs, "NetworkPolicy")
	if err != nil {
		return err
	}
	if _, err := typed[corev1.ConfigMap](objs, "ConfigMap"); err != nil {
		return err
	}
	var errs []error
	podLabels := dep.Spec.Template.Labels
	matches := func(what string, sel map[string]string) {
		if len(sel) == 0 {
			errs = append(errs, fmt.Errorf("%s has an empty selector", what))
		}
		for k, v := range sel {
			if podLabels[k] != v {
				errs = append(errs, fmt.Errorf("%s selects %s=%s, which the pods do not carry", what, k, v))
			}
		}
	}
	matches("Deployment", dep.Spec.Selector.MatchLabels)
	matches("Service", svc.Spec.Selector)
	matches("PodDisruptionBudget", pdb.Spec.Selector.MatchLabels)
	matches("NetworkPolicy", np.Spec.PodSelector.MatchLabels)

	if len(dep.Spec.Template.Spec.Containers) != 1 {
		return fmt.Errorf("%d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["grpc"] != 9191 || ports["http"] != 8080 {
		errs = append(errs, fmt.Errorf("container ports %v, want grpc 9191 and http 8080", ports))
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			errs = append(errs, fmt.Errorf("%s probe must GET %s", name, path))
			return
		}
		if pn := p.HTTPGet.Port.String(); ports[pn] == 0 && pn != "8080" {
			errs = append(errs, fmt.Errorf("%s probe port %q is not a container port", name, pn))
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		errs = append(errs, errors.New("container has no CPU and memory requests"))
	}
	if sc := dep.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		errs = append(errs, errors.New("pod must run as non-root"))
	}
	for _, sp := range svc.Spec.Ports {
		if ports[sp.TargetPort.String()] == 0 {
			errs = append(errs, fmt.Errorf("service port %s targets %q, not a container port", sp.Name, sp.TargetPort.String()))
		}
	}
	secretRef := false
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			secretRef = true
		}
	}
	if !secretRef {
		errs = append(errs, errors.New("container takes no settings from a Secret"))
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	vols := map[string]corev1.Volume{}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	for name := range mounts {
		if _, ok := vols[name]; !ok {
			errs = append(errs, fmt.Errorf("volume mount %q has no volume", name))
		}
	}
	dbFromSecret := false
	for _, e := range c.Env {
		if e.Name == "DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			dbFromSecret = true
		}
		if e.Name == "DATABASE_URL" && e.Value != "" {
			errs = append(errs, errors.New("DATABASE_URL must come from a Secret, not a literal"))
		}
	}
	replicas := int32(1)
	if dep.Spec.Replicas != nil {
		replicas = *dep.Spec.Replicas
	}
	switch filepath.Base(dir) {
	case "single":
		if replicas != 1 {
			errs = append(errs, fmt.Errorf("single: %d replicas, want 1 (SQLite)", replicas))
		}
		if dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			errs = append(errs, errors.New("single: strategy must be Recreate so two pods never share the SQLite file"))
		}
		pvc, err := typed[corev1.PersistentVolumeClaim](objs, "PersistentVolumeClaim")
		if err != nil {
			errs = append(errs, err)
		} else if v := vols["data"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name || mounts["data"] != "/data" {
			errs = append(errs, errors.New("single: /data must be the PersistentVolumeClaim"))
		}
		if dbFromSecret {
			errs = append(errs, errors.New("single: SQLite, no DATABASE_URL"))
		}
	case "ha":
		if replicas < 3 {
			errs = append(errs, fmt.Errorf("ha: %d replicas, want at least 3", replicas))
		}
		if !dbFromSecret {
			errs = append(errs, errors.New("ha: DATABASE_URL must come from the Secret"))
		}
		hpa, err := typed[autoscalingv2.HorizontalPodAutoscaler](objs, "HorizontalPodAutoscaler")
		if err != nil {
			errs = append(errs, err)
		} else {
			if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Name {
				errs = append(errs, errors.New("ha: the HPA does not scale the Deployment"))
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 3 {
				errs = append(errs, errors.New("ha: HPA minReplicas below 3"))
			}
		}
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 2 {
			errs = append(errs, errors.New("ha: PodDisruptionBudget must keep at least 2 pods"))
		}
	}
	return errors.Join(errs...)
}

func TestKubernetesManifests(t *testing.T) {
	// Every manifest file decodes strictly on its own.
	err := filepath.WalkDir("kubernetes", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "kustomization.yaml" {
			return err
		}
		_, err = decodeKubeFile(read(t, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"single", "ha"} {
		t.Run(o, func(t *testing.T) {
			if err := checkOverlay("kubernetes/overlays/"+o, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func kubeMutations() []mutation {
	file := func(b []byte) error { _, err := decodeKubeFile(b); return err }
	overlay := func(dir, file string) func([]byte) error {
		return func(b []byte) error {
			return checkOverlay(dir, map[string][]byte{filepath.Join(dir, file): b})
		}
	}
	ha, single := "kubernetes/overlays/ha", "kubernetes/overlays/single"
	return []mutation{
		{"k8s: misspelt probe", "kubernetes/base/deployment.yaml", "readinessProbe:", "readinesProbe:", file},
		{"k8s: string where a number goes", "kubernetes/base/deployment.yaml", "containerPort: 9191", `containerPort: "9191"`, file},
		{"k8s: misspelt NetworkPolicy field", "kubernetes/base/networkpolicy.yaml", "podSelector:\n    matchLabels", "podSelectr:\n    matchLabels", file},
		{"k8s: HPA misspelt", "kubernetes/overlays/ha/hpa.yaml", "minReplicas:", "minReplica:", file},
		{"k8s: wrong probe path", "kubernetes/base/deployment.yaml", "path: /readyz", "path: /ready", overlay(ha, "../../base/deployment.yaml")},
		{"kustomize: patch to a missing path", ha + "/kustomization.yaml", "path: /spec/template/spec/containers/0/env/-", "path: /spec/template/spec/container/0/env/-", overlay(ha, "kustomization.yaml")},
		{"kustomize: patch of an unknown field", ha + "/kustomization.yaml", "path: /spec/minAvailable", "path: /spec/minAvailabel", overlay(ha, "kustomization.yaml")},
		{"kustomize: ha with one replica", ha + "/kustomization.yaml", "value: 3", "value: 1", overlay(ha, "kustomization.yaml")},
		{"kustomize: misspelt key", single + "/kustomization.yaml", "patches:", "patchez:", overlay(single, "kustomization.yaml")},
		{"kustomize: single without the claim", single + "/kustomization.yaml", "claimName: gatehouse-data", "claimName: other", overlay(single, "kustomization.yaml")},
	}
}
