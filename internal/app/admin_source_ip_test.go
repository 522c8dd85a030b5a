package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	gatehousev1 "github.com/gatehouse-authz/gatehouse/proto/gatehouse/v1"
)

// decisionSourceIP is the source_ip of decision id in the process log's
// decision lines ("" when there is no such line).
func decisionSourceIP(t *testing.T, g *gh, id string) string {
	t.Helper()
	for line := range strings.SplitSeq(g.logs.String(), "\n") {
		var l struct {
			Msg        string `json:"msg"`
			DecisionID string `json:"decision_id"`
			SourceIP   string `json:"source_ip"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "decision" && l.DecisionID == id {
			return l.SourceIP
		}
	}
	t.Fatalf("no decision line for %s in:\n%s", id, g.logs.String())
	return ""
}

// TestAdminRESTSourceIP: an admin call over REST is decided with the HTTP
// client's address (here one proxy hop of X-Forwarded-For, TRUST_PROXY), not
// the gateway's loopback connection; a direct gRPC caller cannot claim an
// address with the gateway's metadata.
func TestAdminRESTSourceIP(t *testing.T) {
	a := newAdminGH(t, "TRUST_PROXY", "true")
	sre := "Bearer " + a.withGroups("sre") // denied: the denial names its decision

	t.Run("REST: the forwarded client IP", func(t *testing.T) {
		code, body := a.g.rest(http.MethodGet, "/v1/admin/users", "", map[string]string{
			"Authorization":   sre,
			"X-Forwarded-For": "10.0.0.1, 203.0.113.7",
			// the gateway forwards no client-chosen metadata
			"Grpc-Metadata-X-Gatehouse-Client-Ip": "198.51.100.99",
		})
		id, _ := jsonField(t, body, "decisionId").(string)
		if code != http.StatusForbidden || id == "" {
			t.Fatalf("%d %s", code, body)
		}
		if got := decisionSourceIP(t, a.g, id); got != "203.0.113.7" {
			t.Fatalf("source_ip %q, want the client's 203.0.113.7", got)
		}
	})
	for _, tt := range []struct {
		name string
		md   []string
	}{
		{"gRPC claiming a client IP", []string{"x-gatehouse-client-ip", "203.0.113.9"}},
		{"gRPC with a forged gateway mark", []string{"x-gatehouse-gateway", strings.Repeat("0", 32), "x-gatehouse-client-ip", "203.0.113.9"}},
	} {
		t.Run(tt.name+": the peer", func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(as(t, sre), tt.md...)
			_, err := a.admin.ListUsers(ctx, &gatehousev1.ListUsersRequest{})
			var id string
			for _, d := range status.Convert(err).Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					id = info.GetMetadata()["decision_id"]
				}
			}
			if id == "" {
				t.Fatalf("no decision id in %v", err)
			}
			if got := decisionSourceIP(t, a.g, id); got != "127.0.0.1" {
				t.Fatalf("source_ip %q, want the gRPC peer 127.0.0.1", got)
			}
		})
	}
}
