# otelcol-audit. `make help` lists the targets.
GO       ?= go
BIN      := bin
OTELCOL  := $(BIN)/otelcol-audit
GOFLAGS_BUILD := -trimpath
FUZZTIME ?= 30s
MDATAGEN := $(BIN)/mdatagen
# Components whose internal/metadata mdatagen generates from metadata.yaml.
METADATA := extension/jsonlimitextension extension/journalstorageextension exporter/auditelasticsearchexporter exporter/auditfileexporter processor/auditprocessor receiver/auditreceiver

.PHONY: help build run test test-unit test-integration generate check-generated lint fuzz bench bench-e2e bench-export clean

help: ## List the targets (every rule has a description: test/e2e checks it)
	@grep -E '^[^.#[:space:]][^:=[:space:]]*:.*## ' $(MAKEFILE_LIST) | sed 's|^$$(MDATAGEN)|$(MDATAGEN)|' | \
	  awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: web ## Build bin/otelcol-audit, bin/auditctl, bin/es-testdouble and bin/auditload
	$(GO) build $(GOFLAGS_BUILD) -o $(OTELCOL) ./cmd/otelcol-audit
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/auditctl ./cmd/auditctl
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/es-testdouble ./cmd/es-testdouble
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/auditload ./cmd/auditload

