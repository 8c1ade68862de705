# lathe — the top-level Makefile wraps CMake. `make demo` and `make test` do all set-up.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
# Seconds each fuzz target runs in `make fuzz` (make test runs each for 30 s).
FUZZ_SECONDS ?= 300
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors in CI (CI=true), and wherever WERROR=ON is given.
WERROR     ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all deps build demo test test-real test-asan fuzz fuzz-build check-all bench clean help

all: build

help:
	@echo "make demo       install what is missing, build, run the digits model"
	@echo "make test       install what is missing, build, run every test but the real models"
	@echo "make test-real  real models (ResNet-18, MobileNetV2, a transformer) against ONNX Runtime"
	@echo "make test-asan  the whole test suite under AddressSanitizer and UBSan"
	@echo "make fuzz       each libFuzzer target (tests/fuzz) for FUZZ_SECONDS (300), one after another"
	@echo "make check-all  test, test-real, test-asan, then the long sweeps (run before resolving an issue)"
	@echo "make bench      the benchmarks (bench/, docs/benchmarks.md): digits speed-up, ResNet-50 compile and import"
	@echo "make clean      remove the build folders"

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/lathe compile examples/digits/digits.lathe -o $(BUILD)/digits.so >/dev/null
	$(BUILD)/examples/digits/digits_demo examples/digits $(BUILD)/digits.so

# The fuzz targets' bounded runs (ctest label fuzz) need clang-16; without it they are skipped,
# and say so.
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -LE real
	@if command -v clang-16 >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory fuzz-build FUZZ_RUN_SECONDS=30 && \
	  ctest --test-dir $(BUILD_FUZZ) -L fuzz --output-on-failure -j $(JOBS); \
	else echo "fuzz: skipped, clang-16 is not installed (Debian clang-16, libclang-rt-16-dev)"; fi

test-real: build
	ctest --test-dir $(BUILD) --output-on-failure -L real

# LSAN_OPTIONS=use_tls=0: LeakSanitizer (GCC 12's) crashes in its tracer ("Tracer caught
# signal 11") scanning the thread-local storage of the dlopen'ed LLVM backend module
# (liblathe_llvm.so); not scanning TLS as roots can only report more leaks, never fewer.
test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DLATHE_SANITIZE=ON -DLATHE_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=use_tls=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) -LE real

# The libFuzzer build: clang-16, coverage instrumentation, ASan and UBSan (tests/fuzz); its
# ctest tests fuzz.run.NAME (label fuzz) run each target for FUZZ_RUN_SECONDS.
FUZZ_RUN_SECONDS ?= 30
fuzz-build: deps
	@CC=clang-16 cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_FUZZ=ON \
	  -DLATHE_FUZZ_TEST_SECONDS=$(FUZZ_RUN_SECONDS) -DLATHE_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets

# One target at a time: each gets a whole core.
fuzz:
	@$(MAKE) --no-print-directory fuzz-build FUZZ_RUN_SECONDS=$(FUZZ_SECONDS)
	ctest --test-dir $(BUILD_FUZZ) -L fuzz -V -j 1

check-all: test test-real test-asan
	sh tests/systolic/sweep.sh $(BUILD)/lathe $(BUILD) .
	LATHE_VMATH_STRIDE=257 $(BUILD)/tests/test_vmath
	LATHE_FAULT_STRIDE=1 $(BUILD)/tests/test_faults
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LATHE_FAULT_STRIDE=1 $(BUILD_ASAN)/tests/test_faults

# The benchmarks of docs/benchmarks.md, one after another (minutes: not part of test or
# check-all). BENCH_DATA caches the exported ResNet-50.
BENCH_DATA ?= $(BUILD)/bench-data
bench: build
	sh bench/digits.sh $(BUILD)
	sh bench/compile_resnet50.sh $(BUILD)/lathe $(BENCH_DATA)
	sh bench/import_resnet50.sh $(BUILD)/lathe $(BENCH_DATA)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
