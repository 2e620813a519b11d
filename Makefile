# Enclava — the project's vocabulary: setup, build, test, demo, bench, fuzz, protos, check.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= debug
SWIFT_BUILD_FLAGS ?= --explicit-target-dependency-import-check error
# Debian/Ubuntu packages the build needs (C libraries reached through CShims/).
APT_PACKAGES := libssl-dev libprotobuf-c-dev libsqlite3-dev pkg-config
APT_PROTO_PACKAGES := protobuf-compiler protobuf-c-compiler
# Debian's OVMF (/usr/share/ovmf/OVMF.fd): the firmware the launch-measurement tests compare on.
APT_PACKAGES += ovmf
# QEMU: `enclava vm launch --backend sim` boots a bundle in it (VMSimBootTests).
APT_PACKAGES += qemu-system-x86
# The guest kernel the VM tests boot: Debian's cloud kernel, unpacked here (never installed on the host).
VM_KERNEL_DIR ?= .build/vm-kernel
BIN = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path 2>/dev/null)

.PHONY: all setup deps build release test test-openai openai-venv openai-run demo bench bench-venv conformance fuzz protos check clean vm-kernel vm-runtime python pytest pytest-venv

all: build

# Installs what a fresh Debian/Ubuntu machine lacks, then builds.
setup: deps build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_BUILD_FLAGS)

# The runtime a VM bundle holds: release, the Swift standard library and Foundation linked in statically
# (--static-swift-stdlib; glibc, OpenSSL and protobuf-c stay shared, and `vm build` packs them from ldd), stripped.
VM_RUNTIME_SCRATCH ?= .build-static
VM_RUNTIME ?= $(VM_RUNTIME_SCRATCH)/enclava-runtime-vm
vm-runtime: deps
	ENCLAVA_ONLY=enclava-runtime $(SWIFT) build -c release --static-swift-stdlib --product enclava-runtime --scratch-path $(VM_RUNTIME_SCRATCH)
	@bin=$$(ENCLAVA_ONLY=enclava-runtime $(SWIFT) build -c release --static-swift-stdlib --scratch-path $(VM_RUNTIME_SCRATCH) --show-bin-path); \
	if [ ! -e $(VM_RUNTIME) ] || [ $$bin/enclava-runtime -nt $(VM_RUNTIME) ]; then \
	  cp $$bin/enclava-runtime $(VM_RUNTIME).tmp && strip $(VM_RUNTIME).tmp && mv $(VM_RUNTIME).tmp $(VM_RUNTIME); fi

# Debian's cloud kernel and its modules, unpacked under $(VM_KERNEL_DIR) for the VM boot test and `vm build`.
vm-kernel:
	@if ! ls $(VM_KERNEL_DIR)/boot/vmlinuz-* >/dev/null 2>&1; then \
	  pkg=$$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $$2; exit}'); \
	  if [ -z "$$pkg" ]; then apt-get update -qq; pkg=$$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $$2; exit}'); fi; \
	  echo "==> fetching the guest kernel $$pkg into $(VM_KERNEL_DIR)"; \
	  rm -rf $(VM_KERNEL_DIR).tmp && mkdir -p $(VM_KERNEL_DIR).tmp && \
	  (cd $(VM_KERNEL_DIR).tmp && apt-get download -qq $$pkg && dpkg-deb -x $$pkg*.deb . && rm -f $$pkg*.deb) && \
	  rm -rf $(VM_KERNEL_DIR) && mv $(VM_KERNEL_DIR).tmp $(VM_KERNEL_DIR); \
	fi

release:
	$(MAKE) build CONFIG=release

# The suite runs with TMPDIR set to a folder of its own; anything a test (or a process it started) leaves there
# fails the run, listed, so that no test leaks keys, images or sockets into /tmp. (SwiftPM's own `_….lock` files
# and Foundation's empty `TemporaryDirectory.*` folders for atomic writes are not the tests' and are ignored.)
# Two test processes: the in-process suites in parallel, then the integration suites (Tests/Integration), which
# start real processes and block a thread while they wait for them, one at a time. Together in one process those
# waits took both of Swift concurrency's threads on a 2-core machine for minutes, and the in-process suites'
# servers, relays and key broker clients starved past their deadlines.
test: deps vm-kernel vm-runtime openai-venv
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	@# sev-snp-measure before the tests: installing it from inside the test process blocked its few threads for a
	@# minute on a fresh clone. Offline (PyPI unreachable) the comparisons skip, saying so.
	@$(MAKE) --no-print-directory measure-venv || echo "make test: sev-snp-measure could not be installed; SNPAgreementTests will say why"
	@tmp=$$(mktemp -d /tmp/enclava-test-run.XXXXXX); \
	TMPDIR=$$tmp $(SWIFT) test --skip-build --skip IntegrationTests; status=$$?; \
	TMPDIR=$$tmp $(SWIFT) test --skip-build --filter IntegrationTests --no-parallel || status=1; \
	TMPDIR=$$tmp ENCLAVA_BIN="$(BIN)" $(MAKE) --no-print-directory openai-run || status=1; \
	left=$$(find $$tmp -mindepth 1 -maxdepth 1 ! -name '_*.lock' ! -name 'TemporaryDirectory.*' 2>/dev/null | head -20); \
	if [ -n "$$left" ]; then \
	  echo "make test: the tests left these behind in $$tmp (each test must remove what it creates):"; \
	  echo "$$left"; rm -rf $$tmp; exit 1; \
	fi; rm -rf $$tmp; exit $$status
	$(MAKE) pytest

