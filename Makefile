# plughost — build, run and test.
#   make          build the host and the example plugins
#   make run      build everything and serve the examples (Ctrl-C to stop)
#   make test     build the test fixtures and run the whole test suite (and the OpenAPI client and docs checks)
#   make plugins  build the example plugins into plugins/ (next to their manifests)
#   make bench    performance figures against their baselines (release build), isolated plugins against
#                 in-process ones, and Benchmarks/lane-alternatives (gcc): round trips between two processes
#   make fuzz     libFuzzer on the parsers of hostile bytes (FUZZ_SECONDS per target)
#   make docs     render the Swift SDK's DocC into a static site (fails on an unresolved link)

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=

all: build plugins

build:
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

plugins:
	$(MAKE) -C plugins

run: build plugins
	$(SWIFT) run $(SWIFT_BUILD_FLAGS) plughost serve --plugins plugins --config plughost.toml

# The OpenAPI tests validate the host's document with openapi-spec-validator (PyPI): installed
# here when missing, so they run on a new machine. Then a Swift client generated from the
# running host's document by swift-openapi-generator calls calc (Tests/OpenAPIClient/check.sh).
# Last, the SDK's DocC must render with every link resolved (make docs).
test: plugins
	python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install -q openapi-spec-validator
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS)
	PLUGHOST=$$($(SWIFT) build $(SWIFT_BUILD_FLAGS) --show-bin-path)/plughost SWIFT=$(SWIFT) Tests/OpenAPIClient/check.sh
	$(MAKE) docs

clean:
	$(MAKE) -C plugins clean
	rm -rf .build .build-docs Tests/OpenAPIClient/.build-openapi-client

# make docs: the Swift SDK's DocC (articles in PluginSDK/Swift/PluginSDK.docc and every
# public symbol's doc comment) rendered into DOCS_OUT, a static site. Fails on any warning,
# an unresolved symbol or article link among them. Its own scratch folder: the symbol-graph
# flags never touch the main build. Browse: python3 -m http.server -d $(DOCS_OUT), then
# http://localhost:8000/documentation/pluginsdk/
DOCS_OUT ?= $(CURDIR)/.build/docs-site
DOCC ?= $(shell command -v docc 2>/dev/null || echo $(dir $(shell command -v $(SWIFT)))docc)
docs:
	$(SWIFT) build --scratch-path .build-docs --target PluginSDK \
	  -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc $(CURDIR)/.build-docs/symbol-graphs
	rm -rf $(DOCS_OUT)
	$(DOCC) convert PluginSDK/Swift/PluginSDK.docc --additional-symbol-graph-dir $(CURDIR)/.build-docs/symbol-graphs \
	  --fallback-display-name PluginSDK --fallback-bundle-identifier dev.plughost.PluginSDK \
	  --transform-for-static-hosting --warnings-as-errors --output-path $(DOCS_OUT)
	@echo "SDK documentation in $(DOCS_OUT): python3 -m http.server -d $(DOCS_OUT), then http://localhost:8000/documentation/pluginsdk/"

.PHONY: all build plugins run test clean docs

bench: plugins
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && apt-get install -y -qq nginx)
	command -v perf >/dev/null || (apt-get update -qq && apt-get install -y -qq linux-perf) || echo "perf not installed: no profile"
	$(MAKE) -s -C Tests/Fixtures OUT=$(CURDIR)/.build/fixtures
	$(SWIFT) build -c release --product plughost-bench
	$(SWIFT) build -c release --product plughost
	$(SWIFT) build -c release --product plughost-plugin-process
	$(SWIFT) run -c release --skip-build plughost-bench .build/fixtures plugins plughost.toml BENCHMARKS.md

.PHONY: bench

# make fuzz: libFuzzer on the parsers of hostile bytes, FUZZ_SECONDS per target,
# one target at a time. A separate package (Fuzz/Package.swift) so the root
# build never sees -sanitize flags; release, as its fuzzers ran 1.3-7x more inputs
# per second than a debug build's (measured). Exits non-zero on any crash or hang.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= manifest hostconfig route typedvalue json elf

fuzz:
	@# Same dependency versions as the main build (copied only when they differ, so no re-resolve).
	@test ! -f Package.resolved || cmp -s Package.resolved Fuzz/Package.resolved || cp Package.resolved Fuzz/Package.resolved
	cd Fuzz && $(SWIFT) build -c release -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run-fuzzers.sh $(FUZZ_TARGETS)

.PHONY: fuzz
