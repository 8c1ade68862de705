# lathe — the top-level Makefile wraps CMake. `make demo` and `make test` do all set-up.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Warnings are errors in CI (CI=true), and wherever WERROR=ON is given.
WERROR     ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all deps build demo test test-asan check-all clean help

all: build

help:
	@echo "make demo       install what is missing, build, run the digits model"
	@echo "make test       install what is missing, build, run every test"
	@echo "make test-asan  the whole test suite under AddressSanitizer and UBSan"
	@echo "make check-all  test, test-asan, then the long sweeps (run before resolving an issue)"
	@echo "make clean      remove the build folders"

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/examples/digits/digits_demo examples/digits

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DLATHE_SANITIZE=ON -DLATHE_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

check-all: test test-asan
	sh tests/systolic/sweep.sh $(BUILD)/lathe $(BUILD) .
	LATHE_VMATH_STRIDE=257 $(BUILD)/tests/test_vmath

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
