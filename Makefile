# swell — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
INFLUXD := $(BIN)/influxd
INFLUXD_VERSION := v1.8.10
GOLANGCI := $(BIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
DATA_DIR ?= ./data
TEST_TIMEOUT ?= 25m
# The race detector needs cgo and a C compiler; without them the tests still run.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.DEFAULT_GOAL := help
.PHONY: help build build-node run test test-short bench lint deps demo-image demo clean

help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-11s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build ./bin/swell (static).
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/swell ./cmd/swell

build-node: ## Build ./bin/swell-node: the agent alone (agent, collect, version), for nodes.
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -tags swellnode -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/swell-node ./cmd/swell

deps: $(INFLUXD) ## Install what swell runs against: InfluxDB 1.8.10 into ./bin.

$(INFLUXD):
	@mkdir -p $(BIN)
	@echo "make: installing influxd $(INFLUXD_VERSION) into ./bin with go install (about 80 s the first time)..."
	GOBIN=$(BIN) $(GO) install github.com/influxdata/influxdb/cmd/influxd@$(INFLUXD_VERSION)

run: build deps ## Build and start the whole pipeline on this machine (swell up) until Ctrl-C.
	$(BIN)/swell up --data-dir $(DATA_DIR)

test: deps ## Run the whole test suite (unit, integration, fault tests; real NATS, InfluxDB and Docker).
	$(GO) test $(RACE) -count=1 -timeout $(TEST_TIMEOUT) ./...

test-short: ## Run the fast unit tests only.
	$(GO) test -short -count=1 ./...

bench: build build-node deps ## Measure the figures in the README's performance table.
	@./scripts/bench

lint: $(GOLANGCI) ## Run golangci-lint (installed into ./bin) and gofmt.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GOLANGCI) run ./...
	$(GOLANGCI) run --build-tags swellnode ./cmd/swell

$(GOLANGCI):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

demo-image: ## Build the demo app image swell-demo:$(VERSION_TAG) FROM scratch (VERSION_TAG=1 by default).
	@./scripts/demo-image $(or $(VERSION_TAG),1)

demo: build deps demo-image ## Show the whole loop in about 2 minutes: 3 nodes, load, autoscaling, an alert (docs/demo.md).
	@dir=$$(mktemp -d -t swell-demo.XXXXXX) && $(BIN)/swell demo --data-dir "$$dir" --image swell-demo:$(or $(VERSION_TAG),1)

clean: ## Remove ./bin/swell, ./bin/swell-node and ./data (keeps ./bin/influxd).
	rm -rf $(BIN)/swell $(BIN)/swell-node $(DATA_DIR)
