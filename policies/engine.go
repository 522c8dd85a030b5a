// Package policies holds Gatehouse's default Rego policy and data and the
// engine that evaluates them: it loads the embedded policy or an operator's
// POLICY_DIR, compiles and prepares data.gatehouse.authz.decision once per
// load, resolves routes from the catalog data, and decodes each decision
// strictly.
package policies

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/gatehouse-authz/gatehouse"
)

// Default is the embedded default policy: Rego modules, their tests and the
// data under gatehouse/.
//
//go:embed *.rego gatehouse
var Default embed.FS

// DecisionQuery is the rule every policy must define.
const DecisionQuery = "data.gatehouse.authz.decision"

// Options configure an Engine.
type Options struct {
	// Dir replaces the embedded policy and data when set; it is watched and
	// reloaded on change.
	Dir string
	// Config is published as data.gatehouse.config (client_id, role_claim,
	// administrator_role).
	Config map[string]any
	Logger *slog.Logger
	// OnReload reports every reload attempt of Dir.
	OnReload func(ok bool, err error)
	// EvalTimeout bounds one evaluation; zero means no bound beyond the
	// caller's context.
	EvalTimeout time.Duration
	// PollInterval is how often Dir is checked for changes (default 2s).
	PollInterval time.Duration
	// DecisionCacheSize bounds the decision cache; 0 disables it. Decisions are cached only for a policy that declares
	// data.gatehouse.decision_cache.enabled: that it decides on the identity
	// (without volatile claims) and the route alone.
	DecisionCacheSize int
}

// Engine evaluates decisions. It is safe for concurrent use; a reload swaps
// the whole snapshot atomically, so a request sees one policy from start to
// end.
type Engine struct {
	opts Options
	log  *slog.Logger
	snap atomic.Pointer[snapshot]

	mu     sync.Mutex // serialises loads and data pushes
	pushed map[string]any
	source *loaded

	hits, misses atomic.Uint64
}

// loaded is what one load of the policy files produced.
type loaded struct {
	compiler  *ast.Compiler
	documents map[string]any
	router    *router
	digest    string
	// cacheable: the policy declares its decision depends on identity and
	// route only.
	cacheable bool
}

type snapshot struct {
	query  rego.PreparedEvalQuery
	router *router
	// cache holds this snapshot's decisions; a new policy or new data is a
	// new snapshot, so a stale decision is never served. Nil when disabled.
	cache *lru.Cache[decisionKey, gatehouse.PolicyResult]
}

// decisionKey is everything a cacheable policy may decide on.
type decisionKey struct {
	identity                               [32]byte
	resource, verb, name, marker, template string
}