# The viewer's assets, embedded by package web: npm ci and esbuild, again
# only when a web source or the lock changed (the stamp is the last build).
WEB_SRC := web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/* web/pages/*)

.PHONY: web
web: web/dist/.stamp ## Build the viewer's assets into web/dist (npm ci + esbuild)

web/dist/.stamp: $(WEB_SRC) ## The last build of the viewer (make web)
	cd web && npm ci --no-audit --no-fund && npm run build
	touch $@

run: build ## Run the collector on config/local.yaml and the audit log service on its archive, http://localhost:8080 (no Elasticsearch needed)
	scripts/run.sh

test: check-generated lint build ## Everything CI runs: generated code, vet, gofmt, all tests, the race detector on the concurrent packages
	cd web && npm test --silent
	OTELCOL_AUDIT_BIN=$(CURDIR)/$(OTELCOL) AUDITCTL_BIN=$(CURDIR)/$(BIN)/auditctl $(GO) test -count=1 ./...
	$(GO) test -race -count=1 -timeout 15m ./processor/... ./receiver/... ./exporter/... ./extension/... ./internal/estest/ ./internal/kibanatest/ ./internal/loadharness/ ./internal/comptest/ ./internal/auditapi/ ./internal/apitoken/ ./internal/digest/

test-unit: ## Unit tests only (no end-to-end)
	$(GO) test -count=1 -short ./...

test-integration: ## Conformance table and integration suite against ELASTICSEARCH_URL (and KIBANA_URL); the test double alone when unset
	$(GO) test -count=1 -v ./test/conformance/ ./test/integration/

generate: $(MDATAGEN) ## Regenerate cmd/otelcol-audit from builder-config.yaml and each component's metadata from metadata.yaml
	scripts/generate.sh
	for d in $(METADATA); do $(MDATAGEN) $$d/metadata.yaml || exit 1; done

$(MDATAGEN): tools/go.mod tools/go.sum ## Build mdatagen at the version tools/go.mod pins
	cd tools && $(GO) build -o ../$(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

check-generated: $(MDATAGEN) ## Fail when generated code is stale: cmd/otelcol-audit against builder-config.yaml, metadata against metadata.yaml; and go.mod off the pinned release
	scripts/check-versions.sh
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && scripts/generate.sh $$tmp && \
	  diff -ru cmd/otelcol-audit $$tmp || { echo "cmd/otelcol-audit is out of date: run 'make generate' and commit" >&2; exit 1; }
	@for d in $(METADATA); do $(MDATAGEN) $$d/metadata.yaml || exit 1; done; \
	  out=$$(git diff --stat -- $(METADATA); git ls-files --others --exclude-standard -- $(METADATA)); \
	  if [ -n "$$out" ]; then echo "generated metadata is out of date: run 'make generate' and commit" >&2; echo "$$out" >&2; exit 1; fi

lint: ## go vet, gofmt, and no tracked binary or file over 1 MB
	scripts/check-tracked.sh
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi

fuzz: ## Run every fuzz test for FUZZTIME each
	$(GO) test ./internal/masking -run '^$$' -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/masking -run '^$$' -fuzz '^FuzzAddress$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/masking -run '^$$' -fuzz '^FuzzLocalPart$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditevent -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditevent -run '^$$' -fuzz '^FuzzDecodeNDJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditevent -run '^$$' -fuzz '^FuzzProperties$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditcsv -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditcsv -run '^$$' -fuzz '^FuzzBoundedRows$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/digest -run '^$$' -fuzz '^FuzzDecodeIntent$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/digest -run '^$$' -fuzz '^FuzzPayload$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/verify -run '^$$' -fuzz '^FuzzDecodeDigest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/verify -run '^$$' -fuzz '^FuzzDecodeESDigest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditcsv -run '^$$' -fuzz '^FuzzNeutralize$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditcsv -run '^$$' -fuzz '^FuzzPropertyKey$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditctl -run '^$$' -fuzz '^FuzzPrintable$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditctl -run '^$$' -fuzz '^FuzzEscapeJSONControls$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditctl -run '^$$' -fuzz '^FuzzSalvage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditctl -run '^$$' -fuzz '^FuzzRejectedRecords$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditctl -run '^$$' -fuzz '^FuzzLineReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditquery -run '^$$' -fuzz '^FuzzParseResource$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditquery -run '^$$' -fuzz '^FuzzValidateIP$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/esdoc -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/esdoc -run '^$$' -fuzz '^FuzzIsIPv4$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/estest -run '^$$' -fuzz '^FuzzScanner$$' -fuzztime $(FUZZTIME)
	$(GO) test ./extension/jsonlimitextension -run '^$$' -fuzz '^FuzzDepthReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/esdoc -run '^$$' -fuzz '^FuzzAppendDocument$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/jsonobj -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./exporter/auditelasticsearchexporter -run '^$$' -fuzz '^FuzzParseBulk$$' -fuzztime $(FUZZTIME)
	$(GO) test ./exporter/auditelasticsearchexporter -run '^$$' -fuzz '^FuzzDecodeQueued$$' -fuzztime $(FUZZTIME)
	$(GO) test ./extension/journalstorageextension/internal/journal -run '^$$' -fuzz '^FuzzReplay$$' -fuzztime $(FUZZTIME)
	$(GO) test ./extension/journalstorageextension/internal/journal -run '^$$' -fuzz '^FuzzDecodeBody$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/catalog -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/catalog -run '^$$' -fuzz '^FuzzSuggest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditapi -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/auditapi -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(FUZZTIME)

bench: ## Micro-benchmarks (processor, masker, encoder) and the stock side-by-side
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./processor/... ./internal/...
	cd bench/stock && $(GO) test -run '^$$' -bench . -benchtime 200x .

# The collector's Go runtime settings recommended for production (README,
# "Tuning"); COLLECTOR_ENV= runs the harness with the Go defaults.
COLLECTOR_ENV ?= GOGC=200 GOMEMLIMIT=768MiB

bench-e2e: build ## The load harness: every fault scenario and the throughput references at 1M events
	$(BIN)/auditload -events $${EVENTS:-1000000} -scenarios $${SCENARIOS:-all} $(foreach e,$(COLLECTOR_ENV),-collector-env $(e))

bench-export: build ## auditctl export of 1M events from the test double: events/s and peak RSS
	$(BIN)/auditload -export $${EVENTS:-1000000}

.PHONY: bench-api
bench-api: build ## The audit log API: page latency p50/p99 and export throughput, on the test double (1M events) and the archive (100k)
	$(BIN)/auditload -api $${EVENTS:-1000000} -api-store es
	$(BIN)/auditload -api $${ARCHIVE_EVENTS:-100000} -api-store archive

clean: ## Remove build output
	rm -rf $(BIN) dist
