# The user's verbs. CMake does the building, into build/ (and build/asan for the sanitizer run).
BUILD      ?= build
ASAN_BUILD ?= $(BUILD)/asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup build build-asan run test bench install clean format check-format package edge-package

all: build

setup:
	@scripts/setup.sh test
	@scripts/find-aws-python.sh >/dev/null || echo "setup: the AWS-side tests will be skipped (under CI=true: fail)" >&2

# Makefile, not CMakeCache.txt: a configure that failed (a missing package) leaves the cache but no
# Makefile, and the next make must configure again rather than fail in cmake --build.
$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -DNEARJS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The main job on one machine: two local regions (gateway + function + demo store) behind an edge each.
run: setup build
	@scripts/run-demo.sh $(BUILD)

# Every test runs under tests/run_test.sh (the skip policy: docs/ARCHITECTURE.md, "Registering a test, and
# skips"): under CI=true a skip fails unless tests/skips-allowed lists it; either way the last lines name
# every skipped test and case.
test: setup build build-asan
	@tests/browser/setup.sh || echo "setup: the browser test will be skipped (under CI=true: fail)" >&2
	cmake -S . -B $(BUILD) -DNEARJS_ASAN_BUILD_DIR=$(abspath $(ASAN_BUILD))
	cmake --build $(BUILD) -j $(JOBS)
	@rm -rf $(BUILD)/test-skips $(ASAN_BUILD)/test-skips
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS); rc=$$?; \
	    cd $(CURDIR) && tests/skip_report.sh $(BUILD)/test-skips $(ASAN_BUILD)/test-skips; exit $$rc

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

bench: build
	@bench/run.sh $(BUILD)

# The function's Lambda zip (build/function.zip) and the edge's tarball: see deploy/README.md.
# PACKAGE_LIBS=system|bundle (rely on the runtime's libcurl, or carry it), RUNTIME, PACKAGE_CONTENT=dir.
package: build
	@scripts/ensure-packages.sh package patchelf zip >/dev/null
	@deploy/package.sh --build $(BUILD)

edge-package: build
	@scripts/ensure-packages.sh edge-package patchelf >/dev/null
	@deploy/edge-package.sh --build $(BUILD)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

check-format: setup
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD)

# Deployment (deploy/README.md): settings in deploy/nearjs.conf, overridden by NAME=value here.
# `make deploy` builds what it ships first (the zip, and the edge's tarball), unless ZIP / EDGE_ARTIFACT name them.
.PHONY: deploy plan rollback destroy publish content-status status logs acceptance
deploy: $(if $(ZIP),,package) $(if $(EDGE_ARTIFACT),,edge-package)
deploy plan rollback destroy publish content-status status logs:
	@deploy/nearjs-deploy.sh $@

# The acceptance run on a real account (tests/aws/acceptance.sh; NEARJS_REAL_AWS=1 and a throw-away STACK):
# deploy two regions, fetch, rotate the certificate, destroy, and a table of times and cost.
acceptance: $(if $(ZIP),,package) $(if $(EDGE_ARTIFACT),,edge-package)
	@tests/aws/acceptance.sh
