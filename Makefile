# The two commands: `make demo` and `make test`. Both install what is missing,
# build in Release and then run; `make bench` reruns the benchmarks and writes their tables into docs/performance.md.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_OUT ?= demo_out
# LibTorch 2.11 (the torch wheel) lives in this Python environment, shared by
# every clone and build tree; scripts/setup.sh makes it.
TORCH_ENV ?= /opt/tessera/torch-2.11.0
# Empty: the machine decides (a GPU or the CUDA toolkit: the full CUDA wheel
# set and the CUDA module; neither: the light CPU-only LibTorch). ON or OFF
# overrides, for the set-up and for CMake's TESSERA_CUDA.
TESSERA_CUDA ?=
SETUP = bash scripts/setup.sh --torch-env $(TORCH_ENV) $(if $(TESSERA_CUDA),--cuda $(TESSERA_CUDA))
CUDA_FLAG = $(if $(TESSERA_CUDA),-DTESSERA_CUDA=$(TESSERA_CUDA))

.PHONY: all setup setup-test configure build demo test bench test-asan test-asan-core test-cpu-only test-tsan clean format format-check

all: build

setup:
	@$(SETUP)

# What `make test` needs on top: the peers (PyTorch, torchrun, TensorBoard)
# and clang for the fuzz targets.
setup-test:
	@$(SETUP) test

# Ninja (setup.sh installs it) where there is one: it starts the next
# compile sooner than make's recursive Makefiles do.
GENERATOR = $(if $(shell command -v ninja),-G Ninja)

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DTESSERA_TORCH_ENV=$(TORCH_ENV) $(CUDA_FLAG) $(CMAKE_FLAGS)

# A TESSERA_CUDA given on the command line reaches an existing build tree too.
configure: $(BUILD_DIR)/CMakeCache.txt
	$(if $(TESSERA_CUDA),cmake -S . -B $(BUILD_DIR) $(CUDA_FLAG))

build: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The demo builds only the binary it runs (and the CUDA module beside it, in
# a CUDA build),
# not the tests and benchmarks.
demo: setup configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tessera
	@bash scripts/demo.sh $(BUILD_DIR)/apps/tessera/tessera $(DEMO_OUT)

# Then the skipped tests by reason; a skip of a test without the `gpu` label
# or a `-simd` one (a SIMD-variant test where only the baseline runs)
# fails the target (scripts/test_skips.py).
test: setup-test build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --output-junit ctest-junit.xml
	python3 scripts/test_skips.py $(BUILD_DIR) $(BUILD_DIR)/ctest-junit.xml

# The peers' extra Python package (soundfile) comes with setup.sh's bench.
bench: build
	@$(SETUP) bench
	@TORCH_ENV=$(TORCH_ENV) bash bench/run_all.sh $(BUILD_DIR)

test-asan: setup-test
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) $(CUDA_FLAG) -DTESSERA_SANITIZE_ADDRESS=ON -DTESSERA_SANITIZE_UNDEFINED=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L fast

# The torch-free libraries' unit tests under ASan+UBSan: no LibTorch target is
# built, so it fits in CI next to `make test` (.ci/run runs both).
test-asan-core: setup-test
	cmake -S . -B build-asan-core -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) $(CUDA_FLAG) -DTESSERA_SANITIZE_ADDRESS=ON -DTESSERA_SANITIZE_UNDEFINED=ON -DTESSERA_BUILD_BENCH=OFF
	cmake --build build-asan-core -j $(JOBS) --target core_tests
	cd build-asan-core && ctest --output-on-failure -j $(JOBS) -L fast-core

# Configure, build and train one step with the CUDA toolkit hidden in a mount
# namespace (as root): the CPU-only build works without nvcc
# (tests/install/cpu_only_check.sh).
test-cpu-only: setup-test
	bash tests/install/cpu_only_check.sh $(TORCH_ENV) build-cpu-only

test-tsan: setup-test
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_TORCH_ENV=$(TORCH_ENV) $(CUDA_FLAG) -DTESSERA_SANITIZE_THREAD=ON
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L fast

SOURCES = find src apps tests bench \( -name '*.cpp' -o -name '*.h' \) -print0

format:
	$(SOURCES) | xargs -0 clang-format -i

format-check:
	$(SOURCES) | xargs -0 clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD_DIR) build-asan build-asan-core build-tsan build-cpu-only
