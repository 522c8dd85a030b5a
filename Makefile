# Gatehouse — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BUF       := $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0
BIN       := bin/gatehouse
# Development defaults for `make run`: Gatehouse is its own issuer on localhost.
DEV_ENV   := AUTH_MODE=embedded CONTROLLER_PUBLIC_URL=http://localhost:8080 AUTH_INSECURE_ALLOW_HTTP=true DATA_DIR=./data

.PHONY: run build test test-short vet proto proto-check bench fuzz clean

run: build ## start Gatehouse on embedded dev defaults
	$(DEV_ENV) ./$(BIN) serve --banner

build: ## build bin/gatehouse
	$(GO) build -trimpath -o $(BIN) ./cmd/gatehouse

test: vet ## run every test (Go, Rego, fuzz corpora, integration)
	$(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

proto: ## regenerate the gRPC, gateway and OpenAPI code from proto/
	$(BUF) lint
	$(BUF) generate

proto-check: proto ## fail if the committed generated code is stale
	git diff --exit-code -- proto docs/openapi

bench: ## in-process benchmarks (see docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every target's seed corpus (testdata/fuzz/<Name>) also runs in `make test`.
# FUZZFLAGS: e.g. -parallel 1 on a shared machine.
FUZZTIME  ?= 30s
FUZZFLAGS ?=
fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for dir in $$(grep -rl --include='*_test.go' --exclude-dir=bench --exclude-dir=node_modules --exclude-dir=testdata '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
	    echo "== $$dir $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$dir; \
	  done; \
	done

# Load benchmarks of ext_authz over gRPC on loopback (docs/benchmarks.md,
# "Load: ext_authz over gRPC"). The tooling is its own module in bench/, so
# ghz, gonum/plot and the OPA-Envoy plugin stay out of go.mod. Extra flags:
# BENCH_FLAGS (loadbench: -duration 10s -warmup 2s -concurrency 16 -rate 2000
# -tokens 1000, or -requests N) and CHART_FLAGS (benchchart: -rates 500,1000,…
# -duration 5s). gatehouse-cold is a second Gatehouse with IDENTITY_CACHE_SIZE=1:
# with distinct tokens every token is new to it.
.PHONY: bench-tools bench-load bench-compare bench-chart bench-test
GHZ_VERSION   := v0.121.0
OPA_ENVOY_PKG := github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin
BENCH_FLAGS   ?=
CHART_FLAGS   ?=

bench-tools: ## build bench/bin: gatehouse from this tree, ghz $(GHZ_VERSION) if missing
	$(GO) build -trimpath -o bench/bin/gatehouse ./cmd/gatehouse
	@test -x bench/bin/ghz || GOBIN=$(CURDIR)/bench/bin $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

# The plugin's version is pinned in bench/tools/opa-envoy/go.mod (`go install
# …@version` needs the module's version list, which the proxy may refuse).
bench/bin/opa-envoy-plugin: bench/tools/opa-envoy/go.mod bench/tools/opa-envoy/go.sum
	cd bench/tools/opa-envoy && $(GO) build -trimpath -o ../../bin/opa-envoy-plugin $(OPA_ENVOY_PKG)

bench-load: bench-tools ## ext_authz load (ghz) against Gatehouse: fixed concurrency and rate, 1 and 1,000 tokens, every token new
	cd bench && $(GO) run -mod=mod ./cmd/loadbench -servers gatehouse,gatehouse-cold $(BENCH_FLAGS)

bench-compare: bench-tools bench/bin/opa-envoy-plugin ## the same load against Gatehouse and the OPA-Envoy peer, with ratios
	cd bench && $(GO) run -mod=mod ./cmd/loadbench -servers gatehouse,gatehouse-cold,opa-envoy $(BENCH_FLAGS)

bench-chart: bench-tools bench/bin/opa-envoy-plugin ## p99 against offered load for both servers: docs/bench-p99.png
	cd bench && $(GO) run -mod=mod ./cmd/benchchart -out ../docs/bench-p99.png $(CHART_FLAGS)

bench-test: bench-tools bench/bin/opa-envoy-plugin ## Gatehouse and the OPA-Envoy peer agree on a sample of requests
	cd bench && $(GO) test -mod=mod -count=1 ./...

clean:
	rm -rf bin

# Promises 5 and 6 of docs/reliability.md: a sustained ext_authz load at a
# fixed rate over a mix of every credential kind, then an attack of distinct
# invalid tokens; prints a table per window (Checks/s, p50/p99, errors, RSS)
# and plots docs/reliability-soak.png. It stops by itself after
# SOAK_DURATION + SOAK_ATTACK_DURATION (plus a warm-up). Needs a quiet
# machine for the full figures: it loads both cores.
.PHONY: soak
SOAK_DURATION        ?= 10m
SOAK_RATE            ?= 2000
SOAK_ATTACK_DURATION ?= 5m
SOAK_ATTACK_TOKENS   ?= 1000000
SOAK_FLAGS           ?=

soak: ## promises 5 and 6: sustained load, then 1,000,000 invalid tokens (SOAK_DURATION, default 10m)
	$(GO) build -trimpath -o bench/bin/gatehouse ./cmd/gatehouse
	cd bench && $(GO) run -mod=mod ./cmd/soak -duration $(SOAK_DURATION) -rate $(SOAK_RATE) \
	  -attack-duration $(SOAK_ATTACK_DURATION) -attack-tokens $(SOAK_ATTACK_TOKENS) \
	  -png ../docs/reliability-soak.png $(SOAK_FLAGS)
