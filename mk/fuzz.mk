# The C-level libFuzzer targets, included by Makefile (not run by CI).
#
#   make fuzz-c FUZZ_SECONDS=N [FUZZ_C_RUNS=R] [FUZZ_C_TARGETS="sign spot"] [FUZZ_C_ROUTES="ctx evp"]
#
# Each target (fuzz/fuzz_c_sign.c: the SHA-512 route, every polo_sign entry point;
# fuzz/fuzz_c_spot.c: the Spot route, every polo_spot entry point) is built with clang
# -fsanitize=fuzzer,address,undefined once per HMAC route (ctx: the default SHA*_CTX states,
# evp: -DPOLO_SIGN_USE_EVP) and run for FUZZ_SECONDS (or FUZZ_C_RUNS inputs, whichever comes
# first) from the kept corpus tests/fuzz_corpus_c/<target>/; new finds are minimised into it
# with -merge=1 (FUZZ_MERGE=0 keeps it as it is). The suite replays the kept corpus with gcc
# (tests/test_fuzz_c_corpus.py), so clang is needed only here: it is installed with apt-get
# when missing, with the compiler-rt package of the clang version Debian's `clang` pulls.
.PHONY: fuzz-c fuzz-c-sysdeps fuzz-c-build

CLANG          ?= clang
FUZZ_SECONDS   ?= 60
FUZZ_MERGE     ?= 1
FUZZ_C_RUNS    ?= -1
FUZZ_C_TARGETS ?= sign spot
FUZZ_C_ROUTES  ?= ctx evp
FUZZ_C_DIR     := build/fuzz-c
FUZZ_C_CORPUS  := tests/fuzz_corpus_c
FUZZ_C_CFLAGS  := -std=c99 -Wall -Wextra -Werror -Icsrc -g -O1 -fno-omit-frame-pointer \
                  -fno-sanitize-recover=all
# coverage feedback from the code under test only (csrc/, without the comparison tracing, which
# doubled the cost per input); the harness and the reference are sanitized, not traced
FUZZ_C_SAN_CSRC    := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-coverage=trace-cmp
FUZZ_C_SAN_HARNESS := -fsanitize=address,undefined
FUZZ_C_ARGS    ?= -max_len=8192 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_C_ENV     := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1:quarantine_size_mb=64:malloc_context_size=5 \
                  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# the C sources behind each target
FUZZ_C_SRC_sign := fuzz/fuzz_c_sign.c fuzz/ref_sign.c csrc/polo_sign.c csrc/polo_sign.h
FUZZ_C_SRC_spot := fuzz/fuzz_c_spot.c fuzz/ref_spot.c csrc/polo_spot.c csrc/polo_spot.h
FUZZ_C_DEF_ctx  :=
FUZZ_C_DEF_evp  := -DPOLO_SIGN_USE_EVP
FUZZ_C_BINS     := $(foreach t,$(FUZZ_C_TARGETS),$(foreach r,$(FUZZ_C_ROUTES),$(FUZZ_C_DIR)/fuzz_c_$(t)_$(r)))

# clang and its libFuzzer/sanitizer runtimes, only when a fuzzer cannot be linked
fuzz-c-sysdeps:
	@if ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
		| $(CLANG) -x c -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null; then \
		echo "installing clang and its compiler-rt (libFuzzer) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang && \
		v=$$(clang -dumpversion | cut -d. -f1) && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-rt-$$v-dev; \
	fi

# fuzz_c_<target>_<route>: one binary per target and HMAC route
define FUZZ_C_BIN_RULE
$(FUZZ_C_DIR)/fuzz_c_$(1)_$(2): $(FUZZ_C_SRC_$(1)) | fuzz-c-sysdeps
	@mkdir -p $(FUZZ_C_DIR)
	$(CLANG) $(FUZZ_C_CFLAGS) $(FUZZ_C_DEF_$(2)) $(FUZZ_C_SAN_CSRC) -c -o $$@-csrc.o csrc/polo_$(1).c
	$(CLANG) $(FUZZ_C_CFLAGS) $(FUZZ_C_DEF_$(2)) $(FUZZ_C_SAN_HARNESS) -c -o $$@-harness.o fuzz/fuzz_c_$(1).c
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $$@ $$@-harness.o $$@-csrc.o -lcrypto
endef
$(foreach t,sign spot,$(foreach r,ctx evp,$(eval $(call FUZZ_C_BIN_RULE,$(t),$(r)))))

fuzz-c-build: $(FUZZ_C_BINS)

# Runs each binary (work corpus build/fuzz-c/corpus/<target>, seeded from the kept one), prints
# its last status line (inputs, cov, ft, exec/s) to build/fuzz-c/<binary>.log, then merges.
fuzz-c: fuzz-c-build
	@mkdir -p $(FUZZ_C_DIR)/crashes
	@set -e; for t in $(FUZZ_C_TARGETS); do \
		mkdir -p $(FUZZ_C_CORPUS)/$$t $(FUZZ_C_DIR)/corpus/$$t; \
		for r in $(FUZZ_C_ROUTES); do \
			bin=$(FUZZ_C_DIR)/fuzz_c_$${t}_$$r; \
			echo "== $$bin: $(FUZZ_SECONDS) s / $(FUZZ_C_RUNS) runs"; \
			$(FUZZ_C_ENV) $$bin $(FUZZ_C_DIR)/corpus/$$t $(FUZZ_C_CORPUS)/$$t \
				-max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_C_RUNS) \
				-artifact_prefix=$(FUZZ_C_DIR)/crashes/$${t}_$${r}- $(FUZZ_C_ARGS) \
				> $$bin.log 2>&1 || { tail -40 $$bin.log; exit 1; }; \
			grep -E "DONE|stat::(number_of_executed_units|average_exec_per_sec)" $$bin.log; \
		done; \
		if [ "$(FUZZ_MERGE)" = 1 ]; then \
			for r in $(FUZZ_C_ROUTES); do \
				$(FUZZ_C_ENV) $(FUZZ_C_DIR)/fuzz_c_$${t}_$$r -merge=1 -max_len=8192 \
					$(FUZZ_C_CORPUS)/$$t $(FUZZ_C_DIR)/corpus/$$t 2>&1 \
					| grep -E "MERGE-OUTER: [0-9]+ new files"; \
			done; \
			echo "kept corpus $(FUZZ_C_CORPUS)/$$t: $$(ls $(FUZZ_C_CORPUS)/$$t | wc -l) files, $$(du -sh $(FUZZ_C_CORPUS)/$$t | cut -f1)"; \
		fi; \
	done
