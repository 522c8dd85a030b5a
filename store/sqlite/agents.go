package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
)

const agentColumns = `id, name, arch_type, public_key, provisioned_at, last_active_at, created_at, updated_at`

func scanAgent(r rowScanner) (gatehouse.Agent, error) {
	var (
		a                 gatehouse.Agent
		key               []byte
		provisioned, used sql.NullInt64
		created, updated  int64
	)
	if err := r.Scan(&a.ID, &a.Name, &a.ArchType, &key, &provisioned, &used, &created, &updated); err != nil {
		return gatehouse.Agent{}, err
	}
	if len(key) > 0 {
		a.PublicKey = key
	}
	a.ProvisionedAt, a.LastActiveAt = fromNullMicros(provisioned), fromNullMicros(used)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

func getAgent(ctx context.Context, q querier, column, value string) (gatehouse.Agent, error) {
	// column is one of two constants, never input.
	a, err := scanAgent(q.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE `+column+` = ?`, value))
	return a, notFound(err)
}

// blob encodes an optional byte string: NULL for none.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateAgent stores an agent; an empty ID gets a new UUID.
func (s *Store) CreateAgent(ctx context.Context, a gatehouse.Agent) (gatehouse.Agent, error) {
	if a.ID == "" {
		a.ID = storeutil.NewUUID()
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	a.CreatedAt = storeutil.Now()
	a.UpdatedAt = a.CreatedAt
	a.ProvisionedAt, a.LastActiveAt = storeutil.Time(a.ProvisionedAt), storeutil.Time(a.LastActiveAt)
	err := s.writeQuiet(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.ArchType, blob(a.PublicKey), micros(a.ProvisionedAt), micros(a.LastActiveAt),
			a.CreatedAt.UnixMicro(), a.UpdatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: create agent %q: %w", a.Name, err)
	}
	return a, nil
}

// GetAgent finds an agent by ID.
func (s *Store) GetAgent(ctx context.Context, id string) (gatehouse.Agent, error) {
	a, err := getAgent(ctx, s.r, "id", id)
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: get agent %q: %w", id, err)
	}
	return a, nil
}

// GetAgentByName finds an agent by name.
func (s *Store) GetAgentByName(ctx context.Context, name string) (gatehouse.Agent, error) {
	a, err := getAgent(ctx, s.r, "name", name)
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: get agent by name %q: %w", name, err)
	}
	return a, nil
}

// ListAgents orders by name.
func (s *Store) ListAgents(ctx context.Context) ([]gatehouse.Agent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY name`)
	as, err := collect(rows, err, func(r *sql.Rows) (gatehouse.Agent, error) { return scanAgent(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list agents: %w", err)
	}
	return as, nil
}

// DeleteAgent removes an agent; its provisioning key goes with it.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	err := s.writeQuiet(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM agents WHERE id = ?`, id)
		if err == nil && n == 0 {
			err = fmt.Errorf("agent: %w", gatehouse.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete agent %q: %w", id, err)
	}
	return nil
}

// TouchAgent records a use; uses race, so the latest time wins.
func (s *Store) TouchAgent(ctx context.Context, id string, at time.Time) error {
	us := storeutil.Time(at).UnixMicro()
	res, err := s.w.ExecContext(ctx, `UPDATE agents SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at < ?)`, us, id, us)
	if err != nil {
		return fmt.Errorf("store: touch agent %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		return nil
	}
	if err := mustExist(ctx, s.r, "agent", `SELECT 1 FROM agents WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: touch agent %q: %w", id, err)
	}
	return nil
}

const keyColumns = `digest, agent_id, expires_at, created_at`

func scanKey(r rowScanner) (gatehouse.ProvisioningKey, error) {
	var (
		k                gatehouse.ProvisioningKey
		digest           []byte
		expires, created int64
	)
	if err := r.Scan(&digest, &k.AgentID, &expires, &created); err != nil {
		return gatehouse.ProvisioningKey{}, err
	}
	if len(digest) != len(k.Digest) {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("provisioning key of %s: digest of %d bytes", k.AgentID, len(digest))
	}
	copy(k.Digest[:], digest)
	k.ExpiresAt, k.CreatedAt = fromMicros(expires), fromMicros(created)
	return k, nil
}

// PutProvisioningKey replaces the agent's provisioning key.
func (s *Store) PutProvisioningKey(ctx context.Context, k gatehouse.ProvisioningKey) (gatehouse.ProvisioningKey, error) {
	k.CreatedAt = storeutil.Now()
	k.ExpiresAt = storeutil.Time(k.ExpiresAt)
	err := s.writeQuiet(ctx, func(t *txn) error {
		if err := mustExist(ctx, t, "agent", `SELECT 1 FROM agents WHERE id = ?`, k.AgentID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM agent_provisioning_keys WHERE agent_id = ?`, k.AgentID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO agent_provisioning_keys (`+keyColumns+`) VALUES (?, ?, ?, ?)`,
			k.Digest[:], k.AgentID, k.ExpiresAt.UnixMicro(), k.CreatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("store: put provisioning key of %q: %w", k.AgentID, err)
	}
	return k, nil
}

// ProvisioningKey finds a key by digest.
func (s *Store) ProvisioningKey(ctx context.Context, digest [32]byte) (gatehouse.ProvisioningKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM agent_provisioning_keys WHERE digest = ?`, digest[:]))
	if err != nil {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("store: provisioning key %x: %w", digest[:4], notFound(err))
	}
	return k, nil
}

// ConsumeProvisioningKey deletes an unexpired key and updates its agent in
// one transaction on the only writer connection.
func (s *Store) ConsumeProvisioningKey(ctx context.Context, digest [32]byte, now time.Time, fn func(*gatehouse.Agent) error) (gatehouse.Agent, error) {
	var out gatehouse.Agent
	err := s.writeQuiet(ctx, func(t *txn) error {
		var agentID string
		err := t.QueryRowContext(ctx, `DELETE FROM agent_provisioning_keys WHERE digest = ? AND expires_at > ? RETURNING agent_id`,
			digest[:], storeutil.Time(now).UnixMicro()).Scan(&agentID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("provisioning key: %w", gatehouse.ErrNotFound)
		}
		if err != nil {
			return err
		}
		cur, err := getAgent(ctx, t, "id", agentID)
		if err != nil {
			return err
		}
		next := cur
		next.PublicKey = append([]byte(nil), cur.PublicKey...)
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.Name, next.CreatedAt = cur.ID, cur.Name, cur.CreatedAt
		next.UpdatedAt = storeutil.Later(cur.UpdatedAt, storeutil.Now())
		next.ProvisionedAt, next.LastActiveAt = storeutil.Time(next.ProvisionedAt), storeutil.Time(next.LastActiveAt)
		if len(next.PublicKey) == 0 {
			next.PublicKey = nil
		}
		_, err = t.exec(ctx, `UPDATE agents SET arch_type = ?, public_key = ?, provisioned_at = ?, last_active_at = ?, updated_at = ? WHERE id = ?`,
			next.ArchType, blob(next.PublicKey), micros(next.ProvisionedAt), micros(next.LastActiveAt), next.UpdatedAt.UnixMicro(), next.ID)
		out = next
		return err
	})
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: consume provisioning key %x: %w", digest[:4], err)
	}
	return out, nil
}

// DeleteExpiredProvisioningKeys removes keys expired before the time.
func (s *Store) DeleteExpiredProvisioningKeys(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, func(t *txn) (err error) {
		n, err = t.exec(ctx, `DELETE FROM agent_provisioning_keys WHERE expires_at < ?`, storeutil.Time(before).UnixMicro())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired provisioning keys: %w", err)
	}
	return int(n), nil
}

// ClaimOnce inserts the claim, or takes over an expired one, in a single
// statement on the only writer connection.
func (s *Store) ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error {
	now := storeutil.Now().UnixMicro()
	res, err := s.w.ExecContext(ctx, `INSERT INTO single_use_claims (namespace, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE single_use_claims.expires_at <= ?`,
		namespace, id, storeutil.Time(expires).UnixMicro(), now)
	if err != nil {
		return fmt.Errorf("store: claim %s: %w", namespace, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: claim %s: %w", namespace, err)
	}
	if n == 0 {
		return fmt.Errorf("store: claim %s: %w", namespace, gatehouse.ErrAlreadyExists)
	}
	return nil
}

// DeleteExpiredClaims removes claims that expired before the time.
func (s *Store) DeleteExpiredClaims(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM single_use_claims WHERE expires_at < ?`, storeutil.Time(before).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired claims: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired claims: %w", err)
	}
	return int(n), nil
}
