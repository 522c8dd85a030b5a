// Package storesync keeps what a Check reads in memory in step with the
// store: custom roles and role bindings in the policy engine's data, and
// identity caches that hold store-backed identities (API tokens, Basic).
// A Check therefore never waits on the database, and a change on any replica
// is honoured within about a second (RB-14): a change signal or a version
// poll triggers a re-read.
package storesync

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Source is the part of the store the syncer reads.
type Source interface {
	ListRoles(ctx context.Context) ([]gatehouse.Role, error)
	ListRoleBindings(ctx context.Context) ([]gatehouse.RoleBinding, error)
	Version(ctx context.Context) (int64, error)
	Changes(ctx context.Context) <-chan struct{}
}

// Sink receives policy data (policies.Engine).
type Sink interface {
	SetData(ctx context.Context, path string, value any) error
}

// Data paths in the policy engine.
const (
	PathCustomRoles = "gatehouse/roles/custom"
	PathBindings    = "gatehouse/bindings"
)

// Options configure a Syncer.
type Options struct {
	Source Source
	Sink   Sink
	// Invalidate is called after every change (drop cached identities).
	Invalidate []func()
	// Poll is how often Version is read (default 1s).
	Poll   time.Duration
	Logger *slog.Logger
}

// Syncer copies roles and bindings into the engine.
type Syncer struct {
	opts    Options
	mu      sync.Mutex // Load runs from Run and from local writes (WriteThrough)
	version int64
}

// New returns a Syncer; call Load once before serving, then Run.
func New(opts Options) *Syncer {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Syncer{opts: opts, version: -1}
}

// Load reads the version, roles and bindings and publishes them.
func (s *Syncer) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.opts.Source.Version(ctx)
	if err != nil {
		return fmt.Errorf("storesync: version: %w", err)
	}
	roles, err := s.opts.Source.ListRoles(ctx)
	if err != nil {
		return fmt.Errorf("storesync: roles: %w", err)
	}
	bindings, err := s.opts.Source.ListRoleBindings(ctx)
	if err != nil {
		return fmt.Errorf("storesync: role bindings: %w", err)
	}
	if err := s.opts.Sink.SetData(ctx, PathCustomRoles, RolesData(roles)); err != nil {
		return fmt.Errorf("storesync: publish roles: %w", err)
	}
	if err := s.opts.Sink.SetData(ctx, PathBindings, BindingsData(bindings)); err != nil {
		return fmt.Errorf("storesync: publish bindings: %w", err)
	}
	for _, f := range s.opts.Invalidate {
		f()
	}
	s.version = v
	return nil
}

// Run re-loads on every change signal and whenever the polled version moved,
// until ctx ends. Failures are logged and retried at the next poll; the data
// published last keeps serving.
func (s *Syncer) Run(ctx context.Context) {
	changes := s.opts.Source.Changes(ctx)
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil // closed: rely on polling
				continue
			}
		case <-t.C:
		}
		// A signal may be no change at all (the listener reconnecting after
		// the database came back): reload, and empty the identity caches,
		// only when the version moved, so a recovering database is not met
		// by every cached credential at once.
		v, err := s.opts.Source.Version(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.opts.Logger.WarnContext(ctx, "store version unreadable; keeping the last roles and bindings", "error", err)
			}
			continue
		}
		s.mu.Lock()
		current := v == s.version
		s.mu.Unlock()
		if current {
			continue
		}
		if err := s.Load(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.ErrorContext(ctx, "reloading roles and bindings failed; the last ones keep serving", "error", err)
		}
	}
}

// RolesData is the policy data shape of custom roles (data.gatehouse.roles.custom).
func RolesData(roles []gatehouse.Role) map[string]any {
	out := make(map[string]any, len(roles))
	for _, r := range roles {
		rules := make([]any, 0, len(r.Rules))
		for _, ru := range r.Rules {
			groups := ru.APIGroups
			if len(groups) == 0 {
				groups = []string{""} // the core group, as the Controller defaults it
			}
			rule := map[string]any{"apiGroups": strs(groups), "resources": strs(ru.Resources), "verbs": strs(ru.Verbs)}
			if len(ru.ResourceNames) > 0 {
				rule["resourceNames"] = strs(ru.ResourceNames)
			}
			rules = append(rules, rule)
		}
		out[r.Name] = map[string]any{"rules": rules}
	}
	return out
}

// BindingsData is the policy data shape of role bindings (data.gatehouse.bindings).
func BindingsData(bindings []gatehouse.RoleBinding) map[string]any {
	out := make(map[string]any, len(bindings))
	for _, b := range bindings {
		subjects := make([]any, 0, len(b.Subjects))
		for _, s := range b.Subjects {
			subjects = append(subjects, map[string]any{"kind": s.Kind, "name": s.Name})
		}
		out[b.Name] = map[string]any{"subjects": subjects, "roleRef": map[string]any{"kind": "Role", "name": b.RoleRef}}
	}
	return out
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
