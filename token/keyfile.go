package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// keyFileName is where the dev issuer's private key lives under DATA_DIR.
const keyFileName = "signing-key.jwk.json"

// LoadOrCreateFileKey returns the RS256 signing key kept in dir, generating it
// on first use. Two processes starting together (`make run` and `gatehouse
// token mint`) agree on one key: the file is published with a hard link, which
// fails if another process got there first, and the loser reads the winner's.
func LoadOrCreateFileKey(dir string) (*Signer, error) {
	path := filepath.Join(dir, keyFileName)
	if s, err := readKeyFile(path); err == nil {
		return s, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token: create DATA_DIR %s: %w", dir, err)
	}
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("token: generate key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("token: import key: %w", err)
	}
	if err := jwk.AssignKeyID(key); err != nil {
		return nil, fmt.Errorf("token: key id: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.RS256()); err != nil {
		return nil, err
	}
	buf, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("token: encode key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return nil, fmt.Errorf("token: write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("token: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("token: publish key: %w", err)
	}
	return readKeyFile(path)
}

// ReadFileKey returns the private key LoadOrCreateFileKey keeps in dir; an
// error wrapping fs.ErrNotExist when there is none.
func ReadFileKey(dir string) (jwk.Key, error) {
	buf, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if err != nil {
		return nil, err
	}
	key, err := jwk.ParseKey(buf)
	if err != nil {
		return nil, fmt.Errorf("token: parse %s: %w", filepath.Join(dir, keyFileName), err)
	}
	return key, nil
}

func readKeyFile(path string) (*Signer, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := jwk.ParseKey(buf)
	if err != nil {
		return nil, fmt.Errorf("token: parse %s: %w", path, err)
	}
	return NewSigner(key)
}
