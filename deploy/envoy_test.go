package deploy

import (
	"errors"
	"fmt"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"sigs.k8s.io/yaml"
)

// isEnvoyBootstrap reports whether a YAML file is an Envoy bootstrap.
func isEnvoyBootstrap(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, ok := top["static_resources"]
	return ok
}

// loadEnvoy decodes an Envoy bootstrap the way Envoy would reject it:
// unknown fields and unresolvable typed_config are errors, every message,
// including those inside Any typed_configs, passes its generated validation,
// and references to clusters resolve.
func loadEnvoy(data []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var b bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := validateTree(b.ProtoReflect(), "bootstrap"); err != nil {
		return nil, err
	}
	if err := checkEnvoyRefs(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

type allValidator interface{ ValidateAll() error }

// validateTree runs ValidateAll on m and descends into every Any it holds,
// since the generated validation stops at an Any's boundary.
func validateTree(m protoreflect.Message, at string) error {
	if v, ok := m.Interface().(allValidator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
	}
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: typed_config %s: %w", at, a.GetTypeUrl(), err)
		}
		return validateTree(inner.ProtoReflect(), at+"("+a.GetTypeUrl()+")")
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		name := at + "." + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = validateTree(l.Get(i).Message(), fmt.Sprintf("%s[%d]", name, i))
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					err = validateTree(mv.Message(), fmt.Sprintf("%s[%s]", name, k.String()))
					return err == nil
				})
			}
		default:
			err = validateTree(v.Message(), name)
		}
		return err == nil
	})
	return err
}

// checkEnvoyRefs checks what Envoy's schema cannot: every cluster named by a
// route, a gRPC service or an HTTP service exists; no timeout is negative;
// ext_authz fails closed.
func checkEnvoyRefs(b *bootstrapv3.Bootstrap) error {
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		if _, dup := clusters[c.GetName()]; dup {
			return fmt.Errorf("cluster %q defined twice", c.GetName())
		}
		clusters[c.GetName()] = c
		if la := c.GetLoadAssignment(); la != nil && la.GetClusterName() != c.GetName() {
			return fmt.Errorf("cluster %q: load_assignment.cluster_name is %q", c.GetName(), la.GetClusterName())
		}
	}
	var errs []error
	refs := map[string]bool{}
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				msg, err := f.GetTypedConfig().UnmarshalNew()
				if err != nil {
					return err
				}
				walkRefs(msg.ProtoReflect(), refs, &errs)
				hcm, ok := msg.(*hcmv3.HttpConnectionManager)
				if !ok {
					continue
				}
				for _, hf := range hcm.GetHttpFilters() {
					inner, err := hf.GetTypedConfig().UnmarshalNew()
					if err != nil {
						return err
					}
					if ea, ok := inner.(*extauthzv3.ExtAuthz); ok && ea.GetFailureModeAllow() {
						errs = append(errs, fmt.Errorf("listener %q: ext_authz must not set failure_mode_allow: true (fail closed)", l.GetName()))
					}
				}
			}
		}
	}
	for _, c := range clusters {
		walkRefs(c.ProtoReflect(), refs, &errs)
	}
	for name := range refs {
		if _, ok := clusters[name]; !ok {
			errs = append(errs, fmt.Errorf("cluster %q is referenced but not defined", name))
		}
	}
	return errors.Join(errs...)
}

// walkRefs collects the string fields naming a cluster (cluster,
// cluster_name) and checks every duration named *timeout is not negative,
// descending into Any values.
func walkRefs(m protoreflect.Message, refs map[string]bool, errs *[]error) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		if inner, err := a.UnmarshalNew(); err == nil {
			walkRefs(inner.ProtoReflect(), refs, errs)
		}
		return
	}
	if d, ok := m.Interface().(*durationpb.Duration); ok {
		if d.AsDuration() < 0 {
			*errs = append(*errs, fmt.Errorf("negative duration %s", d.AsDuration()))
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && !fd.IsMap():
			if n := string(fd.Name()); (n == "cluster" || n == "cluster_name") && v.String() != "" {
				refs[v.String()] = true
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				walkRefs(v.List().Get(i).Message(), refs, errs)
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walkRefs(mv.Message(), refs, errs)
					return true
				})
			}
		case fd.Kind() == protoreflect.MessageKind:
			walkRefs(v.Message(), refs, errs)
		}
		return true
	})
}

// listenerHCM is an HTTP connection manager with the listener it serves.
type listenerHCM struct {
	listener string
	hcm      *hcmv3.HttpConnectionManager
}

// connectionManagers returns every HTTP connection manager of b's static
// listeners; other network filters are skipped.
func connectionManagers(b *bootstrapv3.Bootstrap) []listenerHCM {
	var out []listenerHCM
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := new(hcmv3.HttpConnectionManager)
				if f.GetTypedConfig().UnmarshalTo(hcm) == nil {
					out = append(out, listenerHCM{l.GetName(), hcm})
				}
			}
		}
	}
	return out
}

// extAuthzFilters returns every ext_authz filter configuration of b.
func extAuthzFilters(b *bootstrapv3.Bootstrap) []*extauthzv3.ExtAuthz {
	var out []*extauthzv3.ExtAuthz
	for _, m := range connectionManagers(b) {
		for _, hf := range m.hcm.GetHttpFilters() {
			var ea extauthzv3.ExtAuthz
			if hf.GetTypedConfig().UnmarshalTo(&ea) == nil {
				out = append(out, proto.Clone(&ea).(*extauthzv3.ExtAuthz))
			}
		}
	}
	return out
}

// healthRoutesSkipAuthz reports the routes matching /healthz or /readyz that
// do not disable ext_authz.
func healthRoutesSkipAuthz(b *bootstrapv3.Bootstrap) (checked int, missing []string) {
	for _, m := range connectionManagers(b) {
		for _, vh := range m.hcm.GetRouteConfig().GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				p := r.GetMatch().GetPath()
				if p != "/healthz" && p != "/readyz" {
					continue
				}
				checked++
				var per extauthzv3.ExtAuthzPerRoute
				a := r.GetTypedPerFilterConfig()["envoy.filters.http.ext_authz"]
				if a == nil || a.UnmarshalTo(&per) != nil || !per.GetDisabled() {
					missing = append(missing, strings.Join([]string{m.listener, vh.GetName(), p}, "/"))
				}
			}
		}
	}
	return checked, missing
}
