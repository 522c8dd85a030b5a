package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	"github.com/jackc/pgx/v5"
)

const clientColumns = `client_id, name, public, secret_hash, response_types, redirect_uris, post_logout_redirect_uris, created_at`

func scanClient(r rowScanner) (gatehouse.Client, error) {
	var (
		c                     gatehouse.Client
		types, uris, postURIs []byte
		created               time.Time
	)
	if err := r.Scan(&c.ClientID, &c.Name, &c.Public, &c.SecretHash, &types, &uris, &postURIs, &created); err != nil {
		return gatehouse.Client{}, err
	}
	for _, f := range []struct {
		js  []byte
		dst *[]string
	}{{types, &c.ResponseTypes}, {uris, &c.RedirectURIs}, {postURIs, &c.PostLogoutRedirectURIs}} {
		if err := fromJSON(f.js, f.dst); err != nil {
			return gatehouse.Client{}, fmt.Errorf("client %q: %w", c.ClientID, err)
		}
	}
	c.CreatedAt = created.UTC()
	return c, nil
}

// CreateClient registers an OIDC client.
func (s *Store) CreateClient(ctx context.Context, c gatehouse.Client) (gatehouse.Client, error) {
	c.CreatedAt = storeutil.Now()
	err := s.write(ctx, func(t *txn) error {
		var lists [3][]byte
		for i, l := range [][]string{c.ResponseTypes, c.RedirectURIs, c.PostLogoutRedirectURIs} {
			js, err := jsonb(l)
			if err != nil {
				return err
			}
			lists[i] = js
		}
		_, err := t.exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ClientID, c.Name, c.Public, c.SecretHash, lists[0], lists[1], lists[2], c.CreatedAt)
		return err
	})
	if err != nil {
		return gatehouse.Client{}, fmt.Errorf("store: create client %q: %w", c.ClientID, err)
	}
	return c, nil
}

// GetClient finds a client by ID.
func (s *Store) GetClient(ctx context.Context, clientID string) (gatehouse.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE client_id = $1`, clientID))
	if err != nil {
		return gatehouse.Client{}, fmt.Errorf("store: get client %q: %w", clientID, notFound(err))
	}
	return c, nil
}

// DeleteClient removes a client.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	err := s.write(ctx, func(t *txn) error {
		n, err := t.exec(ctx, `DELETE FROM clients WHERE client_id = $1`, clientID)
		if err == nil && n == 0 {
			err = gatehouse.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete client %q: %w", clientID, err)
	}
	return nil
}

// ListClients orders by client ID.
func (s *Store) ListClients(ctx context.Context) ([]gatehouse.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY client_id`)
	cs, err := collect(rows, err, func(r pgx.CollectableRow) (gatehouse.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	return cs, nil
}
