package issuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-authz/gatehouse/authn/jwt"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/token"
	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeyStore is the part of the store the key ring uses.
type KeyStore interface {
	AddSigningKey(ctx context.Context, k store.SigningKey) error
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int, error)
	DeleteExpiredIssuerState(ctx context.Context, before time.Time) (int, error)
	Changes(ctx context.Context) <-chan struct{}
}

// KeyRing holds the issuer's signing keys, kept in the store with their
// private halves sealed. The newest key signs; a retired key stays
// published (and trusted) for Keep after its retirement — the longest
// lifetime of a token it signed — and is then deleted. Every replica
// reloads on the store's change signal, on a token naming an unknown kid,
// and every PollInterval, so a rotation takes effect everywhere without a
// restart (IS-05).
type KeyRing struct {
	st     KeyStore
	sealer *Sealer
	keep   time.Duration
	poll   time.Duration
	every  time.Duration // scheduled rotation; 0: manual only
	log    *slog.Logger
	now    func() time.Time

	mu         sync.Mutex // serialises loads
	lastReload time.Time
	state      atomic.Pointer[ringState]
}

type ringState struct {
	created time.Time // of the signing key
	signer  *token.Signer
	jwks    []byte
	set     *jwt.KeySet
	pub     jwk.Set
}

// KeyRingOptions configure NewKeyRing.
type KeyRingOptions struct {
	Store  KeyStore
	Sealer *Sealer
	// Keep is how long a retired key stays published.
	Keep time.Duration
	// PollInterval bounds how stale a replica's keys can get if change
	// signals are lost (default 30s).
	PollInterval time.Duration
	// RotateEvery rotates the signing key when it is older than this
	// (checked every PollInterval); 0 turns scheduled rotation off.
	RotateEvery time.Duration
	// FirstKey is the RS256 private key to start with when the store holds
	// none: the DATA_DIR key file of a Gatehouse that signed with it before
	// its keys moved into the store, so tokens it issued stay valid. Nil:
	// generate one.
	FirstKey jwk.Key
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewKeyRing loads the keys, creating the first one when the store has none.
func NewKeyRing(ctx context.Context, o KeyRingOptions) (*KeyRing, error) {
	r := &KeyRing{st: o.Store, sealer: o.Sealer, keep: o.Keep, poll: o.PollInterval, every: o.RotateEvery, log: o.Logger, now: o.Now}
	if r.poll <= 0 {
		r.poll = 30 * time.Second
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	if r.state.Load() == nil {
		first := o.FirstKey
		if first == nil {
			var err error
			if first, err = newRSAKey(); err != nil {
				return nil, err
			}
		}
		if _, _, err := r.add(ctx, first); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// newRSAKey generates an RS256 key with a random kid.
func newRSAKey() (jwk.Key, error) {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("issuer: generate key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, err
	}
	if err := key.Set(jwk.KeyIDKey, uuid.NewString()); err != nil {
		return nil, err
	}
	return key, nil
}

// Rotate makes a new RS256 key the signing key and returns its kid and
// creation time. The previous key stays published for Keep.
func (r *KeyRing) Rotate(ctx context.Context) (string, time.Time, error) {
	key, err := newRSAKey()
	if err != nil {
		return "", time.Time{}, err
	}
	return r.add(ctx, key)
}

// add stores key, sealed, as the new signing key.
func (r *KeyRing) add(ctx context.Context, key jwk.Key) (string, time.Time, error) {
	if _, ok := key.(jwk.RSAPrivateKey); !ok {
		return "", time.Time{}, errors.New("issuer: the signing key must be an RSA private key")
	}
	kid, ok := key.KeyID()
	if !ok || kid == "" {
		return "", time.Time{}, errors.New("issuer: signing key without a kid")
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.RS256()); err != nil {
		return "", time.Time{}, err
	}
	priv, err := json.Marshal(key)
	if err != nil {
		return "", time.Time{}, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return "", time.Time{}, err
	}
	if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
		return "", time.Time{}, err
	}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return "", time.Time{}, err
	}
	sealed, err := r.sealer.Seal(priv, "signing-key:"+kid)
	if err != nil {
		return "", time.Time{}, err
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	if err := r.st.AddSigningKey(ctx, store.SigningKey{KID: kid, Alg: "RS256", Sealed: sealed, PublicJWK: pubJSON, CreatedAt: now}); err != nil {
		return "", time.Time{}, err
	}
	if err := r.Reload(ctx); err != nil {
		return "", time.Time{}, err
	}
	r.log.Info("embedded issuer signing key added", "kid", kid)
	return kid, now, nil
}

// Reload reads the keys from the store.
func (r *KeyRing) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastReload = r.now()
	keys, err := r.st.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	pubs := jwk.NewSet()
	var active *ringState
	for i := len(keys) - 1; i >= 0; i-- { // newest first
		k := keys[i]
		if !k.RetiredAt.IsZero() && now.After(k.RetiredAt.Add(r.keep)) {
			continue
		}
		pk, err := jwk.ParseKey(k.PublicJWK)
		if err != nil {
			return fmt.Errorf("issuer: key %s: %w", k.KID, err)
		}
		if err := pubs.AddKey(pk); err != nil {
			return err
		}
		if k.RetiredAt.IsZero() && active == nil {
			plain, err := r.sealer.Open(k.Sealed, "signing-key:"+k.KID)
			if err != nil {
				return err
			}
			priv, err := jwk.ParseKey(plain)
			if err != nil {
				return fmt.Errorf("issuer: key %s: %w", k.KID, err)
			}
			s, err := token.NewSigner(priv)
			if err != nil {
				return err
			}
			active = &ringState{signer: s, created: k.CreatedAt}
		}
	}
	if active == nil {
		return nil // no key yet: NewKeyRing creates one
	}
	doc, err := json.Marshal(pubs)
	if err != nil {
		return err
	}
	set, err := jwt.KeySetFromJWKS(doc)
	if err != nil {
		return err
	}
	active.jwks, active.set, active.pub = doc, set, pubs
	r.state.Store(active)
	return nil
}

// Run reloads on store changes and every poll interval, and deletes keys
// past their publication and expired issuer state, until ctx ends.
func (r *KeyRing) Run(ctx context.Context) {
	changes := r.st.Changes(ctx)
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-tick.C:
			if _, err := r.st.DeleteSigningKeysRetiredBefore(ctx, r.now().Add(-r.keep)); err != nil {
				r.log.Warn("embedded issuer: prune retired keys", "err", err)
			}
			// Housekeeping rides on the same tick: expired codes,
			// interactions and refresh tokens.
			if _, err := r.st.DeleteExpiredIssuerState(ctx, r.now()); err != nil {
				r.log.Warn("embedded issuer: delete expired state", "err", err)
			}
			if st := r.state.Load(); r.every > 0 && st != nil && r.now().Sub(st.created) >= r.every {
				// Replicas may both rotate at once: harmless, the key
				// retired at once stays published for Keep.
				if _, _, err := r.Rotate(ctx); err != nil {
					r.log.Error("embedded issuer: scheduled rotation", "err", err)
				}
			}
		}
		if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("embedded issuer: reload signing keys", "err", err)
		}
	}
}

// Signer is the current signing key.
func (r *KeyRing) Signer() *token.Signer { return r.state.Load().signer }

// JWKS is the published key set document.
func (r *KeyRing) JWKS() []byte { return r.state.Load().jwks }

// PublicKeys is the published set (for verifying tokens the issuer minted).
func (r *KeyRing) PublicKeys() jwk.Set { return r.state.Load().pub }

// Keys implements jwt.KeySource.
func (r *KeyRing) Keys() *jwt.KeySet { return r.state.Load().set }

// RefreshUnknownKID implements jwt.KeySource: a token signed by a key this
// replica has not loaded yet (rotated elsewhere) triggers one reload per
// second at most.
func (r *KeyRing) RefreshUnknownKID(ctx context.Context) *jwt.KeySet {
	r.mu.Lock()
	recent := r.now().Sub(r.lastReload) < time.Second
	r.mu.Unlock()
	if !recent {
		if err := r.Reload(ctx); err != nil {
			r.log.Warn("embedded issuer: reload on unknown kid", "err", err)
		}
	}
	return r.Keys()
}

var _ jwt.KeySource = (*KeyRing)(nil)