# The Python package (Sources/Client/python): `make python` builds its wheel into .build/python-dist (the in-tree
# build backend runs `swift build -c release --product EnclavaClientC` and puts libEnclavaClientC.so in the wheel).
PYTHON_DIST ?= .build/python-dist
PYTHON_BUILD_VENV ?= .build/python-build-venv
python: deps
	@$(PYTHON_BUILD_VENV)/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv $(PYTHON_BUILD_VENV)
	@mkdir -p $(PYTHON_DIST)
	$(PYTHON_BUILD_VENV)/bin/python -m pip wheel --no-deps -w $(PYTHON_DIST) ./Sources/Client/python

# The Python client's tests (pytest) against real served enclaves, from a virtual environment under .build (never the
# system Python; numpy and pytest from PyPI). The package is installed through its build backend, given the debug
# library that `make test` built (ENCLAVA_CLIENT_LIBRARY) rather than a second, release build.
PYTEST_VENV ?= .build/pytest-venv
PYTEST_PY = $(PYTEST_VENV)/bin/python
pytest-venv:
	@$(PYTEST_PY) -c "import numpy, pytest" 2>/dev/null || { \
	  python3 -m venv --help >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }; \
	  echo "==> installing numpy and pytest into $(PYTEST_VENV)"; \
	  python3 -m venv $(PYTEST_VENV) && $(PYTEST_PY) -m pip install -q numpy pytest && \
	  $(PYTEST_PY) -c "import numpy, pytest"; }
pytest: deps pytest-venv
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --product EnclavaClientC
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --product enclava
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --product enclava-runtime
	@bin="$$($(SWIFT) build --show-bin-path)"; \
	ENCLAVA_CLIENT_LIBRARY="$$bin/libEnclavaClientC.so" $(PYTEST_PY) -m pip install -q --no-deps --force-reinstall \
	  ./Sources/Client/python || exit 1; \
	tmp=$$(mktemp -d /tmp/enclava-pytest-run.XXXXXX); \
	TMPDIR=$$tmp ENCLAVA_BIN="$$bin" $(PYTEST_PY) -m pytest -q -p no:cacheprovider Sources/Client/python/tests; \
	status=$$?; left=$$(find $$tmp -mindepth 1 -maxdepth 1 2>/dev/null | head -20); rm -rf $$tmp; \
	if [ -n "$$left" ]; then echo "make pytest: the tests left these behind (each test must remove what it creates):"; \
	  echo "$$left"; exit 1; fi; exit $$status

# virtee's sev-snp-measure, the reference the SEV-SNP launch digest tests compare with byte for byte: pinned, in
# a virtual environment of its own under .build (never the system Python). The tests run this target themselves
# when the tool is missing and skip only when PyPI is unreachable.
MEASURE_VENV ?= .build/measure-venv
SEV_SNP_MEASURE_VERSION := 0.0.13
.PHONY: measure-venv
measure-venv:
	@$(MEASURE_VENV)/bin/sev-snp-measure --version 2>/dev/null | grep -q '$(SEV_SNP_MEASURE_VERSION)$$' || { \
	  python3 -m venv --help >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }; \
	  echo "==> installing sev-snp-measure $(SEV_SNP_MEASURE_VERSION) into $(MEASURE_VENV)"; \
	  python3 -m venv $(MEASURE_VENV) && \
	  $(MEASURE_VENV)/bin/python -m pip install -q --disable-pip-version-check sev-snp-measure==$(SEV_SNP_MEASURE_VERSION); }
