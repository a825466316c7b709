# The two commands a newcomer needs: `make run` and `make test`.
GO        ?= go
BIN       := bin/aggregator
PKGS      := ./...
TEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build install run test lint vet staticcheck fmt-check unit bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/aggregator

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

# Every test: formatting, vet, staticcheck and the Go tests (race detector on) against PostgreSQL,
# MariaDB and Redis on 127.0.0.1 (docs/development.md). About 6-8 minutes on 2 cores.
test: lint unit

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# staticcheck is a tool dependency in go.mod: `go tool` builds it from the module cache, nothing to install.
staticcheck:
	$(GO) tool staticcheck $(PKGS)

unit:
	$(GO) test $(TEST_FLAGS) $(PKGS)

# Benchmarks: file pipelines against a bare encoding/csv loop, database loads against psql \copy.
# Results go to docs/benchmarks.md by hand, with the machine they ran on.
bench: build
	bash bench/files.sh
	bash bench/db.sh

# Short fuzzing of every parser (each target for FUZZTIME).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
