GO ?= go
BIN := bin/localstorm
PKGS := ./...
# Stamped into every binary built here (internal/version); `go install
# ...@VERSION` takes the module's version from the build info instead.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: build test bench up lint cross fuzz soak zk-image image release thrift

build:
	$(GO) build -ldflags '-X github.com/localstorm/localstorm/internal/version.stamped=$(VERSION)' -o $(BIN) ./cmd/localstorm

# The whole test suite, as CI runs it: vet, the race-enabled tests (conformance
# against a real ZooKeeper 3.8 included), then bounded fuzzing of the decoders.
test: build cross
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)
	# Storm's supervisor behaviours again on a real ZooKeeper 3.8 (issue 14);
	# the cluster and server suites run on both by themselves.
	LOCALSTORM_TEST_REAL_ZK=1 $(GO) test -race -count=1 -run '^TestStorm' ./daemons/supervisor/
	$(MAKE) fuzz

# Every decoder of untrusted bytes has a fuzz target; `make fuzz` runs each for
# FUZZTIME (bounded, so CI stays fast; raise it for a real fuzzing session).
# scripts/fuzz.sh says how it tells a Go toolchain race from a finding.
FUZZTIME ?= 6s
FUZZ_TARGETS := \
	./daemons/zookeeper:FuzzDecodeFrame \
	./daemons/zookeeper:FuzzDecodeSnapshot \
	./daemons/zookeeper:FuzzParseZooCfg \
	./daemons/zookeeper:FuzzScanLog \
	./daemons/cluster:FuzzDecodeRecord \
	./daemons/cluster:FuzzDecodeNode \
	./daemons/config:FuzzParseOverride \
	./daemons/config:FuzzParseYAML \
	./daemons/localstate:FuzzDecode \
	./daemons/worker:FuzzDecodeBatch \
	./daemons/worker:FuzzFrameReader \
	./daemons/nimbus:FuzzSubmitRequestBody \
	./daemons/nimbusthrift:FuzzRequest \
	./daemons/nimbusthrift:FuzzParseConfOverrides \
	./daemons/supervisor:FuzzUntarGz \
	./daemons/workercontract:FuzzParseReady \
	./topology:FuzzDefinition \
	./topology/flux:FuzzParse \
	./topology/shell:FuzzDecodeShellMsg \
	./topology/shell:FuzzReadMessage \
	./topology/shell:FuzzServeInput \
	./procs:FuzzParseStat \
	./procs:FuzzParsePidRecord

fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh $(FUZZ_TARGETS)

# Regenerates the Go code of the Nimbus Thrift service (daemons/nimbusthrift/storm)
# from daemons/nimbusthrift/storm.thrift with Debian's thrift-compiler, whose
# version must be go.mod's github.com/apache/thrift (0.17.0).
thrift:
	bash scripts/gen-thrift.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 60m $(PKGS) | tee bench.out

# The fault campaign of internal/chaos at length: SOAK_ROUNDS random faults
# under acked load (make test runs 6). LOCALSTORM_CHAOS_SEED replays one.
SOAK_ROUNDS ?= 60
SOAK_SENTENCES ?= 40000
soak:
	LOCALSTORM_CHAOS_ROUNDS=$(SOAK_ROUNDS) LOCALSTORM_CHAOS_SENTENCES=$(SOAK_SENTENCES) \
		$(GO) test -race -count=1 -v -timeout 90m -run TestFaultCampaign ./internal/chaos

up: build
	./$(BIN) up --demo

# The real ZooKeeper 3.8 image the container-mode tests use, built from Debian's
# packages (root, debootstrap and Docker needed; idempotent).
zk-image:
	bash scripts/build-zk-image.sh

# macOS is proven here by cross-compiling and vetting every package, tests
# included, for both of its architectures; native Windows by building the CLI
# and a topology binary (its `up` points to WSL2). A Linux-only call cannot land.
cross:
	GOOS=darwin GOARCH=arm64 $(GO) vet $(PKGS)
	GOOS=darwin GOARCH=amd64 $(GO) vet $(PKGS)
	GOOS=darwin GOARCH=arm64 $(GO) build $(PKGS)
	GOOS=darwin GOARCH=amd64 $(GO) build $(PKGS)
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/localstorm
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./examples/wordcount/cmd/wordcount

# The release (scripts/release.sh says what and how): archives for linux and
# darwin x amd64 and arm64, the windows/amd64 binary, SHA256SUMS, in dist/.
release:
	VERSION=$(VERSION) GO=$(GO) bash scripts/release.sh

# localstorm/localstorm:$(VERSION) and :latest, built like the ZooKeeper image
# (root, debootstrap and Docker needed; idempotent).
image:
	VERSION=$(VERSION) GO=$(GO) bash scripts/build-image.sh

lint: cross
	$(GO) vet $(PKGS)
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