# `enclava proxy` through the real `openai` Python package (Tests/OpenAIProxy, pytest), from a virtual environment
# of its own under .build (never the system Python), made and filled on first use. Part of `make test`.
OPENAI_VENV ?= .build/openai-venv
OPENAI_PY = $(OPENAI_VENV)/bin/python
openai-venv:
	@$(OPENAI_PY) -c "import openai, pytest" 2>/dev/null || { \
	  python3 -m venv --help >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }; \
	  echo "==> installing openai and pytest into $(OPENAI_VENV)"; \
	  python3 -m venv $(OPENAI_VENV) && $(OPENAI_PY) -m pip install -q --upgrade pip && \
	  $(OPENAI_PY) -m pip install -q openai pytest && $(OPENAI_PY) -c "import openai, pytest"; }
test-openai: openai-venv
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	ENCLAVA_BIN="$(BIN)" $(MAKE) --no-print-directory openai-run
# The pytest run alone (ENCLAVA_BIN: the folder of the built binaries); `make test` runs it inside its TMPDIR check.
openai-run:
	$(OPENAI_PY) -m pytest -q -p no:cacheprovider Tests/OpenAIProxy

# The end-to-end demo (debug build: the demo model is tiny, and it shares the build with `make test`).
# SIM_FORMAT picks the evidence the simulated enclave produces: snp (default), tdx or sgx.
# KEYS picks how the enclave gets the model key: sealed (default: sealed for the simulator when packaged),
# owner (the owner keeps it and releases it with `enclava provision` after verifying the enclave) or broker
# (`enclava keybroker` holds it and the enclave asks for it itself; then a restart from sealed state, broker stopped).
SIM_FORMAT ?= snp
KEYS ?= sealed
demo: deps
	$(SWIFT) build -c $(CONFIG) $(SWIFT_BUILD_FLAGS) --product enclava
	$(SWIFT) build -c $(CONFIG) $(SWIFT_BUILD_FLAGS) --product enclava-runtime
	@bash Manifests/demo.sh "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)" --sim-format "$(SIM_FORMAT)" --keys "$(KEYS)"

# Benchmarks, not tests (nothing asserts a time). SGEMM GFLOP/s per kernel variant (1 and 2 threads) on
# the BERT shapes beside numpy's OpenBLAS, then ours/OpenBLAS per shape; then MiniLM forward latency at
# (batch, sequence) = (1,16), (1,128), (8,128), (1,256) with 1 and 2 threads beside onnxruntime on the same
# model.onnx, then ours/onnxruntime per row; then one 128-token text through `enclava serve` + the runtime
# (encrypted, attested) beside the in-process forward pass — the overhead — and the runtime's peak RSS beside
# the model size. Release build, own scratch path. Each peer script alternates BENCH_ROUNDS rounds of ours and
# theirs and compares each side's best round. Last, 64 clients against a real serve for BENCH_LOAD_SECONDS per
# model (latency, requests/s, errors, runtime RSS) and the fault scenarios (kill -9, SIGSTOP, a stuck reader).
BENCH_SCRATCH ?= .build-bench
BENCH_ROUNDS ?= 3
# Seconds per model of `enclava-bench load` (64 clients, fraud detector and MiniLM); the issue's figure is 600.
BENCH_LOAD_SECONDS ?= 20
BENCH_MODEL ?= ../shared/models/all-MiniLM-L6-v2/model.onnx
BENCH_SWIFT = ENCLAVA_ONLY=enclava-bench,enclava,enclava-runtime $(SWIFT)
# The peers run from their own virtual environment (never the system Python), made and filled on first use; a
# peer that cannot be installed fails the benchmark instead of being skipped.
BENCH_VENV ?= $(BENCH_SCRATCH)/venv
BENCH_PY = $(BENCH_VENV)/bin/python
BENCH_PEERS := numpy onnxruntime threadpoolctl
bench-venv:
	@$(BENCH_PY) -c "import numpy, onnxruntime, threadpoolctl" 2>/dev/null || { \
	  dpkg -s python3-venv >/dev/null 2>&1 || python3 -m venv --help >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }; \
	  echo "==> installing the benchmark peers into $(BENCH_VENV): $(BENCH_PEERS)"; \
	  python3 -m venv $(BENCH_VENV) && $(BENCH_PY) -m pip install -q --upgrade pip && \
	  $(BENCH_PY) -m pip install -q $(BENCH_PEERS) && \
	  $(BENCH_PY) -c "import numpy, onnxruntime, threadpoolctl"; }
