package replay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

func TestMemory(t *testing.T) {
	now := time.Unix(1000, 0)
	m := &Memory{MaxEntries: 2, Now: func() time.Time { return now }}
	ctx := context.Background()
	if err := m.ClaimOnce(ctx, "n", "a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.ClaimOnce(ctx, "n", "a", now.Add(time.Minute)); !errors.Is(err, gatehouse.ErrAlreadyExists) {
		t.Fatalf("replay: %v", err)
	}
	if err := m.ClaimOnce(ctx, "m", "a", now.Add(time.Minute)); err != nil {
		t.Fatalf("another namespace: %v", err)
	}
	if err := m.ClaimOnce(ctx, "n", "b", now.Add(time.Minute)); !errors.Is(err, ErrMemoryFull) {
		t.Fatalf("full: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if err := m.ClaimOnce(ctx, "n", "a", now.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestMemoryExpires(t *testing.T) {
	start := time.Unix(1000, 0)
	at := start
	m := &Memory{Now: func() time.Time { return at }}
	ctx := context.Background()
	if err := m.ClaimOnce(ctx, "ns", "a", start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.ClaimOnce(ctx, "ns", "a", start.Add(time.Minute)); !errors.Is(err, gatehouse.ErrAlreadyExists) {
		t.Fatalf("second claim: %v", err)
	}
	at = start.Add(time.Minute)
	if err := m.ClaimOnce(ctx, "ns", "a", start.Add(2*time.Minute)); err != nil {
		t.Fatalf("claim after expiry: %v", err)
	}
}
