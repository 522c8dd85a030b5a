package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// FileLookup reads a YAML configuration file whose keys are the environment
// variables' names (AUTH_MODE: external) and returns a lookup in which the
// environment wins over the file. A list value is joined with commas, so
// OIDC_AUDIENCES may be a YAML list. An unknown key is an error naming it,
// so a misspelt setting does not pass silently.
func FileLookup(path string, env func(string) (string, bool)) (func(string) (string, bool), error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	file := make(map[string]string, len(raw))
	var errs []error
	for k, v := range raw {
		if !known(k) {
			errs = append(errs, fmt.Errorf("--config %s: unknown setting %s (settings are named like the environment variables, see gatehouse serve --help)", path, k))
			continue
		}
		s, err := scalar(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		file[k] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return func(k string) (string, bool) {
		if v, ok := env(k); ok && v != "" {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	}, nil
}

func known(name string) bool {
	return name == "PUBLIC_URL" || slices.ContainsFunc(Vars, func(v Var) bool { return v.Name == name })
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, item := range x {
			s, err := scalar(item)
			if err != nil {
				return "", err
			}
			if _, nested := item.([]any); nested {
				return "", errors.New("lists of lists are not settings")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("must be a string, number, boolean or list, not %T", v)
}

// Setting is one variable of the effective configuration.
type Setting struct {
	Name   string
	Value  string // "****" for a secret that is set
	Source string // "env or file", or "default"
}

// Effective lists every variable with the value lookup gives it, secrets
// masked, for `gatehouse config check`.
func Effective(lookup func(string) (string, bool)) []Setting {
	out := make([]Setting, 0, len(Vars))
	for _, v := range Vars {
		s := Setting{Name: v.Name, Value: v.Default, Source: "default"}
		if val, ok := lookup(v.Name); ok && val != "" {
			s.Value, s.Source = val, "set"
			if v.Secret {
				s.Value = "****"
			}
		}
		if v.Name == "CONTROLLER_PUBLIC_URL" && s.Source == "default" {
			if val, ok := lookup("PUBLIC_URL"); ok && val != "" {
				s.Value, s.Source = val, "set (PUBLIC_URL)"
			}
		}
		out = append(out, s)
	}
	return out
}
