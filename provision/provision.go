// Package provision holds agents' ("fogs'") enrolment: the rule that makes
// single-use provisioning keys (IssueKey, shared by the CLI and the admin
// API), and the exchange of a key for an Ed25519 key pair
// (Service.Provision, served at POST /api/v3/agent/provision by Handler).
// Only the key's SHA-256 digest and the agent's public key are stored; the
// private key leaves once, in the response.
//
// It imports the domain package and internal/secret.
package provision

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/secret"
)

// DefaultKeyTTL is how long a provisioning key stays usable unless told
// otherwise (the Controller's provisioning keys live 20 minutes).
const DefaultKeyTTL = 20 * time.Minute

// keyBytes is the randomness of a provisioning key: 256 bits.
const keyBytes = 32

// Errors of Provision, each with the Controller's message.
var (
	// ErrInvalidKey: unknown, already used or malformed key (404).
	ErrInvalidKey = errors.New("Invalid Provisioning Key")
	// ErrExpiredKey: the key exists but has expired (401).
	ErrExpiredKey = errors.New("Expired provision key")
	// ErrUnavailable: the store could not answer (503).
	ErrUnavailable = errors.New("Database temporarily unavailable")
)

// Store is what provisioning reads and writes; store.Store satisfies it.
type Store interface {
	CreateAgent(ctx context.Context, a gatehouse.Agent) (gatehouse.Agent, error)
	GetAgent(ctx context.Context, id string) (gatehouse.Agent, error)
	GetAgentByName(ctx context.Context, name string) (gatehouse.Agent, error)
	PutProvisioningKey(ctx context.Context, k gatehouse.ProvisioningKey) (gatehouse.ProvisioningKey, error)
	ProvisioningKey(ctx context.Context, digest [32]byte) (gatehouse.ProvisioningKey, error)
	ConsumeProvisioningKey(ctx context.Context, digest [32]byte, now time.Time, fn func(*gatehouse.Agent) error) (gatehouse.Agent, error)
}

// NewKey returns a new provisioning key and the digest to store: 256 random
// bits, base64url without padding. This is the one rule for making keys.
func NewKey() (key string, digest [32]byte, err error) {
	key, err = secret.RandomToken(keyBytes)
	if err != nil {
		return "", digest, fmt.Errorf("provision: new key: %w", err)
	}
	return key, secret.Digest(key), nil
}

