package policies

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRego runs every *_test.rego of the default policy against its data,
// one subtest per Rego test.
func TestRego(t *testing.T) {
	res, err := loader.NewFileLoader().WithFS(Default).WithRegoVersion(ast.RegoV1).All([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	store, err := res.Store()
	if err != nil {
		t.Fatal(err)
	}
	modules := res.ParsedModules()
	tests := 0
	for name := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			tests++
		}
	}
	if tests < 3 {
		t.Fatalf("found %d Rego test files, want one per policy file", tests)
	}
	ctx := context.Background()
	ch, err := tester.NewRunner().SetStore(store).SetModules(modules).RaiseBuiltinErrors(true).Run(ctx, modules)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for r := range ch {
		ran++
		t.Run(r.Package+"."+r.Name, func(t *testing.T) {
			switch {
			case r.Error != nil:
				t.Fatalf("error: %v", r.Error)
			case r.Fail:
				t.Fatalf("failed at %s", r.Location)
			case r.Skip:
				t.Fatal("skipped Rego tests are not allowed")
			}
		})
	}
	if ran < 30 {
		t.Fatalf("ran %d Rego tests; expected the whole suite", ran)
	}
}

// TestEveryRuleFileHasATestFile keeps the "every rule has a _test.rego" rule.
func TestEveryRuleFileHasATestFile(t *testing.T) {
	files, err := fs.Glob(Default, "*.rego")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.rego") && !have[strings.TrimSuffix(f, ".rego")+"_test.rego"] {
			t.Errorf("%s has no %s", f, strings.TrimSuffix(f, ".rego")+"_test.rego")
		}
	}
}
