package jwt

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/internal/jsonobj"
	"github.com/gatehouse-authz/gatehouse/internal/jws"
)

// MaxTokenBytes bounds the token a Verifier looks at, whatever the caller
// already checked (the credential parser caps headers at the same size).
const MaxTokenBytes = 16 << 10

// header holds the JOSE header members the Verifier acts on. jku, x5u, jwk
// and x5c are deliberately absent: a key named by the token itself is never
// used to verify it.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
	B64  *bool           `json:"b64"`
}

func decodeHeader(b []byte) (header, error) {
	var h header
	if !jws.IsObject(b) {
		return h, errors.New("header is not a JSON object")
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

func decodeClaims(b []byte) (map[string]any, error) {
	if !jws.IsObject(b) {
		return nil, errors.New("payload is not a JSON object")
	}
	// jsonobj gives what json.Unmarshal into a map[string]any gives, in
	// about a third of the time; this runs for every new token.
	claims, err := jsonobj.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return claims, nil
}
