package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const agentColumns = `id, name, arch_type, public_key, provisioned_at, last_active_at, created_at, updated_at`

func scanAgent(r rowScanner) (gatehouse.Agent, error) {
	var (
		a                 gatehouse.Agent
		key               []byte
		provisioned, used pgtype.Timestamptz
		created, updated  time.Time
	)
	if err := r.Scan(&a.ID, &a.Name, &a.ArchType, &key, &provisioned, &used, &created, &updated); err != nil {
		return gatehouse.Agent{}, err
	}
	if len(key) > 0 {
		a.PublicKey = key
	}
	a.ProvisionedAt, a.LastActiveAt = fromNullTime(provisioned), fromNullTime(used)
	a.CreatedAt, a.UpdatedAt = created.UTC(), updated.UTC()
	return a, nil
}

func getAgent(ctx context.Context, q querier, column, value string, lock bool) (gatehouse.Agent, error) {
	// column is one of two constants, never input.
	query := `SELECT ` + agentColumns + ` FROM agents WHERE ` + column + ` = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	a, err := scanAgent(q.QueryRow(ctx, query, value))
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
	_, err := s.pool.Exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.Name, a.ArchType, blob(a.PublicKey), nullTime(a.ProvisionedAt), nullTime(a.LastActiveAt), a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: create agent %q: %w", a.Name, classify(err))
	}
	return a, nil
}

// GetAgent finds an agent by ID.
func (s *Store) GetAgent(ctx context.Context, id string) (gatehouse.Agent, error) {
	a, err := getAgent(ctx, s.pool, "id", id, false)
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: get agent %q: %w", id, err)
	}
	return a, nil
}

// GetAgentByName finds an agent by name.
func (s *Store) GetAgentByName(ctx context.Context, name string) (gatehouse.Agent, error) {
	a, err := getAgent(ctx, s.pool, "name", name, false)
	if err != nil {
		return gatehouse.Agent{}, fmt.Errorf("store: get agent by name %q: %w", name, err)
	}
	return a, nil
}

// ListAgents orders by name.
func (s *Store) ListAgents(ctx context.Context) ([]gatehouse.Agent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY name`)
	as, err := collect(rows, err, func(r pgx.CollectableRow) (gatehouse.Agent, error) { return scanAgent(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list agents: %w", err)
	}
	return as, nil
}

// DeleteAgent removes an agent; its provisioning key goes with it.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM agents WHERE id = $1`, id)
	switch {
	case err != nil:
		return fmt.Errorf("store: delete agent %q: %w", id, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("store: delete agent %q: %w", id, gatehouse.ErrNotFound)
	}
	return nil
}

// TouchAgent records a use; uses race, so the latest time wins.
func (s *Store) TouchAgent(ctx context.Context, id string, at time.Time) error {
	at = storeutil.Time(at)
	tag, err := s.pool.Exec(ctx, `UPDATE agents SET last_active_at = $1 WHERE id = $2 AND (last_active_at IS NULL OR last_active_at < $1)`, at, id)
	if err != nil {
		return fmt.Errorf("store: touch agent %q: %w", id, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	if err := mustExist(ctx, s.pool, "agent", `SELECT 1 FROM agents WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: touch agent %q: %w", id, err)
	}
	return nil
}

const keyColumns = `digest, agent_id, expires_at, created_at`

func scanKey(r rowScanner) (gatehouse.ProvisioningKey, error) {
	var (
		k                gatehouse.ProvisioningKey
		digest           []byte
		expires, created time.Time
	)
	if err := r.Scan(&digest, &k.AgentID, &expires, &created); err != nil {
		return gatehouse.ProvisioningKey{}, err
	}
	if len(digest) != len(k.Digest) {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("provisioning key of %s: digest of %d bytes", k.AgentID, len(digest))
	}
	copy(k.Digest[:], digest)
	k.ExpiresAt, k.CreatedAt = expires.UTC(), created.UTC()
	return k, nil
}

// PutProvisioningKey replaces the agent's provisioning key. The agent row is
// locked first, so concurrent puts for one agent take turns.
func (s *Store) PutProvisioningKey(ctx context.Context, k gatehouse.ProvisioningKey) (gatehouse.ProvisioningKey, error) {
	k.CreatedAt = storeutil.Now()
	k.ExpiresAt = storeutil.Time(k.ExpiresAt)
	err := s.writeQuiet(ctx, func(t *txn) error {
		if _, err := getAgent(ctx, t, "id", k.AgentID, true); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM agent_provisioning_keys WHERE agent_id = $1`, k.AgentID); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO agent_provisioning_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4)`,
			k.Digest[:], k.AgentID, k.ExpiresAt, k.CreatedAt)
		return err
	})
	if err != nil {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("store: put provisioning key of %q: %w", k.AgentID, err)
	}
	return k, nil
}

// ProvisioningKey finds a key by digest.
func (s *Store) ProvisioningKey(ctx context.Context, digest [32]byte) (gatehouse.ProvisioningKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM agent_provisioning_keys WHERE digest = $1`, digest[:]))
	if err != nil {
		return gatehouse.ProvisioningKey{}, fmt.Errorf("store: provisioning key %x: %w", digest[:4], notFound(err))
	}
	return k, nil
}

// ConsumeProvisioningKey deletes an unexpired key and updates its agent in
// one transaction. A concurrent consumer blocks on the key's row lock and
// then finds it gone.
func (s *Store) ConsumeProvisioningKey(ctx context.Context, digest [32]byte, now time.Time, fn func(*gatehouse.Agent) error) (gatehouse.Agent, error) {
	var out gatehouse.Agent
	err := s.writeQuiet(ctx, func(t *txn) error {
		var agentID string
		err := t.QueryRow(ctx, `DELETE FROM agent_provisioning_keys WHERE digest = $1 AND expires_at > $2 RETURNING agent_id`,
			digest[:], storeutil.Time(now)).Scan(&agentID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("provisioning key: %w", gatehouse.ErrNotFound)
		}
		if err != nil {
			return err
		}
		cur, err := getAgent(ctx, t, "id", agentID, true)
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
		_, err = t.exec(ctx, `UPDATE agents SET arch_type = $1, public_key = $2, provisioned_at = $3, last_active_at = $4, updated_at = $5 WHERE id = $6`,
			next.ArchType, blob(next.PublicKey), nullTime(next.ProvisionedAt), nullTime(next.LastActiveAt), next.UpdatedAt, next.ID)
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM agent_provisioning_keys WHERE expires_at < $1`, storeutil.Time(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired provisioning keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ClaimOnce inserts the claim, or takes over an expired one, in one
// statement: a concurrent claim of the same pair waits on the row and then
// sees it taken.
func (s *Store) ClaimOnce(ctx context.Context, namespace, id string, expires time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO single_use_claims (namespace, id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (namespace, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE single_use_claims.expires_at <= $4`,
		namespace, id, storeutil.Time(expires), storeutil.Now())
	if err != nil {
		return fmt.Errorf("store: claim %s: %w", namespace, classify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: claim %s: %w", namespace, gatehouse.ErrAlreadyExists)
	}
	return nil
}

// DeleteExpiredClaims removes claims that expired before the time.
func (s *Store) DeleteExpiredClaims(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM single_use_claims WHERE expires_at < $1`, storeutil.Time(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired claims: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
