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

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin
