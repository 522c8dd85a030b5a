package jwt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of RemoteOptions.
const (
	DefaultRefreshInterval       = 15 * time.Minute
	DefaultUnknownKIDMinInterval = 10 * time.Second
	DefaultFetchTimeout          = 5 * time.Second
	DefaultMaxBodyBytes          = 1 << 20
	DefaultMaxStaleness          = 24 * time.Hour
	DefaultUnknownKIDMaxWait     = 150 * time.Millisecond

	minMaxAge      = 5 * time.Minute
	maxMaxAge      = 24 * time.Hour
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 30 * time.Second
)

// RemoteOptions configures a RemoteKeySource.
type RemoteOptions struct {
	// IssuerURL is the issuer identifier; discovery is fetched from
	// {IssuerURL}/.well-known/openid-configuration and must announce
	// exactly this issuer.
	IssuerURL string
	// HTTPClient makes the requests (a default client when nil). Its
	// redirect policy is replaced so a redirect cannot leave https.
	HTTPClient *http.Client
	// AllowInsecureHTTP accepts http:// issuer and jwks_uri URLs. Keys fetched
	// over plain HTTP can be swapped by anyone on the path: safe only on
	// loopback (tests, `make run`), set from AUTH_INSECURE_ALLOW_HTTP.
	AllowInsecureHTTP bool
	// RefreshInterval is the background refresh period when the JWKS response
	// has no Cache-Control max-age (a max-age is honoured, clamped to
	// [5m, 24h]). Default 15m.
	RefreshInterval time.Duration
	// UnknownKIDMinInterval is the least time between two fetches caused by
	// unknown kids (or any fetch). Default 10s.
	UnknownKIDMinInterval time.Duration
	// UnknownKIDMaxWait bounds how long a Check with an unknown kid waits
	// for the fetch it caused (or joined); the fetch itself runs on, up to
	// FetchTimeout, in the background. It keeps the Check under Envoy's
	// 200ms default timeout, past which failure_mode_allow would let the
	// request through. Default 150ms.
	UnknownKIDMaxWait time.Duration
	// FetchTimeout bounds one discovery + JWKS fetch. Default 5s.
	FetchTimeout time.Duration
	// MaxBodyBytes bounds each response body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxStaleness stops serving a key set this long after its last
	// successful fetch (Keys returns nil, tokens get 503). Default 24h.
	MaxStaleness time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// OnFetch, when set, is called after every fetch attempt (metrics).
	OnFetch func(issuer string, err error)
}

// RemoteKeySource keeps an issuer's JWKS in memory: loaded through OIDC
// discovery, refreshed in the background, refetched (rate-limited,
// single-flight) on an unknown kid. A failed refresh never evicts the last
// good key set; only MaxStaleness does.
type RemoteKeySource struct {
	opts   RemoteOptions
	base   context.Context // bounds fetches started on behalf of callers
	client *http.Client
	log    *slog.Logger
	// after waits in the background loop and onStop runs when it ends;
	// tests replace them.
	after  func(time.Duration) <-chan time.Time
	onStop func()

	current atomic.Pointer[loadedSet]
	fetches atomic.Int64
	loaded  chan struct{}
	once    sync.Once

	mu          sync.Mutex
	jwksURI     string // from discovery; cleared when a JWKS fetch fails
	lastErr     error
	lastAttempt time.Time
	inflight    *flight
	refreshIn   time.Duration // next background refresh, from Cache-Control
	started     bool
}

type loadedSet struct {
	set *KeySet
	at  time.Time
}

// flight is one fetch that concurrent callers share.
type flight struct {
	done chan struct{}
	err  error
}

var _ KeySource = (*RemoteKeySource)(nil)

