# loadforge — make build | run | test | lint | validate | bench | fuzz
SHELL := bash
GO ?= go
BIN := bin/loadforge
PKG := github.com/loadforge/loadforge
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/internal/cli.version=$(VERSION) -X $(PKG)/internal/cli.commit=$(COMMIT)
TARGET_ADDR ?= 127.0.0.1:8080
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 20s

.PHONY: build run test lint validate bench fuzz clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/loadforge

# The quickstart: start the built-in demo target, run configs/quickstart.yaml against it (~10 s).
run: build
	@$(BIN) target --addr $(TARGET_ADDR) & pid=$$!; trap 'kill $$pid 2>/dev/null' EXIT; \
	host=$${TARGET_ADDR%:*}; port=$${TARGET_ADDR##*:}; \
	for _ in $$(seq 100); do (exec 3<>/dev/tcp/$$host/$$port) 2>/dev/null && break; sleep 0.05; done; \
	$(BIN) run configs/quickstart.yaml --base-url http://$(TARGET_ADDR)

# Every test: unit, integration and end-to-end, under the race detector.
test:
	$(GO) test -race -count=1 -timeout 10m ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

validate: lint test

# Hot-path benchmarks, BENCHCOUNT runs each, in benchstat's format: keep a
# bench.out, change something, run again, then `benchstat old.out bench.out`.
BENCHCOUNT ?= 6
BENCHPKGS ?= ./worker/ ./internal/latency/ ./schemas/ ./collector/ ./internal/pattern/ ./scheduler/
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) $(BENCHPKGS) | tee bench.out

# Each fuzz target for FUZZTIME (go test runs one -fuzz target per invocation).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; done

clean:
	rm -rf bin bench.out