// New loads the policy (Options.Dir or the embedded default) and prepares
// it. A policy that does not load, compile or define the decision is an
// error.
func New(ctx context.Context, opts Options) (*Engine, error) {
	e := &Engine{opts: opts, log: opts.Logger, pushed: map[string]any{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var src *loaded
	var err error
	if opts.Dir != "" {
		src, err = loadDir(opts.Dir)
	} else {
		src, err = loadFS(Default)
	}
	if err != nil {
		return nil, err
	}
	if err := e.install(ctx, src); err != nil {
		return nil, err
	}
	return e, nil
}

// loadFS loads policy modules (not tests) and data from fsys.
func loadFS(fsys fs.FS) (*loaded, error) {
	res, err := loader.NewFileLoader().WithFS(fsys).WithRegoVersion(ast.RegoV1).Filtered([]string{"."}, skipTests)
	if err != nil {
		return nil, err
	}
	return compile(res, "")
}

func loadDir(dir string) (*loaded, error) {
	digest, err := dirDigest(dir)
	if err != nil {
		return nil, err
	}
	res, err := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).Filtered([]string{dir}, skipTests)
	if err != nil {
		return nil, err
	}
	return compile(res, digest)
}

// skipTests leaves out Rego tests, test data and hidden files.
func skipTests(_ string, info fs.FileInfo, depth int) bool {
	name := info.Name()
	if depth > 0 && strings.HasPrefix(name, ".") {
		return true
	}
	if info.IsDir() {
		return name == "testdata"
	}
	return strings.HasSuffix(name, "_test.rego") || strings.HasSuffix(name, ".go")
}

func compile(res *loader.Result, digest string) (*loaded, error) {
	modules := make(map[string]*ast.Module, len(res.Modules))
	for name, m := range res.Modules {
		modules[name] = m.Parsed
	}
	c := ast.NewCompiler()
	c.Compile(modules)
	if c.Failed() {
		return nil, c.Errors
	}
	ref := ast.MustParseRef(DecisionQuery)
	if len(c.GetRulesExact(ref)) == 0 {
		return nil, fmt.Errorf("the policy does not define %s", DecisionQuery)
	}
	r, err := buildRouter(lookup(res.Documents, "gatehouse", "catalog"))
	if err != nil {
		return nil, err
	}
	cacheable := false
	if dc := lookup(res.Documents, "gatehouse", "decision_cache"); dc != nil {
		m, ok := dc.(map[string]any)
		enabled, isBool := m["enabled"].(bool)
		if !ok || !isBool || len(m) != 1 {
			return nil, fmt.Errorf("data.gatehouse.decision_cache must be {\"enabled\": true|false}")
		}
		cacheable = enabled
	}
	return &loaded{compiler: c, documents: res.Documents, router: r, digest: digest, cacheable: cacheable}, nil
}

func lookup(doc map[string]any, path ...string) any {
	var cur any = doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// install prepares src with the current pushed data and swaps it in.
func (e *Engine) install(ctx context.Context, src *loaded) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.installLocked(ctx, src)
}

func (e *Engine) installLocked(ctx context.Context, src *loaded) error {
	data, err := deepCopy(src.documents)
	if err != nil {
		return err
	}
	gh, _ := data["gatehouse"].(map[string]any)
	if gh == nil {
		gh = map[string]any{}
		data["gatehouse"] = gh
	}
	gh["config"] = e.opts.Config
	for path, v := range e.pushed {
		setPath(data, strings.Split(path, "/"), v)
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	pq, err := rego.New(
		rego.Query(DecisionQuery),
		rego.Compiler(src.compiler),
		rego.Store(store),
	).PrepareForEval(ctx)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", DecisionQuery, err)
	}
	snap := &snapshot{query: pq, router: src.router}
	if src.cacheable && e.opts.DecisionCacheSize > 0 {
		snap.cache, err = lru.New[decisionKey, gatehouse.PolicyResult](e.opts.DecisionCacheSize)
		if err != nil {
			return err
		}
	}
	e.source = src
	e.snap.Store(snap)
	return nil
}

// CacheStats reports the decision cache's hits, misses and current size.
func (e *Engine) CacheStats() (hits, misses uint64, size int) {
	if c := e.snap.Load().cache; c != nil {
		size = c.Len()
	}
	return e.hits.Load(), e.misses.Load(), size
}

func deepCopy(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(b, &out)
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// SetData publishes a document under data (path "gatehouse/bindings",
// "gatehouse/roles/custom") and keeps it across reloads. The store pushes
// role bindings and custom roles here so a Check never waits on a database.
func (e *Engine) SetData(ctx context.Context, path string, value any) error {
	if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "//") {
		return fmt.Errorf("policies: bad data path %q", path)
	}
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("policies: data %s: %w", path, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := maps.Clone(e.pushed)
	e.pushed[path] = v
	if err := e.installLocked(ctx, e.source); err != nil {
		e.pushed = old
		return err
	}
	return nil
}

// Codenames lists the permission codenames the current catalog uses.
func (e *Engine) Codenames() []string { return slices.Clone(e.snap.Load().router.codenames) }

// Route resolves a request against the current catalog.
func (e *Engine) Route(method, path string, websocket bool) gatehouse.RouteMatch {
	return e.snap.Load().router.match(method, path, websocket)
}

// ErrResult marks a decision the policy left undefined, made more than once
// or shaped wrongly.
var ErrResult = errors.New("policies: bad decision")

// Evaluate runs the prepared decision query.
// Results are shared with the decision cache: callers must not modify them.
func (e *Engine) Evaluate(ctx context.Context, in *gatehouse.PolicyInput) (gatehouse.PolicyResult, error) {
	snap := e.snap.Load()
	var key decisionKey
	if snap.cache != nil {
		key = decisionKey{
			resource: in.Route.Resource, verb: in.Route.Verb, name: in.Route.Name,
			marker: in.Route.Marker, template: in.Route.Template,
		}
		switch {
		case in.Identity == nil, in.Identity.Kind == gatehouse.KindAnonymous:
			// Anonymous identities carry nothing else: no hashing per request.
			key.identity = anonymousDigest
		case in.Identity.Digest == [32]byte{}:
			id := *in.Identity
			id.ComputeDigest()
			key.identity = id.Digest
		default:
			key.identity = in.Identity.Digest
		}
		if r, ok := snap.cache.Get(key); ok {
			e.hits.Add(1)
			return r, nil
		}
		e.misses.Add(1)
	}
	r, err := e.eval(ctx, snap, in)
	if err == nil && snap.cache != nil {
		snap.cache.Add(key, r)
	}
	return r, err
}

var anonymousDigest = func() [32]byte {
	id := gatehouse.Anonymous
	id.ComputeDigest()
	return id.Digest
}()

func (e *Engine) eval(ctx context.Context, snap *snapshot, in *gatehouse.PolicyInput) (gatehouse.PolicyResult, error) {
	if e.opts.EvalTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.EvalTimeout)
		defer cancel()
	}
	input, err := inputValue(in)
	if err != nil {
		return gatehouse.PolicyResult{}, fmt.Errorf("policies: input: %w", err)
	}
	rs, err := snap.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		if ctx.Err() != nil {
			return gatehouse.PolicyResult{}, fmt.Errorf("policies: %w: %w", ctx.Err(), err)
		}
		return gatehouse.PolicyResult{}, fmt.Errorf("policies: %w", err)
	}
	switch {
	case len(rs) == 0:
		return gatehouse.PolicyResult{}, fmt.Errorf("%w: %s is undefined", ErrResult, DecisionQuery)
	case len(rs) > 1 || len(rs[0].Expressions) != 1:
		return gatehouse.PolicyResult{}, fmt.Errorf("%w: more than one result", ErrResult)
	}
	return decodeResult(rs[0].Expressions[0].Value)
}
