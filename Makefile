# polo_fast: two commands on a fresh machine: `make bench` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
CC     ?= cc
CFLAGS_C := -std=c99 -O2 -Wall -Wextra -Werror

.PHONY: all venv test cov bench bench-sign bench-roundtrip bench-latency lint typecheck clean sysdeps

all: venv

# libcrypto headers come from Debian (libssl-dev); install them only when missing.
sysdeps:
	@if ! printf '#include <openssl/evp.h>\nint main(void){return 0;}\n' | $(CC) -x c - -o /dev/null -lcrypto 2>/dev/null; then \
		echo "installing libssl-dev (OpenSSL headers) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev openssl curl; \
	fi

$(STAMP): pyproject.toml setup.py csrc/polo_sign.c csrc/polo_sign.h csrc/polo_spot.c csrc/polo_spot.h polo_fast/_ffi_build.py | sysdeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,bench,dev]'
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(PY) -m pytest -q

# Line and branch coverage of the library over the whole suite (report in the terminal and cov-html/).
cov: venv
	$(PY) -m pytest -q -p no:cacheprovider --cov=polo_fast --cov-branch \
		--cov-report=term:skip-covered --cov-report=html:cov-html

lint: venv
	$(VENV)/bin/ruff check polo_fast tests benchmarks tools fuzz
	$(VENV)/bin/ruff format --check polo_fast tests benchmarks tools

typecheck: venv
	$(VENV)/bin/mypy

benchmarks/floor_sign: benchmarks/floor_sign.c csrc/polo_sign.c csrc/polo_sign.h
	$(CC) $(CFLAGS_C) -Icsrc -o $@ benchmarks/floor_sign.c csrc/polo_sign.c -lcrypto

benchmarks/floor_spot: benchmarks/floor_spot.c csrc/polo_spot.c csrc/polo_spot.h
	$(CC) $(CFLAGS_C) -Icsrc -o $@ benchmarks/floor_spot.c csrc/polo_spot.c -lcrypto

bench-sign: venv benchmarks/floor_sign benchmarks/floor_spot
	./benchmarks/floor_sign
	$(PY) -m pytest benchmarks/bench_sign.py --benchmark-only --benchmark-columns=median,iqr,mean,ops -q
	./benchmarks/floor_spot
	$(PY) -m pytest benchmarks/bench_spot_sign.py --benchmark-only --benchmark-columns=median,iqr,mean,ops -q

bench-roundtrip: venv
	$(PY) benchmarks/bench_roundtrip.py

# Both APIs in one run (legacy and Spot stand-ins, one idle phase): about 8 minutes here.
bench-latency: venv
	$(PY) -m polo_fast bench --api both --out bench-out

# The main job: the stand-in exchanges, the WAN profiles, every client side by side.
bench: bench-latency

clean:
	rm -rf build dist *.egg-info polo_fast/_polo_sign*.so polo_fast/_polo_sign.c benchmarks/floor_sign benchmarks/floor_spot .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks bench-out cov-html .coverage
	rm -rf $(VENV)

# Hardening and release targets: wheel, asan, valgrind, fuzz, soak.
include mk/hardening.mk
# The C-level libFuzzer targets (make fuzz-c), not run by CI.
-include mk/fuzz.mk
