package deploy

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// traefikDynamic is the part of Traefik's dynamic configuration the example
// uses, decoded strictly.
type traefikDynamic struct {
	HTTP struct {
		Middlewares map[string]struct {
			ForwardAuth *struct {
				Address             string   `json:"address"`
				TrustForwardHeader  bool     `json:"trustForwardHeader"`
				AuthResponseHeaders []string `json:"authResponseHeaders"`
			} `json:"forwardAuth"`
		} `json:"middlewares"`
		Routers map[string]struct {
			Rule        string   `json:"rule"`
			Service     string   `json:"service"`
			Middlewares []string `json:"middlewares"`
			Priority    int      `json:"priority"`
		} `json:"routers"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `json:"url"`
				} `json:"servers"`
			} `json:"loadBalancer"`
		} `json:"services"`
	} `json:"http"`
}

func checkTraefik(data []byte) error {
	var d traefikDynamic
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return err
	}
	var errs []error
	found := false
	for name, m := range d.HTTP.Middlewares {
		if m.ForwardAuth == nil {
			continue
		}
		found = true
		u, err := url.Parse(m.ForwardAuth.Address)
		if err != nil || u.Path != "/forward-auth" {
			errs = append(errs, fmt.Errorf("middleware %s: address %q is not Gatehouse's /forward-auth", name, m.ForwardAuth.Address))
		}
		if len(m.ForwardAuth.AuthResponseHeaders) == 0 {
			errs = append(errs, fmt.Errorf("middleware %s copies no identity header upstream", name))
		}
	}
	if !found {
		errs = append(errs, errors.New("no forwardAuth middleware"))
	}
	for name, r := range d.HTTP.Routers {
		if _, ok := d.HTTP.Services[r.Service]; !ok {
			errs = append(errs, fmt.Errorf("router %s: unknown service %q", name, r.Service))
		}
		for _, m := range r.Middlewares {
			if _, ok := d.HTTP.Middlewares[m]; !ok {
				errs = append(errs, fmt.Errorf("router %s: unknown middleware %q", name, m))
			}
		}
	}
	return errors.Join(errs...)
}

// checkContains is the check for configuration languages with no Go parser
// at hand (nginx, Caddyfile): the directives that wire the door.
func checkContains(want ...string) func([]byte) error {
	return func(data []byte) error {
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				return fmt.Errorf("missing %q", w)
			}
		}
		return nil
	}
}

var (
	checkNginx = checkContains("auth_request /_gatehouse;", "proxy_pass http://gatehouse/forward-auth;",
		"X-Original-Method $request_method;", "X-Original-URI $request_uri;", "$upstream_http_x_gatehouse_subject")
	checkCaddy = checkContains("forward_auth gatehouse:8080", "uri /forward-auth", "copy_headers X-Gatehouse-Subject")
)

func TestProxyExamples(t *testing.T) {
	for _, c := range []struct {
		file  string
		check func([]byte) error
	}{
		{"traefik/dynamic.yaml", checkTraefik},
		{"nginx/nginx.conf", checkNginx},
		{"caddy/Caddyfile", checkCaddy},
	} {
		if err := c.check(read(t, c.file)); err != nil {
			t.Errorf("%s: %v", c.file, err)
		}
	}
}

func proxyMutations() []mutation {
	return []mutation{
		{"traefik: misspelt key", "traefik/dynamic.yaml", "authResponseHeaders:", "authResponseHeader:", checkTraefik},
		{"traefik: wrong path", "traefik/dynamic.yaml", "8080/forward-auth", "8080/forwardauth", checkTraefik},
		{"traefik: unknown middleware", "traefik/dynamic.yaml", "middlewares: [gatehouse]", "middlewares: [gatehous]", checkTraefik},
		{"nginx: no auth_request", "nginx/nginx.conf", "auth_request /_gatehouse;", "# auth_request off;", checkNginx},
		{"caddy: wrong path", "caddy/Caddyfile", "uri /forward-auth", "uri /forwardauth", checkCaddy},
	}
}
