# Ferry's two entry points: `scripts/chat` (or `make chat`) runs the chat
# example; `make test` installs everything the tests need on a fresh Debian
# machine, then runs every test. Both work from a clean checkout.

GO      ?= go
MODULES := . metrics examples bench redisadapter internal/proxymatrix adminui
NPM_DIRS := internal/nodetest/node client-js bench/node redisadapter/internal/node adminui/internal/node

.PHONY: chat test deps test-go test-js vet fuzz bench

# scripts/chat builds the chat and runs it in place of itself; see there.
chat:
	exec ./scripts/chat

test: deps vet test-go test-js

# System packages (nginx for proxy tests, Chromium for browser tests, Redis
# for multi-node tests, squid and HAProxy for the proxy matrix), the pinned
# npm packages, and the toxiproxy server.
deps:
	./scripts/deps

vet:
	@for m in $(MODULES); do [ -f $$m/go.mod ] || continue; \
		echo "go vet ($$m)"; $(GO) -C $$m vet ./... || exit 1; \
		out=$$(cd $$m && gofmt -l $$(git ls-files '*.go' 2>/dev/null)); \
		[ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; }; done

test-go:
	@for m in $(MODULES); do [ -f $$m/go.mod ] || continue; \
		echo "go test -race ($$m)"; $(GO) -C $$m test -race -count=1 -timeout 10m ./... || exit 1; done

test-js:
	npm --prefix client-js test
	npm --prefix client-js run test:browser

# Runs every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	./scripts/fuzz $(FUZZTIME)

bench:
	./bench/run
