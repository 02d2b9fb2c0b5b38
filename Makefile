# The two commands a new user types: `make test` and `make demo`.
# Both install what is missing (as root), configure, build, then act.

DEBIAN_PACKAGES := build-essential cmake pkg-config clang libclang-rt-14-dev \
	libssl-dev openssl libpcsclite-dev check libsubunit-dev libcjson-dev \
	pcscd vsmartcard-vpcd opensc opensc-pkcs11 pcsc-tools util-linux iproute2 procps \
	freerdp2-dev libwinpr2-dev winpr-utils freerdp2-x11 xvfb valgrind \
	python3 python3-pycryptodome \
	chromium

PRESET ?= default
BUILD_DIR := $(if $(filter asan,$(PRESET)),build-asan,build)

.PHONY: all deps configure build test test-asan demo bench fuzz format clean

all: build

# Install missing Debian packages when root; otherwise say exactly what to run.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j2

# Runs every test; prints each Check suite's summary line at the end.
test: build
	@rc=0; ctest --preset $(PRESET) || rc=$$?; \
	echo "--- Check unit-test summaries ---"; \
	grep -hE '^[0-9]+%: Checks:' $(BUILD_DIR)/Testing/Temporary/LastTest.log || true; \
	exit $$rc

test-asan:
	@$(MAKE) --no-print-directory test PRESET=asan

demo: build
	@$(BUILD_DIR)/bin/scardlab demo

bench: build
	@bash bench/all.sh $(BUILD_DIR)/bin/scardlab

fuzz:
	@$(MAKE) --no-print-directory build PRESET=asan
	@bash tests/fuzz/run.sh build-asan

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
