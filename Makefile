# openclaw-vca — build, run and check the collector.
#
#   make run     build and start vca-collector with examples/collector.yaml
#   make test    everything the project checks (vet, race tests, Terraform preflight, deployment artefacts, fuzzing)
#   make check   the quick loop: vet and the tests that need no server (the others skip)
#   make bench   Go benchmarks into bench/results/ (benchstat-readable)
#   make bench-e2e  the collector and rsyslog end to end, side by side (bench/results/e2e-*)
#   make bench-kafka  edge and writer collectors through Kafka (bench/results/kafka-*)
#   make bench-schema  what each dcf_events schema variant costs the server (bench/results/schema-*)
#   make demo    ClickHouse + collector + replayed gateway traffic, counts printed;
#                ClickHouse keeps the data for the dashboards
#   make dashboards  render dashboards/json from the Go definitions
#   make release     reproducible linux/amd64 and linux/arm64 artefacts in dist/
#   make image       the container image (podman), IMAGE=localhost/vca-collector:VERSION

SHELL    := /bin/bash
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN      := bin/vca-collector
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/openclaw-vca/openclaw-vca/internal/version.Version=$(VERSION)
CONFIG   ?= examples/collector.yaml
IMAGE    ?= localhost/vca-collector:$(VERSION)
# FUZZTIME is per fuzz target in make test; a long run: make fuzz FUZZTIME=10m
FUZZTIME ?= 6s
BENCHCOUNT ?= 6
BENCHTIME  ?= 1s
BENCHOUT   ?= bench/results/go-$(shell date -u +%Y%m%dT%H%M%SZ).txt

export GO

.PHONY: all build run test check vet unit terraform deploy-check release image fuzz bench bench-e2e bench-kafka bench-schema demo dashboards clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vca-collector

run: build
	mkdir -p data
	./$(BIN) run --config $(CONFIG)

test: vet unit terraform deploy-check fuzz

check: vet
	env -u CLICKHOUSE_ADDR -u CLICKHOUSE_REQUIRED $(GO) test -count=1 ./...

vet:
	$(GO) mod verify
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# Tests run against a throwaway ClickHouse 26.7 server (libchdb, fetched once
# into ~/.cache, behind the launcher in internal/testsupport/chdb/server) that
# scripts/with-clickhouse.sh starts and stops; tests that kill or reconfigure
# a server start their own.
unit:
	scripts/install-test-tools.sh
	scripts/with-clickhouse.sh $(GO) test -race -count=1 ./...

# The containment stack's offline checks (OpenTofu and the providers are
# built from the Go module proxy into ~/.cache on first use).
terraform:
	scripts/install-test-tools.sh
	shellcheck $$(git ls-files '*.sh') $$(find terraform -name '*.sh')
	$(MAKE) -C terraform preflight

# The deployment artefacts, built and exercised: two release builds compared
# byte for byte, the image run against ClickHouse, the systemd unit verified
# and scored (podman, runc and systemd-analyze come from Debian's packages).
deploy-check:
	scripts/install-test-tools.sh
	scripts/release.sh --check
	VERSION=$(VERSION) scripts/build-image.sh $(IMAGE)
	VCA_DEPLOY_CHECK=1 VCA_IMAGE=$(IMAGE) VCA_BINARY=$(CURDIR)/dist/vca-collector_linux_$$($(GO) env GOARCH) \
		scripts/with-clickhouse.sh $(GO) test -count=1 -v -run 'TestImage|TestUnit' ./internal/deploytest/

release:
	VERSION=$(VERSION) scripts/release.sh

image:
	VERSION=$(VERSION) scripts/build-image.sh $(IMAGE)

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

bench:
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./... | tee $(BENCHOUT)
	@echo "results: $(BENCHOUT)"

bench-kafka:
	bench/kafka.sh

bench-e2e:
	bench/e2e.sh

bench-schema:
	bench/schema.sh

# A local ClickHouse, a collector writing to it, the built-in corpus replayed,
# per-rule counts printed.
demo:
	scripts/demo.sh

dashboards:
	UPDATE_GOLDEN=1 $(GO) test -count=1 -run TestCommittedJSONIsCurrent ./dashboards

clean:
	rm -rf bin dist
