package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// The role and binding operations below are shared by AdminService and the
// Controller's /api/v3/roles and /api/v3/rolebindings routes; their messages
// are the Controller's (src/services/rbac-service.js), so both doors say
// the same thing.

var ruleVerbs = []string{"get", "list", "create", "update", "patch", "delete", "*"}

func checkRules(rules []gatehouse.RoleRule) error {
	if len(rules) == 0 {
		return invalid("rules", "Field 'rules' must have at least one rule")
	}
	for i, r := range rules {
		for _, f := range []struct {
			name string
			v    []string
		}{{"apiGroups", r.APIGroups}, {"resources", r.Resources}, {"verbs", r.Verbs}} {
			if len(f.v) == 0 {
				return invalid(fmt.Sprintf("rules[%d].%s", i, f.name), "Field 'rules[%d].%s' must have at least one item", i, f.name)
			}
		}
		for _, v := range r.Verbs {
			if !slices.Contains(ruleVerbs, v) {
				return invalid(fmt.Sprintf("rules[%d].verbs", i), "Field 'rules[%d].verbs' has an unknown verb %q", i, v)
			}
		}
	}
	return nil
}

func checkSubjects(subjects []gatehouse.Subject) error {
	if len(subjects) == 0 {
		return invalid("subjects", "Field 'subjects' must have at least one subject")
	}
	for i, sub := range subjects {
		switch sub.Kind {
		case gatehouse.SubjectUser, gatehouse.SubjectGroup, "ServiceAccount":
		default:
			return invalid(fmt.Sprintf("subjects[%d].kind", i), "Field 'subjects[%d].kind' must be User, Group or ServiceAccount", i)
		}
		if sub.Name == "" {
			return invalid(fmt.Sprintf("subjects[%d].name", i), "Field 'subjects[%d].name' is required", i)
		}
	}
	return nil
}

func systemRoleName(name string) error {
	return invalid("name", "Cannot use role name '%s'. '%s' is a system role and cannot be created or used.", name, name)
}

func roleError(s *Service, ctx context.Context, err error, name string) error {
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return status.Errorf(codes.NotFound, "Role '%s' not found", name)
	case errors.Is(err, gatehouse.ErrAlreadyExists):
		return status.Errorf(codes.AlreadyExists, "Role '%s' already exists", name)
	case errors.Is(err, gatehouse.ErrConflict):
		return systemRoleName(name)
	}
	return s.storeError(ctx, err, fmt.Sprintf("role %q", name))
}

func bindingError(s *Service, ctx context.Context, err error, name string) error {
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return status.Errorf(codes.NotFound, "RoleBinding '%s' not found", name)
	case errors.Is(err, gatehouse.ErrAlreadyExists):
		return status.Errorf(codes.AlreadyExists, "RoleBinding '%s' already exists", name)
	}
	return s.storeError(ctx, err, fmt.Sprintf("role binding %q", name))
}

// CreateRoleRecord validates and stores a custom role (RB-10).
func (s *Service) CreateRoleRecord(ctx context.Context, r gatehouse.Role) (gatehouse.Role, error) {
	if err := checkName("name", r.Name); err != nil {
		return gatehouse.Role{}, err
	}
	if gatehouse.IsSystemRole(r.Name) {
		return gatehouse.Role{}, systemRoleName(r.Name)
	}
	if err := checkRules(r.Rules); err != nil {
		return gatehouse.Role{}, err
	}
	out, err := s.st.CreateRole(ctx, r)
	if err != nil {
		return gatehouse.Role{}, roleError(s, ctx, err, r.Name)
	}
	return out, nil
}

// UpdateRoleRecord replaces a custom role's rules. A system role, or a new
// name, is refused (RB-10): the store keeps a role's name.
func (s *Service) UpdateRoleRecord(ctx context.Context, name, newName string, rules []gatehouse.RoleRule) (gatehouse.Role, error) {
	if gatehouse.IsSystemRole(name) {
		return gatehouse.Role{}, invalid("name", "Cannot update role '%s'. '%s' is a system role and cannot be modified.", name, name)
	}
	if newName != "" && newName != name {
		if gatehouse.IsSystemRole(newName) {
			return gatehouse.Role{}, systemRoleName(newName)
		}
		return gatehouse.Role{}, invalid("name", "Role '%s' cannot be renamed; create '%s' and delete '%s'", name, newName, name)
	}
	if err := checkRules(rules); err != nil {
		return gatehouse.Role{}, err
	}
	out, err := s.st.UpdateRole(ctx, name, func(r *gatehouse.Role) error { r.Rules = rules; return nil })
	if err != nil {
		return gatehouse.Role{}, roleError(s, ctx, err, name)
	}
	return out, nil
}

