# Hardening and release targets (wheel, asan, valgrind, fuzz, soak).
.PHONY: wheel asan valgrind fuzz soak