bench: deps bench-venv vm-kernel vm-runtime
	$(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --product enclava-bench
	$(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --product enclava
	$(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --product enclava-runtime
	@bin="$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)"; \
	"$$bin/enclava-bench" --rows-only && \
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BENCH_PY) Sources/Tools/enclava-bench/peers/sgemm_numpy.py \
	  --bench "$$bin/enclava-bench" --rounds $(BENCH_ROUNDS) && \
	$(BENCH_PY) Sources/Tools/enclava-bench/peers/minilm_onnxruntime.py \
	  --bench "$$bin/enclava-bench" --model $(BENCH_MODEL) --rounds $(BENCH_ROUNDS) && \
	"$$bin/enclava-bench" end-to-end --threads 1 && "$$bin/enclava-bench" end-to-end --threads 2
	@"$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)/enclava-bench" batching
	@"$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)/enclava-bench" load --clients 64 --duration $(BENCH_LOAD_SECONDS)
	@"$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)/enclava-bench" faults
	@"$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)/enclava-bench" startup --rounds $(BENCH_ROUNDS)
	$(CC) -O2 -Wall -pthread -o $(BENCH_SCRATCH)/c_relay Sources/Tools/enclava-bench/peers/c_relay.c
	@"$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)/enclava-bench" relay --c-relay $(BENCH_SCRATCH)/c_relay
	@bash Manifests/bench-vm.sh "$$($(BENCH_SWIFT) build -c release --manifest-cache local --scratch-path $(BENCH_SCRATCH) --show-bin-path)" $(VM_KERNEL_DIR) $(BENCH_ROUNDS) $(VM_RUNTIME)

# ONNX operator conformance over ../shared/testdata/onnx-node: prints passed / failed / unsupported per case.
conformance: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build --filter Conformance

# Coverage-guided fuzzing (libFuzzer via `swiftc -sanitize=fuzzer`): one target per evidence format — SEV-SNP
# report (and certificate table), TDX quote, SGX quote, Nitro document (CBOR, COSE_Sign1, fields), Arm CCA/PSA token — plus Intel
# collateral (dcap-qvl JSON, PCS responses), each parsing and, where it parses, fully verifying its input; and
# one per other parser: ttrpc frames (FrameDecoder over arbitrary read splits, then ttrpc Request/Response),
# every enclava.v1 message (then the enclave's tensor conversion), the image container/header and manifest TOML,
# the ONNX loader and initializer stripper, the WordPiece tokenizer, the CLI's tensor JSON and policy JSON, the key
# broker's messages (both sides).
# FUZZ_SECONDS each, seeded from real files (see Sources/Fuzz/fuzz.sh); FUZZ_TARGETS picks some. The targets
# exist only with ENCLAVA_FUZZ=1 and build in their own scratch path. Fails if any target crashes or hangs
# (inputs kept in .build-fuzz/artifacts).
FUZZ_SCRATCH ?= .build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= FuzzSNPReport FuzzTDXQuote FuzzSGXQuote FuzzNitroDocument FuzzCCAToken FuzzQuoteCollateral \
	FuzzTTRPCFrames FuzzEnclaveMessages FuzzImage FuzzONNX FuzzTokenizer FuzzCLIJSON FuzzKeyBrokerMessages FuzzEnclaveEdge
FUZZ_SWIFT = ENCLAVA_FUZZ=1 ENCLAVA_ONLY=$(shell echo $(FUZZ_TARGETS) | tr ' ' ',') $(SWIFT)
FUZZ_FLAGS = --manifest-cache local --scratch-path $(FUZZ_SCRATCH) -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library
fuzz: deps
	$(FUZZ_SWIFT) build $(FUZZ_FLAGS)
	@bash Sources/Fuzz/fuzz.sh "$$($(FUZZ_SWIFT) build $(FUZZ_FLAGS) --show-bin-path)" $(FUZZ_SCRATCH) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Regenerates the committed protobuf code (Swift for the wire and image headers, C for ONNX).
protos:
	@for p in $(APT_PROTO_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(APT_PROTO_PACKAGES); break; }; done
	@command -v protoc-gen-swift >/dev/null || { $(SWIFT) package resolve && \
	  $(SWIFT) build -c release --package-path .build/checkouts/swift-protobuf --product protoc-gen-swift && \
	  cp .build/checkouts/swift-protobuf/.build/release/protoc-gen-swift /usr/local/bin/; }
	cd Sources/Shared/EnclavaWire && protoc --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
	  --swift_out=Generated -I Protos -I /usr/include Protos/enclava.proto Protos/keybroker.proto Protos/ttrpc.proto \
	  Protos/google/rpc/status.proto
	@if ls Sources/Shared/EnclavaImage/Protos/*.proto >/dev/null 2>&1; then cd Sources/Shared/EnclavaImage && \
	  protoc --swift_opt=Visibility=Public --swift_out=Generated -I Protos Protos/*.proto; fi
	@if [ -f CShims/COnnx/onnx.proto ]; then cd CShims/COnnx && protoc-c --c_out=. onnx.proto && \
	  mv onnx.pb-c.h include/; fi

check:
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) -Xswiftc -warnings-as-errors

clean:
	rm -rf .build
