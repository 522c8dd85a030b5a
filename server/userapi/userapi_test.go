package userapi

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/server/gateway"
)

// The REST gateway names its error envelope from ErrorInfo details of this
// domain; the two constants must not drift apart.
func TestErrorDomainIsTheGatewaysUserDomain(t *testing.T) {
	if ErrorDomain != gateway.UserErrorDomain {
		t.Fatalf("userapi.ErrorDomain %q != gateway.UserErrorDomain %q", ErrorDomain, gateway.UserErrorDomain)
	}
}
