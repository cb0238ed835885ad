# The two commands: `make demo` and `make test`. Both install what is missing,
# build in Release and then run; `make bench` reruns the benchmarks and writes their tables into docs/performance.md.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_OUT ?= demo_out
# LibTorch 2.11 (the torch wheel) lives in this Python environment, shared by
# every clone and build tree; scripts/setup.sh makes it.
TORCH_ENV ?= /opt/tessera/torch-2.11.0

.PHONY: all setup build demo test bench test-asan test-asan-core test-tsan clean format format-check

all: build

setup:
	@bash scripts/setup.sh --torch-env $(TORCH_ENV)

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DTESSERA_TORCH_ENV=$(TORCH_ENV) $(CMAKE_FLAGS)

build: setup $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The demo builds only the binary it runs (and the CUDA module beside it),
# not the tests and benchmarks.
demo: setup $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tessera
	@bash scripts/demo.sh $(BUILD_DIR)/apps/tessera/tessera $(DEMO_OUT)

# Then the skipped tests by reason; a skip of a test without the `gpu` label
# fails the target (scripts/test_skips.py).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --output-junit ctest-junit.xml
	python3 scripts/test_skips.py $(BUILD_DIR) $(BUILD_DIR)/ctest-junit.xml

# The peers' extra Python package (soundfile) comes with setup.sh's bench.
bench: build
	@bash scripts/setup.sh --torch-env $(TORCH_ENV) bench
	@TORCH_ENV=$(TORCH_ENV) bash bench/run_all.sh $(BUILD_DIR)

test-asan: setup
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) -DTESSERA_SANITIZE_ADDRESS=ON -DTESSERA_SANITIZE_UNDEFINED=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L fast

# The torch-free libraries' unit tests under ASan+UBSan: no LibTorch target is
# built, so it fits in CI next to `make test` (.ci/run runs both).
test-asan-core: setup
	cmake -S . -B build-asan-core -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) -DTESSERA_SANITIZE_ADDRESS=ON -DTESSERA_SANITIZE_UNDEFINED=ON -DTESSERA_BUILD_BENCH=OFF
	cmake --build build-asan-core -j $(JOBS) --target core_tests
	cd build-asan-core && ctest --output-on-failure -j $(JOBS) -L fast-core

test-tsan: setup
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) -DTESSERA_SANITIZE_THREAD=ON
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L fast

SOURCES = find src apps tests bench \( -name '*.cpp' -o -name '*.h' \) -print0

format:
	$(SOURCES) | xargs -0 clang-format -i

format-check:
	$(SOURCES) | xargs -0 clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD_DIR) build-asan build-asan-core build-tsan
