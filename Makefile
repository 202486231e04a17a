# gaflow — `make run` and `make test` do everything on a fresh Debian 12 machine.
BUILD ?= build
DEB_PACKAGES = gcc libc6-dev make pkg-config meson ninja-build libglib2.0-dev libgtk-4-dev \
               libopenblas-dev xvfb xauth desktop-file-utils appstream gettext \
               libcairo2-dev adwaita-icon-theme libpng-dev libjson-glib-dev dataset-fashion-mnist \
               libopenmpi-dev openmpi-bin
BENCH_PACKAGES = python3-torch python3-numpy
BENCH_CLASSES ?= 160
BENCH_SECONDS ?= 10
BENCH_UNET_SIZE ?= 32

.PHONY: all deps build run test test-sanitize bench sweep analyze clean

all: build

deps:
	@.ci/install-deps $(DEB_PACKAGES)

# CI builds (CI=true, as .ci/run and hosted CI set it) turn every warning in the project's own code into an
# error; a local `make` only shows them, so that a newer compiler's new warning never stops a user's build.
MESON_SETUP_ARGS ?=
ifeq ($(CI),true)
MESON_SETUP_ARGS += -Dwerror=true
endif

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized $(MESON_SETUP_ARGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The desktop app on its default experiment (c = 3, training at once in the background).
run: build
	$(BUILD)/app/gaflow

test: build
	xvfb-run -a -s "-screen 0 1280x1024x24" meson test -C $(BUILD) --print-errorlogs; \
	  status=$$?; .ci/test-summary $(BUILD)/meson-logs/testlog.json || status=1; exit $$status

# The engine and CLI suites (suite 'engine': every engine test, the CLI scripts and the fuzz drivers) in an
# ASan + UBSan build (docs/reliability.md); the UI suite is left out for time. GAF_FUZZ_ITERATIONS runs
# the fuzz drivers longer.
SANITIZE_BUILD ?= build-asan
test-sanitize: deps
	test -f $(SANITIZE_BUILD)/build.ninja || meson setup $(SANITIZE_BUILD) --buildtype=debugoptimized \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all
	ninja -C $(SANITIZE_BUILD)
	meson test -C $(SANITIZE_BUILD) --setup asan --suite engine --print-errorlogs

bench: build
	@.ci/install-deps $(BENCH_PACKAGES)
	@uptime
	/usr/bin/python3 bench/compare.py --engine $(BUILD)/app/gaflow-cli --classes $(BENCH_CLASSES) \
	  --seconds $(BENCH_SECONDS) --env both
	/usr/bin/python3 bench/compare.py --engine $(BUILD)/app/gaflow-cli --model unet --classes 2 \
	  --size $(BENCH_UNET_SIZE) --seconds $(BENCH_SECONDS) --env both --attn-check
	/usr/bin/python3 bench/torch_interop.py --cli $(BUILD)/app/gaflow-cli
	@uptime

# gcc's static analyzer over the engine, every finding an error (minutes: the analyzer is slow). At -O0:
# at -O2, gcc 12 drops the NULL initialiser of a g_autofree pointer before the analyzer runs and reports its
# cleanup as a use of an uninitialised value.
analyze: deps
	[ -f $(BUILD)-analyzer/build.ninja ] || \
	  meson setup $(BUILD)-analyzer --buildtype=debug -Dc_args=-fanalyzer -Dwerror=true
	ninja -C $(BUILD)-analyzer engine/libgaflow-engine.a

clean:
	rm -rf $(BUILD) $(BUILD)-analyzer
