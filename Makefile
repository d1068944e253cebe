# Herald: the two commands of the README, and a few more for developers.
#   make run    install what is missing, build (Release), start a node on etc/herald.toml
#   make test   install, build (Release with g++, ASan+UBSan+libFuzzer with clang), run the suite
#   make bench  parser benchmark against libosip2 (see bench/README.md)
#   make fuzz   10-minute runs of each fuzz target (FUZZ_SECONDS=600)

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 600
CONFIG     ?= etc/herald.toml

.PHONY: all deps build build-asan run test bench fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DHERALD_SANITIZER_BUILD_DIR=$(abspath $(ASAN_BUILD))

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHERALD_SANITIZE=ON -DHERALD_FUZZ=ON -DHERALD_BENCH=OFF -DHERALD_TEST_PREFIX=asan.

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	$(BUILD)/herald serve --config $(CONFIG)

# One ctest run covers both builds (the sanitizer build's tests are included, named asan.*).
test: build-asan build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure --timeout 300

bench: build
	$(BUILD)/bench/parser_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

fuzz: build-asan
	scripts/run-fuzzers.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

format:
	find src apps tests bench fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
