# wrun — see README.md. Every target installs what it needs.
SHELL      := /bin/bash
GO         ?= go
BUILD      := $(CURDIR)/.build
TESTDATA   := $(BUILD)/testdata
TOOLS      := $(BUILD)/tools
WRUN       := $(BUILD)/wrun
export GOFLAGS := -buildvcs=false

GO_GUESTS  := $(patsubst testdata/go/%/main.go,$(TESTDATA)/go/%.wasm,$(wildcard testdata/go/*/main.go))
C_GUESTS   := $(patsubst testdata/c/%.c,$(TESTDATA)/c/%.wasm,$(wildcard testdata/c/*.c))
WAT_GUESTS := $(patsubst testdata/wat/%.wat,$(TESTDATA)/wat/%.wasm,$(wildcard testdata/wat/*.wat))
WASI_CC    := clang --target=wasm32-wasi -O2 -Wall -Werror -Wl,--strip-debug

.PHONY: build testdata test demo bench lint deps tools clean python-build python-runtime
.DELETE_ON_ERROR:

build: $(WRUN)

# Without cgo: a static binary starts about 1 ms sooner (no dynamic loader,
# no libc start-up; RATIONALE.md "Start-up of `wrun run FILE.wasm`").
$(WRUN): FORCE
	CGO_ENABLED=0 $(GO) build -o $@ ./cmd/wrun

FORCE:

# System packages the guests' toolchains need (idempotent; no-op when present).
deps:
	@bash .ci/deps

testdata: deps $(GO_GUESTS) $(C_GUESTS) $(WAT_GUESTS)

$(TESTDATA)/go/%.wasm: testdata/go/%/*.go
	@mkdir -p $(@D)
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -o $@ ./testdata/go/$*

$(TESTDATA)/c/%.wasm: testdata/c/%.c
	@mkdir -p $(@D)
	$(WASI_CC) -o $@ $<

$(TESTDATA)/wat/%.wasm: testdata/wat/%.wat
	@mkdir -p $(@D)
	wat2wasm --enable-all -o $@ $<

# Baseline tools for benchmarks and interop tests, pinned. The npm ones
# (wizer for the pre-initialization comparison, jco for the wasm-tools
# metadata interop) are installed here, never by a test; each has its own
# npm prefix, and a stamp names the installed version. Wizer 11.x breaks
# npm ci on its lock file, hence -E and 10.0.0.
JCO_VERSION   := 1.35.0
WIZER_VERSION := 10.0.0
NPM_INSTALL   := npm install --no-audit --no-fund -E
tools: $(TOOLS)/wazero $(TOOLS)/oras $(TOOLS)/staticcheck $(TOOLS)/jco/.installed-$(JCO_VERSION) $(TOOLS)/wizer/.installed-$(WIZER_VERSION)
$(TOOLS)/jco/.installed-$(JCO_VERSION):
	@mkdir -p $(@D)
	grep -qs '"version": "$(JCO_VERSION)"' $(@D)/node_modules/@bytecodealliance/jco/package.json \
		|| $(NPM_INSTALL) --prefix $(@D) @bytecodealliance/jco@$(JCO_VERSION)
	touch $@
$(TOOLS)/wizer/.installed-$(WIZER_VERSION):
	@mkdir -p $(@D)
	grep -qs '"version": "$(WIZER_VERSION)"' $(@D)/node_modules/@bytecodealliance/wizer/package.json \
		|| $(NPM_INSTALL) --prefix $(@D) @bytecodealliance/wizer@$(WIZER_VERSION)
	touch $@
# The baseline wazero CLI is built as wrun is (without cgo), so start-up
# ratios compare the runtimes, not the linkers; the stamp replaces a CLI
# built otherwise.
WAZERO_VERSION := v1.12.0
$(TOOLS)/wazero: $(TOOLS)/.wazero-$(WAZERO_VERSION)-nocgo
$(TOOLS)/.wazero-$(WAZERO_VERSION)-nocgo:
	@mkdir -p $(@D)
	CGO_ENABLED=0 GOBIN=$(TOOLS) $(GO) install github.com/tetratelabs/wazero/cmd/wazero@$(WAZERO_VERSION)
	touch $@
$(TOOLS)/oras:
	GOBIN=$(TOOLS) $(GO) install oras.land/oras/cmd/oras@v1.3.6
$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# CPython for wasm32-wasi, built from Debian's source package and cached
# outside the repo by the recipe's hash (runtimes/python/README.md). The
# package directory's path is kept in $(PYTHON_PATH).
PYTHON_PATH := $(BUILD)/python-runtime.path
python-build:
	@mkdir -p $(BUILD)
	@bash runtimes/python/build.sh > $(PYTHON_PATH).out
	@tail -n 1 $(PYTHON_PATH).out > $(PYTHON_PATH).tmp && test -f "$$(cat $(PYTHON_PATH).tmp)/wrun.toml" \
		|| { echo "runtimes/python/build.sh printed no package directory"; exit 1; }
	@mv $(PYTHON_PATH).tmp $(PYTHON_PATH)
	@echo "python:cpython package: $$(cat $(PYTHON_PATH))"

# Build it and publish it to the embedded default registry.
python-runtime: python-build $(WRUN)
	$(WRUN) publish "$$(cat $(PYTHON_PATH))"

test: testdata tools python-build
	WRUN_TESTDATA=$(TESTDATA) WRUN_TOOLS=$(TOOLS) WRUN_PYTHON_RUNTIME="$$(cat $(PYTHON_PATH))" \
		$(GO) test -count=1 -timeout 20m ./...

demo: testdata python-build $(WRUN)
	@WRUN_PYTHON_RUNTIME="$$(cat $(PYTHON_PATH))" bash scripts/demo.sh

# Ratios against baselines measured in the same run; BENCH=cli runs one section.
bench: testdata tools python-build $(WRUN)
	$(GO) build -o $(BUILD)/wrunbench ./internal/cmd/wrunbench
	WRUN_TESTDATA=$(TESTDATA) WRUN_TOOLS=$(TOOLS) WRUN_PYTHON_RUNTIME="$$(cat $(PYTHON_PATH))" $(BUILD)/wrunbench -wrun $(WRUN) -wazero $(TOOLS)/wazero \
		-testdata $(TESTDATA) -only "$(BENCH)"
	@if [ -z "$(BENCH)" ] || [ "$(BENCH)" = serve ]; then \
		WRUN_TESTDATA=$(TESTDATA) WRUN_PYTHON_RUNTIME="$$(cat $(PYTHON_PATH))" $(GO) test ./serve/ -run '^$$' -bench 'ServeStatic' -benchtime 3000x; \
		WRUN_TESTDATA=$(TESTDATA) WRUN_PYTHON_RUNTIME="$$(cat $(PYTHON_PATH))" $(GO) test ./serve/ -run '^$$' -bench 'ServePython' -benchtime 200x; \
	fi

lint: $(TOOLS)/staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...

clean:
	rm -rf $(BUILD)
