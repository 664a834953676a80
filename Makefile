# make run  — build release, verify every backend, then demonstrate and time a few layers.
# make test — the whole test suite (swift test), OpenCL suites included on PoCL.
SWIFT ?= swift
BIN := .build/release/convkit

.PHONY: run test deps build release clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product convkit

run: release
	scripts/demo.sh $(BIN)

test: deps
	$(SWIFT) test

clean:
	rm -rf .build
