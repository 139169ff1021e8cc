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

.PHONY: build run test test-loaded lint validate bench bench-scenario fuzz clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/loadforge

# The quickstart: start the built-in demo target, run configs/quickstart.yaml against it (~10 s).
# TARGET_ADDR's port taken by another program: the target takes a free port instead.
run:
	@[ -x $(BIN) ] || echo "building loadforge; the first build takes about a minute"
	@$(MAKE) --no-print-directory build
	@want=$(TARGET_ADDR); host=$${want%:*}; port=$${want##*:}; \
	if (exec 3<>/dev/tcp/$$host/$$port) 2>/dev/null; then \
	  echo "$(TARGET_ADDR) is taken; the demo target takes a free port"; port=0; fi; \
	log=$$(mktemp); $(BIN) target --addr $$host:$$port >$$log 2>&1 & pid=$$!; trap 'kill $$pid 2>/dev/null; rm -f $$log' EXIT; \
	addr=; for _ in $$(seq 200); do \
	  addr=$$(grep -oE '[0-9.]+:[0-9]+' $$log | head -1); [ -n "$$addr" ] && (exec 3<>/dev/tcp/$${addr%:*}/$${addr##*:}) 2>/dev/null && break; \
	  addr=; kill -0 $$pid 2>/dev/null || break; sleep 0.05; done; \
	if [ -z "$$addr" ]; then echo "the demo target did not start:"; cat $$log; exit 1; fi; \
	$(BIN) run configs/quickstart.yaml --base-url http://$$addr

# Every test: unit, integration and end-to-end, under the race detector.
test:
	$(GO) test -race -count=1 -timeout 10m ./...

# `make test` LOADED_RUNS times (default 10) while stress-ng keeps two cores
# busy, as on a shared CI machine; each run's output goes to
# $(LOADED_LOGS)/N.log. It fails unless every run passed.
LOADED_RUNS ?= 10
LOADED_LOGS ?= test-loaded
test-loaded:
	@command -v stress-ng >/dev/null || { echo "test-loaded needs stress-ng (apt-get install stress-ng, or .ci/run test-loaded)"; exit 2; }
	@mkdir -p $(LOADED_LOGS); \
	stress-ng --cpu 2 --timeout 0 >/dev/null 2>&1 & sp=$$!; trap 'kill $$sp 2>/dev/null' EXIT; \
	pass=0; for i in $$(seq $(LOADED_RUNS)); do \
	  start=$$(date +%s); \
	  if $(MAKE) --no-print-directory test >$(LOADED_LOGS)/$$i.log 2>&1; then pass=$$((pass+1)); r=ok; else r=FAIL; fi; \
	  echo "run $$i: $$r in $$(( $$(date +%s) - start )) s, load $$(cut -d' ' -f1-3 /proc/loadavg) ($(LOADED_LOGS)/$$i.log)"; \
	done; \
	echo "$$pass of $(LOADED_RUNS) loaded runs passed"; [ $$pass -eq $(LOADED_RUNS) ]

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The program builds for other systems too: its raw system calls and terminal width are per system.
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	$(GO) run $(STATICCHECK) ./...

validate: lint test

# Hot-path benchmarks, BENCHCOUNT runs each, in benchstat's format: keep a
# bench.out, change something, run again, then `benchstat old.out bench.out`.
BENCHCOUNT ?= 6
BENCHPKGS ?= ./worker/ ./internal/latency/ ./schemas/ ./collector/ ./internal/pattern/ ./scheduler/
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) $(BENCHPKGS) | tee bench.out

# Scenarios side by side against nginx: CPU per request of a plain GET and of
# the same GET with a templated header and two checks (BenchmarkScenarioRequest
# in `make bench` measures the same in-process).
bench-scenario:
	docs/bench/scenario-nginx.sh

# Each fuzz target for FUZZTIME (go test runs one -fuzz target per invocation).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; done

clean:
	rm -rf bin bench.out test-loaded