// Issued is a provisioning key made for an agent. Key is shown once.
type Issued struct {
	Agent     gatehouse.Agent
	Key       string
	ExpiresAt time.Time
}

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$`)

// IssueKey makes a provisioning key valid for ttl (DefaultKeyTTL when zero)
// for the agent ref names: its ID, else its name. An unknown ref creates the
// agent: a UUID-shaped ref becomes its ID (the Controller's fog UUID), any
// other its name with a new UUID. The new key replaces the agent's earlier
// one, so at most one is ever usable.
func IssueKey(ctx context.Context, st Store, ref string, ttl time.Duration, now time.Time) (Issued, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return Issued{}, errors.New("provision: an agent ID or name is required")
	case ttl < 0:
		return Issued{}, fmt.Errorf("provision: negative key lifetime %s", ttl)
	case ttl == 0:
		ttl = DefaultKeyTTL
	}
	ag, err := resolve(ctx, st, ref)
	if err != nil {
		return Issued{}, err
	}
	key, digest, err := NewKey()
	if err != nil {
		return Issued{}, err
	}
	k, err := st.PutProvisioningKey(ctx, gatehouse.ProvisioningKey{Digest: digest, AgentID: ag.ID, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return Issued{}, fmt.Errorf("provision: key for agent %s: %w", ag.ID, err)
	}
	return Issued{Agent: ag, Key: key, ExpiresAt: k.ExpiresAt}, nil
}

// FindAgent returns the agent ref names: its UUID, else its name. Returns
// an error wrapping gatehouse.ErrNotFound when neither matches.
func FindAgent(ctx context.Context, st Store, ref string) (gatehouse.Agent, error) {
	ag, err := st.GetAgent(ctx, ref)
	if err == nil || !errors.Is(err, gatehouse.ErrNotFound) {
		return ag, err
	}
	return st.GetAgentByName(ctx, ref)
}

// resolve finds the agent ref names, creating it when unknown.
func resolve(ctx context.Context, st Store, ref string) (gatehouse.Agent, error) {
	ag, err := FindAgent(ctx, st, ref)
	if err == nil || !errors.Is(err, gatehouse.ErrNotFound) {
		return ag, err
	}
	create := gatehouse.Agent{Name: ref}
	if uuidPattern.MatchString(ref) {
		create = gatehouse.Agent{ID: ref}
	}
	ag, err = st.CreateAgent(ctx, create)
	if errors.Is(err, gatehouse.ErrAlreadyExists) { // created concurrently
		return resolve(ctx, st, ref)
	}
	return ag, err
}

// Result is what a successful provisioning returns, in the Controller's
// shape.
type Result struct {
	UUID string `json:"uuid"`
	// PrivateKey is the agent's Ed25519 private key as the Controller hands
	// it out: base64 of the JSON Web Key {"crv","d","x","kty"}.
	PrivateKey string `json:"privateKey"`
	Namespace  string `json:"namespace"`
}

// Service exchanges provisioning keys for agent key pairs.
type Service struct {
	store     Store
	namespace string
	now       func() time.Time
	log       *slog.Logger
}

// NewService returns a Service answering with namespace (the Controller's
// CONTROLLER_NAMESPACE); now and log may be nil.
func NewService(st Store, namespace string, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, namespace: namespace, now: now, log: log}
}

// Provision consumes key, generates the agent's key pair, stores its public
// half and returns the private half. archType is the fog type the agent
// reports (0 to 2). Errors: ErrInvalidKey, ErrExpiredKey, ErrUnavailable.
func (s *Service) Provision(ctx context.Context, key string, archType int) (Result, error) {
	if key == "" || len(key) > 1024 {
		return Result{}, ErrInvalidKey
	}
	digest := secret.Digest(key)
	now := s.now()
	k, err := s.store.ProvisioningKey(ctx, digest)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		return Result{}, fmt.Errorf("%w (%s)", ErrInvalidKey, secret.DigestPrefix(key))
	case err != nil:
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case k.Expired(now):
		return Result{}, fmt.Errorf("%w (agent %s, expired %s)", ErrExpiredKey, k.AgentID, k.ExpiresAt.Format(time.RFC3339))
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Result{}, fmt.Errorf("provision: generate key pair: %w", err)
	}
	ag, err := s.store.ConsumeProvisioningKey(ctx, digest, now, func(a *gatehouse.Agent) error {
		a.PublicKey, a.ArchType, a.ProvisionedAt = pub, archType, now
		return nil
	})
	switch {
	case errors.Is(err, gatehouse.ErrNotFound): // used or expired in between
		return Result{}, fmt.Errorf("%w (%s, consumed concurrently)", ErrInvalidKey, secret.DigestPrefix(key))
	case err != nil:
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.log.InfoContext(ctx, "agent provisioned", "agent", ag.ID, "name", ag.Name, "arch_type", archType)
	pk, err := EncodePrivateKey(priv)
	if err != nil {
		return Result{}, err
	}
	return Result{UUID: ag.ID, PrivateKey: pk, Namespace: s.namespace}, nil
}

// EncodePrivateKey encodes an Ed25519 private key as the Controller does for
// its agents: standard base64 of the JSON Web Key (RFC 8037) with members
// in Node's export order.
func EncodePrivateKey(priv ed25519.PrivateKey) (string, error) {
	jwk := struct {
		Crv string `json:"crv"`
		D   string `json:"d"`
		X   string `json:"x"`
		Kty string `json:"kty"`
	}{"Ed25519", base64.RawURLEncoding.EncodeToString(priv.Seed()), base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), "OKP"}
	b, err := json.Marshal(jwk)
	if err != nil {
		return "", fmt.Errorf("provision: encode private key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodePrivateKey reverses EncodePrivateKey (an agent's side; tests use it).
func DecodePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("provision: private key: %w", err)
	}
	var jwk struct{ Crv, D, X, Kty string }
	if err := json.Unmarshal(b, &jwk); err != nil {
		return nil, fmt.Errorf("provision: private key: %w", err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(jwk.D)
	if err != nil || jwk.Kty != "OKP" || jwk.Crv != "Ed25519" || len(seed) != ed25519.SeedSize {
		return nil, errors.New("provision: private key: not an Ed25519 JWK")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if x, _ := base64.RawURLEncoding.DecodeString(jwk.X); string(x) != string(priv.Public().(ed25519.PublicKey)) {
		return nil, errors.New("provision: private key: x does not match d")
	}
	return priv, nil
}
