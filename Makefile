# The two commands a newcomer needs: `make run` and `make test`.
GO        ?= go
BIN       := bin/aggregator
PKGS      := ./...
# -ldflags=-w: the test binaries are linked without DWARF (stack traces and race reports keep their
# file:line, which come from the binary's own tables); a large one links in 4.6 s instead of 6-8 s.
TEST_FLAGS ?= -race -count=1 -timeout 30m -ldflags=-w

.PHONY: all build build-go install run test lint vet cross-check staticcheck fmt-check unit web-deps web-check e2e bench fuzz clean \
	release release-verify deploy-test cluster cluster-stop cluster-demo

all: build

# The web app (web/, its own npm project) is built into web/dist when its sources changed, and
# embedded in the binary. `go build` alone never needs npm: it embeds whatever web/dist holds
# (a committed .gitkeep in a fresh clone; that binary says how to build the UI).
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/package.json web/package-lock.json \
	web/vite.config.ts web/tsconfig.json web/tsconfig.app.json
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@
web-deps: web/node_modules/.package-lock.json

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

build: web/dist/index.html build-go

# The binary, vet and staticcheck compile the packages as the Dockerfile's build stage does (no cgo:
# the SQLite driver is pure Go; -trimpath): one compile serves all three, and deploy-test's image
# layout build only links. The Go tests keep cgo (the race detector needs it).
STATIC := CGO_ENABLED=0 GOFLAGS=-trimpath
build-go:
	$(STATIC) $(GO) build -o $(BIN) ./cmd/aggregator

# Copies bin/aggregator to $(PREFIX)/bin when PREFIX is set (`make install PREFIX=/usr/local`), otherwise
# to Go's install directory (GOBIN, or GOPATH/bin), as `go install` would.
PREFIX ?=
INSTALL_DIR = $(if $(PREFIX),$(PREFIX)/bin,$(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin))
install: build
	install -d $(DESTDIR)$(INSTALL_DIR)
	install -m 0755 $(BIN) $(DESTDIR)$(INSTALL_DIR)/aggregator
	@echo "installed $(DESTDIR)$(INSTALL_DIR)/aggregator"
	@case ":$$PATH:" in *":$(INSTALL_DIR):"*) ;; *) echo "note: $(INSTALL_DIR) is not on PATH; add it, or run bin/aggregator";; esac

# Builds everything and starts the platform on http://localhost:8001 with the embedded SQLite store.
# The environment reaches the server: `PORT=9000 make run`, `DATA_DIR=/srv/agg make run`.
run: build
	./$(BIN) serve

# Every test: formatting, vet, staticcheck, the web app's lint, type check, unit tests and API-type
# freshness, the Go tests (race detector on) against PostgreSQL, MariaDB and Redis on 127.0.0.1
# (docs/development.md), the deployment files' checks (deploy-test), and the end-to-end browser tests
# (Debian's chromium) against a real server.
test: lint web-check unit deploy-test e2e

lint: fmt-check vet staticcheck cross-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(STATIC) $(GO) vet $(PKGS)

# make release builds for Windows and macOS too: code that compiles only on Linux (a syscall) fails here,
# not at release time.
cross-check:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/aggregator

# staticcheck is a tool dependency in go.mod: `go tool` builds it from the module cache, nothing to install.
staticcheck:
	$(STATIC) $(GO) tool staticcheck $(PKGS)

# The crash tests of internal/connector/sqlkit/exactlyonce SIGKILL child processes at random points
# to prove exactly-once delivery, not the absence of data races: they run without the race detector
# (33 s instead of 174 s); every other package runs with it.
NORACE_PKGS := ./internal/connector/sqlkit/exactlyonce
unit:
	$(GO) test $(TEST_FLAGS) $$($(GO) list $(PKGS) | grep -v '$(patsubst .%,%,$(NORACE_PKGS))$$')
	$(GO) test $(filter-out -race,$(TEST_FLAGS)) $(NORACE_PKGS)

# The deployment files (Dockerfile, compose, Helm chart, Terraform, Grafana dashboard), checked by the
# nested module deploy/ so that its Helm, Kubernetes, compose and HCL libraries stay out of the binary's
# module (the root `go vet ./...` and `go test ./...` do not enter it).
deploy-test:
	cd deploy && $(GO) vet ./... && $$(cd .. && $(GO) tool -n staticcheck) ./... && $(GO) test -count=1 -timeout 20m ./...

# The web app: ESLint, tsc --noEmit, Vitest, and src/api/schema.d.ts fresh against the server's
# OpenAPI document (fails when a Go API change was not followed by `cd web && npm run gen:api`).
web-check: build
	cd web && AGGREGATOR_BIN=../$(BIN) npm run check:api
	cd web && npm run lint
	cd web && npm run typecheck
	cd web && npm test

# (web-check and e2e both depend on `build`: make runs build-go once per invocation, so a binary built
# before web/dist existed would lack the UI.)
# End-to-end: the binary with the UI embedded, a temporary SQLite store, chromium (CHROMIUM, default
# /usr/bin/chromium). Screenshots go to docs/screenshots/.
e2e: build
	cd web && AGGREGATOR_BIN=../$(BIN) npm run e2e

# Benchmarks: file pipelines against a bare encoding/csv loop, database loads against psql \copy,
# the live-update fan-out (1,000 WebSockets while 10 runs report progress) against 1 WebSocket,
# the run event buses (events/s through each; publish-to-WebSocket latency across processes).
# Results go to docs/benchmarks.md by hand, with the machine they ran on.
bench: build
	bash bench/files.sh
	bash bench/db.sh
	SOURCE=pg bash bench/ws.sh
	bash bench/bus.sh
	bash bench/dispatch.sh
	bash bench/partitions.sh
	bash bench/rest.sh

# Short fuzzing of every parser (each target for FUZZTIME).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Release builds (scripts/release.sh): six archives with the UI embedded, SHA256SUMS and an SBOM per
# target in dist/. VERSION=v1.2.3 make release; TARGETS="linux/amd64" for one.
release: web/dist/index.html
	bash scripts/release.sh

# Rebuilds linux/amd64 from a clean copy of the tree in another directory with an empty build cache
# and compares its archive with dist/'s: the build depends on neither the path nor the cache.
# Run `make release` first.
release-verify:
	bash scripts/release-verify.sh

# The scaled-out shape on this machine (scripts/cluster.sh): two API processes (ports 8101, 8102) and
# two `aggregator worker` processes on the local PostgreSQL and Redis; pid files and logs in .cluster/.
# Refuses, and starts nothing, when PostgreSQL (or Redis; REDIS_URL= to go without) is unreachable.
# `make cluster-demo` queues a run through one API process and follows its progress on the other.
cluster: build
	bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

cluster-demo:
	bash scripts/cluster.sh demo

clean:
	rm -rf bin dist .cluster
	find web/dist -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
