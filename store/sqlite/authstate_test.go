package sqlite_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

func TestAuthState(t *testing.T) {
	storetest.RunAuthState(t, func(t *testing.T) (store.AuthState, store.AuthState) {
		s := open(t).(store.AuthState)
		return s, s
	})
}
