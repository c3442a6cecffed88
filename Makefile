# sqsfleet: every entry point a developer or CI needs. `make test` is what CI
# runs (.ci/run); `make demo` shows the whole loop against a local emulator.

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/sqsfleet/sqsfleet/internal/app.Version=$(VERSION)
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report its own end-of-time deadline as a failure ("context deadline
# exceeded", no crasher written; golang/go#75804, fixed in Go 1.27), which
# once turned CI red. 20000 runs take 1-9 s per target here.
FUZZTIME ?= 20000x

.PHONY: all build test unit vet fmt-check fuzz tools demo clean deploy-check

all: build

## build: static, trimmed, version-stamped binary at bin/sqsfleet (the Dockerfile runs this too)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/sqsfleet ./cmd/sqsfleet

## tools: install the SQS emulator (fauxqs) and the Node 22 it needs, and the Lambda Runtime Interface Emulator, into .tools/
tools:
	bash scripts/fauxqs-install.sh
	bash scripts/lambda-rie-install.sh

## test: everything CI checks: formatting, vet, all tests with the race detector, brief fuzzing
test: tools fmt-check vet deploy-check
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

vet:
	$(GO) vet ./...

## deploy-check: deploy/ and the Dockerfile: tflint, terraform fmt, systemd-analyze, the binary alone in an empty root
deploy-check: build
	bash scripts/tflint-install.sh
	bash scripts/deploy-check.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## fuzz: run every fuzz target for FUZZTIME each (longer: make fuzz FUZZTIME=2000000x, or a duration such as 5m)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

## demo: start the emulator, create a queue and DLQ, run the daemon, send sample messages
demo: build tools
	bash scripts/demo.sh

## bench: throughput, SQS requests per message, latency and memory against the emulator (README: Performance), then the simulator's speed (sim-bench); BENCHFLAGS=-help lists the knobs
.PHONY: bench
bench: build tools
	$(GO) build -o bin/sqsfleet-bench ./bench
	bin/sqsfleet-bench $(BENCHFLAGS)
	$(MAKE) --no-print-directory sim-bench

clean:
	rm -rf bin

## sim-bench: how fast `sqsfleet simulate` models a day of a million messages a second over thousands of instances
.PHONY: sim-bench
sim-bench:
	$(GO) test -run='^$$' -bench=DayMillionPerSecond -benchtime=5x ./scaler/sim/

## sim-charts: redraw the README's "Choosing a target" charts (deploy/charts/) with `sqsfleet simulate`
SIM_SPIKE := --profile spike --rate 20 --peak 100 --processing-time 2s --fleet ecs --min 4 --include-in-flight
.PHONY: sim-charts
sim-charts: build
	mkdir -p deploy/charts
	bin/sqsfleet simulate $(SIM_SPIKE) --latency 5m --chart deploy/charts/spike-formula-target.png
	bin/sqsfleet simulate $(SIM_SPIKE) --recommend --latency 5m --chart deploy/charts/spike-recommended-target.png

## fleet-demo: real `sqsfleet run` daemons against the emulator, scaled by the target-tracking rules in compressed time, beside `sqsfleet simulate`'s prediction (bin/fleet-demo.png)
.PHONY: fleet-demo
fleet-demo: build tools
	$(GO) run ./bench/fleetdemo -sqsfleet bin/sqsfleet -chart bin/fleet-demo.png $(FLEETFLAGS)
