package provision

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
)

// Route is the pattern Handler serves on Gatehouse's HTTP listener.
const Route = "POST /api/v3/agent/provision"

// maxBodyBytes bounds the request body: a key and a type.
const maxBodyBytes = 16 << 10

// Provisioner is what the handler calls; *Service is one.
type Provisioner interface {
	Provision(ctx context.Context, key string, archType int) (Result, error)
}

// Handler serves POST /api/v3/agent/provision {"type":0..2,"key":"…"} (no
// bearer: the key is the credential), answering 200 {uuid, privateKey,
// namespace}, or the Controller's {"name","message"} envelope: 400
// ValidationError, 404 NotFoundError "Invalid Provisioning Key", 401
// AuthenticationError "Expired provision key", 503 when the store is down.
func Handler(p Provisioner, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, archType, msg := decodeRequest(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if msg != "" {
			writeJSON(w, http.StatusBadRequest, envelope{Name: "ValidationError", Message: msg})
			return
		}
		res, err := p.Provision(r.Context(), key, archType)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, res)
		case errors.Is(err, ErrInvalidKey):
			log.InfoContext(r.Context(), "agent provisioning refused", "error", err)
			writeJSON(w, http.StatusNotFound, envelope{Name: "NotFoundError", Message: ErrInvalidKey.Error()})
		case errors.Is(err, ErrExpiredKey):
			log.InfoContext(r.Context(), "agent provisioning refused", "error", err)
			writeJSON(w, http.StatusUnauthorized, envelope{Name: "AuthenticationError", Message: ErrExpiredKey.Error()})
		case errors.Is(err, ErrUnavailable):
			log.ErrorContext(r.Context(), "agent provisioning failed", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, envelope{Name: "ServiceUnavailableError", Message: ErrUnavailable.Error()})
		default:
			log.ErrorContext(r.Context(), "agent provisioning failed", "error", err)
			writeJSON(w, http.StatusInternalServerError, envelope{Name: "InternalServerError", Message: "Internal server error"})
		}
	})
}

// envelope is the Controller's route error body.
type envelope struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// decodeRequest checks the body against the Controller's agentProvision
// schema (type: integer 0..2, key: string, both required; other members
// allowed; nothing after the object) and returns a validation message when
// it fails.
func decodeRequest(body io.Reader) (key string, archType int, msg string) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(body)
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return "", 0, "Invalid request body: a JSON object is required"
	}
	// One object and nothing after it, as the Controller's body parser.
	if _, err := dec.Token(); err != io.EOF {
		return "", 0, "Invalid request body: a JSON object is required"
	}
	for _, f := range []string{"type", "key"} {
		if v, ok := raw[f]; !ok || string(v) == "null" {
			return "", 0, "Required field '" + f + "' is missing"
		}
	}
	var t float64
	if err := json.Unmarshal(raw["type"], &t); err != nil || t != math.Trunc(t) || t < 0 || t > 2 {
		return "", 0, "Invalid format for field 'type'"
	}
	if err := json.Unmarshal(raw["key"], &key); err != nil {
		return "", 0, "Invalid format for field 'key'"
	}
	return key, int(t), ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