// GetRoleRecord finds a custom role.
func (s *Service) GetRoleRecord(ctx context.Context, name string) (gatehouse.Role, error) {
	r, err := s.st.GetRole(ctx, name)
	if err != nil {
		return gatehouse.Role{}, roleError(s, ctx, err, name)
	}
	return r, nil
}

// DeleteRoleRecord deletes a custom role; system roles cannot be deleted.
func (s *Service) DeleteRoleRecord(ctx context.Context, name string) error {
	if gatehouse.IsSystemRole(name) {
		return invalid("name", "Cannot delete role '%s'. '%s' is a system role and cannot be deleted.", name, name)
	}
	if err := s.st.DeleteRole(ctx, name); err != nil {
		return roleError(s, ctx, err, name)
	}
	return nil
}

// ListRoleRecords lists custom roles by name.
func (s *Service) ListRoleRecords(ctx context.Context) ([]gatehouse.Role, error) {
	rs, err := s.st.ListRoles(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, "roles")
	}
	return rs, nil
}

// CreateBindingRecord validates and stores a role binding.
func (s *Service) CreateBindingRecord(ctx context.Context, b gatehouse.RoleBinding) (gatehouse.RoleBinding, error) {
	if err := checkName("name", b.Name); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	if err := checkSubjects(b.Subjects); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	if err := checkName("roleRef.name", b.RoleRef); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	out, err := s.st.CreateRoleBinding(ctx, b)
	if err != nil {
		return gatehouse.RoleBinding{}, bindingError(s, ctx, err, b.Name)
	}
	return out, nil
}

// UpdateBindingRecord replaces a binding's subjects and role.
func (s *Service) UpdateBindingRecord(ctx context.Context, name, newName string, subjects []gatehouse.Subject, roleRef string) (gatehouse.RoleBinding, error) {
	if newName != "" && newName != name {
		return gatehouse.RoleBinding{}, invalid("name", "RoleBinding '%s' cannot be renamed; create '%s' and delete '%s'", name, newName, name)
	}
	if err := checkSubjects(subjects); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	if err := checkName("roleRef.name", roleRef); err != nil {
		return gatehouse.RoleBinding{}, err
	}
	out, err := s.st.UpdateRoleBinding(ctx, name, func(b *gatehouse.RoleBinding) error {
		b.Subjects, b.RoleRef = subjects, roleRef
		return nil
	})
	if err != nil {
		return gatehouse.RoleBinding{}, bindingError(s, ctx, err, name)
	}
	return out, nil
}

// GetBindingRecord finds a binding.
func (s *Service) GetBindingRecord(ctx context.Context, name string) (gatehouse.RoleBinding, error) {
	b, err := s.st.GetRoleBinding(ctx, name)
	if err != nil {
		return gatehouse.RoleBinding{}, bindingError(s, ctx, err, name)
	}
	return b, nil
}

// DeleteBindingRecord deletes a binding.
func (s *Service) DeleteBindingRecord(ctx context.Context, name string) error {
	if err := s.st.DeleteRoleBinding(ctx, name); err != nil {
		return bindingError(s, ctx, err, name)
	}
	return nil
}

// ListBindingRecords lists bindings by name.
func (s *Service) ListBindingRecords(ctx context.Context) ([]gatehouse.RoleBinding, error) {
	bs, err := s.st.ListRoleBindings(ctx)
	if err != nil {
		return nil, s.storeError(ctx, err, "role bindings")
	}
	return bs, nil
}

// --- gRPC ---

func rulesFromProto(in []*gatehousev1.RoleRule) []gatehouse.RoleRule {
	out := make([]gatehouse.RoleRule, 0, len(in))
	for _, r := range in {
		out = append(out, gatehouse.RoleRule{APIGroups: r.GetApiGroups(), Resources: r.GetResources(), Verbs: r.GetVerbs(), ResourceNames: r.GetResourceNames()})
	}
	return out
}

func roleMessage(r gatehouse.Role) *gatehousev1.Role {
	out := &gatehousev1.Role{Name: r.Name, CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt)}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, &gatehousev1.RoleRule{ApiGroups: rule.APIGroups, Resources: rule.Resources, Verbs: rule.Verbs, ResourceNames: rule.ResourceNames})
	}
	return out
}

func subjectsFromProto(in []*gatehousev1.Subject) []gatehouse.Subject {
	out := make([]gatehouse.Subject, 0, len(in))
	for _, s := range in {
		out = append(out, gatehouse.Subject{Kind: s.GetKind(), Name: s.GetName()})
	}
	return out
}

func bindingMessage(b gatehouse.RoleBinding) *gatehousev1.RoleBinding {
	out := &gatehousev1.RoleBinding{Name: b.Name, RoleRef: b.RoleRef, CreatedAt: ts(b.CreatedAt), UpdatedAt: ts(b.UpdatedAt)}
	for _, s := range b.Subjects {
		out.Subjects = append(out.Subjects, &gatehousev1.Subject{Kind: s.Kind, Name: s.Name})
	}
	return out
}