// NewRemote checks opts and returns a source with no keys yet: call Start
// (background loading) or Refresh. ctx bounds every fetch the source makes,
// including those started for RefreshUnknownKID callers.
func NewRemote(ctx context.Context, opts RemoteOptions) (*RemoteKeySource, error) {
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.UnknownKIDMinInterval <= 0 {
		opts.UnknownKIDMinInterval = DefaultUnknownKIDMinInterval
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.UnknownKIDMaxWait <= 0 {
		opts.UnknownKIDMaxWait = DefaultUnknownKIDMaxWait
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxStaleness <= 0 {
		opts.MaxStaleness = DefaultMaxStaleness
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &RemoteKeySource{
		opts:      opts,
		base:      ctx,
		log:       opts.Logger,
		after:     time.After,
		loaded:    make(chan struct{}),
		refreshIn: opts.RefreshInterval,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("issuer", opts.IssuerURL)
	if opts.IssuerURL == "" {
		return nil, errors.New("jwks: empty issuer URL")
	}
	if err := r.checkURL(opts.IssuerURL); err != nil {
		return nil, fmt.Errorf("jwks: issuer: %w", err)
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errTooManyRedirects
		}
		return r.checkURL(req.URL.String())
	}
	r.client = &c
	return r, nil
}

// Keys returns the last good key set, or nil if none was ever loaded or the
// last successful fetch is older than MaxStaleness.
func (r *RemoteKeySource) Keys() *KeySet {
	cur := r.current.Load()
	if cur == nil || r.opts.Now().Sub(cur.at) > r.opts.MaxStaleness {
		return nil
	}
	return cur.set
}

// Fetches counts fetch attempts (discovery + JWKS) since creation.
func (r *RemoteKeySource) Fetches() int64 { return r.fetches.Load() }

// Loaded is closed once the first key set is loaded.
func (r *RemoteKeySource) Loaded() <-chan struct{} { return r.loaded }

// Ready reports whether keys are served, and if not, why, for health checks.
func (r *RemoteKeySource) Ready() (bool, string) {
	if r.Keys() != nil {
		return true, ""
	}
	r.mu.Lock()
	err := r.lastErr
	r.mu.Unlock()
	cur := r.current.Load()
	why := "first fetch not finished"
	switch {
	case err != nil:
		why = err.Error()
	case cur != nil:
		why = "no refresh attempted since"
	}
	if cur != nil {
		return false, fmt.Sprintf("JWKS of %s is stale (last loaded %s): %s",
			r.opts.IssuerURL, cur.at.UTC().Format(time.RFC3339), why)
	}
	return false, fmt.Sprintf("waiting for JWKS of %s: %s", r.opts.IssuerURL, why)
}

// Refresh fetches the keys now (or joins the fetch in flight) and returns its
// error; it waits no longer than ctx.
func (r *RemoteKeySource) Refresh(ctx context.Context) error {
	r.mu.Lock()
	f := r.startLocked()
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RefreshUnknownKID fetches again unless a fetch started less than
// UnknownKIDMinInterval ago, in which case the current set is returned at
// once; callers arriving while a fetch is in flight wait for it, bounded by
// ctx and UnknownKIDMaxWait. However many requests carry unknown kids, the
// issuer sees at most one fetch per interval.
func (r *RemoteKeySource) RefreshUnknownKID(ctx context.Context) *KeySet {
	r.mu.Lock()
	f := r.inflight
	if f == nil {
		if !r.lastAttempt.IsZero() && r.opts.Now().Sub(r.lastAttempt) < r.opts.UnknownKIDMinInterval {
			r.mu.Unlock()
			return r.Keys()
		}
		f = r.startLocked()
	}
	r.mu.Unlock()
	wait := time.NewTimer(r.opts.UnknownKIDMaxWait)
	defer wait.Stop()
	select {
	case <-f.done:
	case <-ctx.Done():
	case <-wait.C:
	}
	return r.Keys()
}

// startLocked starts a fetch unless one is in flight, and returns it. The
// fetch runs on r.base, not on a caller's context, so one impatient caller
// cannot cancel it for the others.
func (r *RemoteKeySource) startLocked() *flight {
	if r.inflight != nil {
		return r.inflight
	}
	f := &flight{done: make(chan struct{})}
	r.inflight = f
	r.lastAttempt = r.opts.Now()
	go func() {
		err := r.fetch(r.base)
		r.mu.Lock()
		r.inflight = nil
		r.lastErr = err
		r.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	return f
}

// Start loads the keys in the background until ctx is done: retries with
// capped exponential backoff until the first load, then refreshes
// periodically (sooner after a failure, keeping the last good set meanwhile).
// It returns at once; see Loaded and Ready. Calling it again does nothing.
func (r *RemoteKeySource) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	r.started = true
	go r.loop(ctx)
}

func (r *RemoteKeySource) loop(ctx context.Context) {
	if r.onStop != nil {
		defer r.onStop()
	}
	backoff := initialBackoff
	for {
		err := r.Refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err == nil:
			r.mu.Lock()
			wait = r.refreshIn
			r.mu.Unlock()
			backoff = initialBackoff
		case r.current.Load() == nil:
			r.log.WarnContext(ctx, "jwks: initial load failed; retrying", "error", err, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, maxBackoff)
		default:
			// Keep serving the last good set; try again before the
			// next regular refresh.
			wait = min(backoff, r.opts.RefreshInterval)
			r.log.WarnContext(ctx, "jwks: refresh failed; keeping the last good key set", "error", err, "retry_in", wait)
			backoff = min(2*backoff, r.opts.RefreshInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.after(jitter(wait)):
		}
	}
}

// jitter shortens d by up to 10% so replicas do not refresh in lockstep.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - rand.N(d/10)
}

// fetch runs discovery (when the jwks_uri is not known yet) and loads the
// JWKS, installing the new set only if it holds usable keys.
func (r *RemoteKeySource) fetch(ctx context.Context) (err error) {
	r.fetches.Add(1)
	defer func() {
		if r.opts.OnFetch != nil {
			r.opts.OnFetch(r.opts.IssuerURL, err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
	defer cancel()

	r.mu.Lock()
	uri := r.jwksURI
	r.mu.Unlock()
	if uri == "" {
		if uri, err = r.discover(ctx); err != nil {
			return err
		}
		r.mu.Lock()
		r.jwksURI = uri
		r.mu.Unlock()
	}
	body, hdr, err := r.get(ctx, uri)
	if err == nil {
		var set *KeySet
		if set, err = KeySetFromJWKS(body); err == nil {
			for _, p := range set.Problems() {
				r.log.WarnContext(ctx, "jwks: key ignored or odd", "problem", p)
			}
			r.current.Store(&loadedSet{set: set, at: r.opts.Now()})
			r.mu.Lock()
			r.refreshIn = r.refreshInterval(hdr.Get("Cache-Control"))
			r.mu.Unlock()
			r.once.Do(func() { close(r.loaded) })
			r.log.DebugContext(ctx, "jwks: loaded", "keys", set.Len())
			return nil
		}
	}
	// The document may have moved: rediscover next time.
	r.mu.Lock()
	r.jwksURI = ""
	r.mu.Unlock()
	return fmt.Errorf("jwks %s: %w", uri, err)
}

// refreshInterval honours a Cache-Control max-age, clamped to [5m, 24h] and
// to half of MaxStaleness so a set is always refreshed before it goes stale.
func (r *RemoteKeySource) refreshInterval(cacheControl string) time.Duration {
	d := r.opts.RefreshInterval
	for _, dir := range strings.Split(cacheControl, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(dir), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		if secs, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && secs >= 0 {
			d = max(min(time.Duration(min(secs, int64(maxMaxAge/time.Second)))*time.Second, maxMaxAge), minMaxAge)
		}
	}
	return min(d, r.opts.MaxStaleness/2)
}

// get fetches uri and returns at most MaxBodyBytes of a 200 response.
func (r *RemoteKeySource) get(ctx context.Context, uri string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > r.opts.MaxBodyBytes {
		return nil, nil, fmt.Errorf("body exceeds %d bytes", r.opts.MaxBodyBytes)
	}
	return body, resp.Header, nil
}
