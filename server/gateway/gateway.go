// Package gateway is the REST facade: grpc-gateway routes registered against a
// client connection to Gatehouse's own gRPC server, so one interceptor chain
// serves REST and gRPC alike. It renders gRPC errors in the Controller's
// {"name","message"} envelope.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
	"github.com/gatehouse-authz/gatehouse/server/authhttp"
)

// MarkHeader is the metadata key of the per-process mark the server adds to
// every call the gateway makes (server.Options.GatewayMetadata). Only a call
// carrying the right mark came through the gateway.
const MarkHeader = "x-gatehouse-gateway"

// ClientIPHeader is the metadata key under which the gateway passes the HTTP
// client's address (authhttp.ClientIP) to the gRPC server. The server trusts
// it only on calls carrying the gateway's mark: anyone can send the key.
const ClientIPHeader = "x-gatehouse-client-ip"

// New returns the REST handler for every gatehouse.v1 service over conn.
// Every call it makes carries the HTTP client's address as ClientIPHeader,
// taken from one proxy hop of X-Forwarded-For when trustProxy is set
// (TRUST_PROXY), else from the TCP peer.
func New(ctx context.Context, conn *grpc.ClientConn, trustProxy bool) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, strictJSON{&runtime.JSONPb{
			// camelCase names and zero values present: the Controller's shapes,
			// and "allowed": false must be visible.
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		}}),
		runtime.WithErrorHandler(errorHandler),
		// The default header matcher forwards no Grpc-Metadata-* header, and
		// the runtime lets an annotator's value replace any a request header
		// maps to the same key: a client cannot add a second client IP
		// (TestClientIPMetadata).
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			return metadata.Pairs(ClientIPHeader, authhttp.ClientIP(r, trustProxy))
		}),
	)
	if err := gatehousev1.RegisterAuthServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := gatehousev1.RegisterAdminServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	return mux, nil
}

// Envelope is the Controller's error body.
type Envelope struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	// Reason and DecisionID are set on authorization denials (the
	// ErrorInfo of the gRPC status).
	Reason     string `json:"reason,omitempty"`
	DecisionID string `json:"decisionId,omitempty"`
}

// errorClass maps gRPC codes to the Controller's error classes and statuses.
func errorClass(c codes.Code) (string, int) {
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return "ValidationError", http.StatusBadRequest
	case codes.Unauthenticated:
		return "AuthenticationError", http.StatusUnauthorized
	case codes.PermissionDenied:
		return "ForbiddenError", http.StatusForbidden
	case codes.NotFound:
		return "NotFoundError", http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return "ConflictError", http.StatusConflict
	case codes.ResourceExhausted:
		return "RateLimitExceededError", http.StatusTooManyRequests
	case codes.Unimplemented:
		return "NotImplementedError", http.StatusNotImplemented
	case codes.Unavailable, codes.DeadlineExceeded:
		return "ServiceUnavailableError", http.StatusServiceUnavailable
	}
	return "InternalServerError", http.StatusInternalServerError
}

func errorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	name, code := errorClass(st.Code())
	msg := st.Message()
	if code == http.StatusInternalServerError {
		msg = "Internal server error" // internal details stay in the logs
	}
	var custom *runtime.HTTPStatusError
	if errors.As(err, &custom) {
		code = custom.HTTPStatus
	}
	if code == http.StatusMethodNotAllowed {
		name = "MethodNotAllowedError"
	}
	env := Envelope{Name: name, Message: msg}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok {
			continue
		}
		switch {
		case info.GetDomain() == UserErrorDomain && info.GetReason() != "":
			// A door names the Controller's error class itself
			// (InvalidCredentialsError, ...).
			env.Name = info.GetReason()
		case info.GetMetadata()["decision_id"] != "":
			// An authorization denial carries its reason code and decision.
			env.Reason, env.DecisionID = info.GetReason(), info.GetMetadata()["decision_id"]
		}
	}
	writeEnvelope(w, code, env)
}

// UserErrorDomain marks ErrorInfo details whose Reason is the Controller's
// error class name (InvalidCredentialsError, ...): the envelope's "name".
// server/userapi sets it (its ErrorDomain; a test there keeps them equal).
const UserErrorDomain = "gatehouse.v1"

// WriteError writes the Controller's error envelope.
func WriteError(w http.ResponseWriter, code int, name, message string) {
	writeEnvelope(w, code, Envelope{Name: name, Message: message})
}

func writeEnvelope(w http.ResponseWriter, code int, env Envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(env) // the client may be gone; nothing to do
}

// ErrInvalidBody is a request body that is not one JSON value of the
// route's shape. Its message never quotes the body: the decoder's own
// errors did ("invalid value for string field password: 12345678").
var ErrInvalidBody = errors.New("Invalid JSON body")

// strictJSON decodes request bodies as exactly one JSON value (the gateway
// alone decoded the first value and ignored what followed it) and reports a
// malformed body as ErrInvalidBody.
type strictJSON struct{ *runtime.JSONPb }

func (m strictJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err // http.MaxBytesError: "request body too large"
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return io.EOF // no body: the gateway decodes nothing
		}
		if !json.Valid(data) || m.JSONPb.NewDecoder(bytes.NewReader(data)).Decode(v) != nil {
			return ErrInvalidBody
		}
		return nil
	})
}