// CreateRole stores a custom role.
func (s *Service) CreateRole(ctx context.Context, in *gatehousev1.CreateRoleRequest) (*gatehousev1.CreateRoleResponse, error) {
	r, err := s.CreateRoleRecord(ctx, gatehouse.Role{Name: in.GetRole().GetName(), Rules: rulesFromProto(in.GetRole().GetRules())})
	if err != nil {
		return nil, err
	}
	return &gatehousev1.CreateRoleResponse{Role: roleMessage(r)}, nil
}

// GetRole returns a custom role.
func (s *Service) GetRole(ctx context.Context, in *gatehousev1.GetRoleRequest) (*gatehousev1.GetRoleResponse, error) {
	r, err := s.GetRoleRecord(ctx, in.GetName())
	if err != nil {
		return nil, err
	}
	return &gatehousev1.GetRoleResponse{Role: roleMessage(r)}, nil
}

// ListRoles lists custom roles.
func (s *Service) ListRoles(ctx context.Context, _ *gatehousev1.ListRolesRequest) (*gatehousev1.ListRolesResponse, error) {
	rs, err := s.ListRoleRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ListRolesResponse{Roles: make([]*gatehousev1.Role, 0, len(rs))}
	for _, r := range rs {
		out.Roles = append(out.Roles, roleMessage(r))
	}
	return out, nil
}

// UpdateRole replaces a custom role's rules.
func (s *Service) UpdateRole(ctx context.Context, in *gatehousev1.UpdateRoleRequest) (*gatehousev1.UpdateRoleResponse, error) {
	r, err := s.UpdateRoleRecord(ctx, in.GetName(), "", rulesFromProto(in.GetRules()))
	if err != nil {
		return nil, err
	}
	return &gatehousev1.UpdateRoleResponse{Role: roleMessage(r)}, nil
}

// DeleteRole deletes a custom role.
func (s *Service) DeleteRole(ctx context.Context, in *gatehousev1.DeleteRoleRequest) (*gatehousev1.DeleteRoleResponse, error) {
	if err := s.DeleteRoleRecord(ctx, in.GetName()); err != nil {
		return nil, err
	}
	return &gatehousev1.DeleteRoleResponse{}, nil
}

// CreateRoleBinding stores a binding.
func (s *Service) CreateRoleBinding(ctx context.Context, in *gatehousev1.CreateRoleBindingRequest) (*gatehousev1.CreateRoleBindingResponse, error) {
	b := in.GetBinding()
	out, err := s.CreateBindingRecord(ctx, gatehouse.RoleBinding{Name: b.GetName(), Subjects: subjectsFromProto(b.GetSubjects()), RoleRef: b.GetRoleRef()})
	if err != nil {
		return nil, err
	}
	return &gatehousev1.CreateRoleBindingResponse{Binding: bindingMessage(out)}, nil
}

// GetRoleBinding returns a binding.
func (s *Service) GetRoleBinding(ctx context.Context, in *gatehousev1.GetRoleBindingRequest) (*gatehousev1.GetRoleBindingResponse, error) {
	b, err := s.GetBindingRecord(ctx, in.GetName())
	if err != nil {
		return nil, err
	}
	return &gatehousev1.GetRoleBindingResponse{Binding: bindingMessage(b)}, nil
}

// ListRoleBindings lists bindings.
func (s *Service) ListRoleBindings(ctx context.Context, _ *gatehousev1.ListRoleBindingsRequest) (*gatehousev1.ListRoleBindingsResponse, error) {
	bs, err := s.ListBindingRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ListRoleBindingsResponse{Bindings: make([]*gatehousev1.RoleBinding, 0, len(bs))}
	for _, b := range bs {
		out.Bindings = append(out.Bindings, bindingMessage(b))
	}
	return out, nil
}

// UpdateRoleBinding replaces a binding's subjects and role.
func (s *Service) UpdateRoleBinding(ctx context.Context, in *gatehousev1.UpdateRoleBindingRequest) (*gatehousev1.UpdateRoleBindingResponse, error) {
	b, err := s.UpdateBindingRecord(ctx, in.GetName(), "", subjectsFromProto(in.GetSubjects()), in.GetRoleRef())
	if err != nil {
		return nil, err
	}
	return &gatehousev1.UpdateRoleBindingResponse{Binding: bindingMessage(b)}, nil
}

// DeleteRoleBinding deletes a binding.
func (s *Service) DeleteRoleBinding(ctx context.Context, in *gatehousev1.DeleteRoleBindingRequest) (*gatehousev1.DeleteRoleBindingResponse, error) {
	if err := s.DeleteBindingRecord(ctx, in.GetName()); err != nil {
		return nil, err
	}
	return &gatehousev1.DeleteRoleBindingResponse{}, nil
}
