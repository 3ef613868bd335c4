GO ?= go
BIN := bin/localstorm
PKGS := ./...

.PHONY: build test bench up lint fuzz zk-image

build:
	$(GO) build -o $(BIN) ./cmd/localstorm

# The whole test suite, as CI runs it: vet, the race-enabled tests (conformance
# against a real ZooKeeper 3.8 included), then bounded fuzzing of the decoders.
test: build
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)
	$(MAKE) fuzz

FUZZTIME ?= 15s
fuzz:
	$(GO) test ./daemons/zookeeper -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(FUZZTIME)

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 60m $(PKGS) | tee bench.out

up: build
	./$(BIN) up --demo

lint:
	$(GO) vet $(PKGS)
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
