package extauthz

import (
	"bytes"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/runtime/protoiface"

	"github.com/gatehouse-authz/gatehouse"
)

// checkMessage is the request type of the gRPC Check handler (see
// Service.Register). gRPC's default proto codec hands it to proto.Unmarshal,
// which takes the fast path a message offers through ProtoMethods (the hook
// generated fast codecs such as vtprotobuf use) and so runs the wire decoder:
// no server-wide codec is replaced, and every other service (gatehouse.v1,
// health, reflection) decodes exactly as before.
//
// For anything else that asks, checkMessage presents the reflection of an
// empty CheckRequest (its descriptor, no fields). Should proto.Unmarshal
// ever take its reflective path instead (protobuf-go built with the
// `protoreflect` tag ignores ProtoMethods), that CheckRequest is what gets
// filled, and the handler converts it with fillRequest.
type checkMessage struct {
	protoreflect.Message // cr's reflection
	cr                   *authv3.CheckRequest
	methods              *protoiface.Methods

	decoded bool // the wire decoder filled req and convErr
	req     gatehouse.Request
	convErr error
}

func newCheckMessage(methods *protoiface.Methods) *checkMessage {
	cr := new(authv3.CheckRequest)
	return &checkMessage{Message: cr.ProtoReflect(), cr: cr, methods: methods}
}

// checkMethods are checkMessage's protobuf methods: Unmarshal only.
func checkMethods() *protoiface.Methods {
	return &protoiface.Methods{
		Flags:     protoiface.SupportUnmarshalDiscardUnknown,
		Unmarshal: unmarshalCheck,
	}
}

func unmarshalCheck(in protoiface.UnmarshalInput) (protoiface.UnmarshalOutput, error) {
	m := in.Message.(*checkMessage)
	// The codec recycles in.Buf once Unmarshal returns, and the request's
	// strings point into the buffer: one copy of the whole message instead
	// of an allocation per string.
	wireErr, convErr := decodeCheckRequest(&m.req, bytes.Clone(in.Buf))
	if wireErr != nil {
		return protoiface.UnmarshalOutput{}, wireErr
	}
	m.decoded, m.convErr = true, convErr
	return protoiface.UnmarshalOutput{Flags: protoiface.UnmarshalInitialized}, nil
}

// ProtoReflect makes checkMessage a proto.Message; it is its own reflection.
func (m *checkMessage) ProtoReflect() protoreflect.Message { return m }

// Interface is the message itself, not the embedded CheckRequest.
func (m *checkMessage) Interface() protoreflect.ProtoMessage { return m }

// ProtoMethods offers the wire decoder to proto.Unmarshal.
func (m *checkMessage) ProtoMethods() *protoiface.Methods { return m.methods }

// Reset empties the message; proto.Unmarshal calls it first.
func (m *checkMessage) Reset() {
	m.cr.Reset()
	m.decoded, m.req, m.convErr = false, gatehouse.Request{}, nil
}

// String names the message without its contents (headers carry
// credentials), for interceptors that log requests.
func (m *checkMessage) String() string {
	return "envoy.service.auth.v3.CheckRequest{" + m.req.Method + " " + m.req.Path + "}"
}

// request is the converted request, from whichever path filled the message.
func (m *checkMessage) request() (*gatehouse.Request, error) {
	if !m.decoded {
		if err := fillRequest(&m.req, m.cr); err != nil {
			return nil, err
		}
	} else if m.convErr != nil {
		return nil, m.convErr
	}
	return &m.req, nil
}
