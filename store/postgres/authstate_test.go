package postgres_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

// TestAuthState runs with two stores on one schema: two replicas (RL-07's
// shared window, BF-10's shared sessions, CF-10's shared secret).
func TestAuthState(t *testing.T) {
	storetest.RunAuthState(t, func(t *testing.T) (store.AuthState, store.AuthState) {
		cfg := schema(t)
		return openConfig(t, cfg), openConfig(t, cfg)
	})
}
