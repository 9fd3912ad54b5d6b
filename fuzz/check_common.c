/*
 * check_common.c: what the C drivers fuzz/sign_check.c and fuzz/spot_check.c share; #included
 * by both: a seeded PRNG (xorshift64*) and the tracking allocator of their --hygiene modes
 * (CRYPTO_set_mem_functions hooks that keep every libcrypto block on a list, scan each block
 * for key material as it is freed, and count the live blocks that hold a pattern).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* ---------------------------------------------------------------- PRNG (xorshift64*) */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull; /* -s SEED sets it */

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t below(size_t n) { return n == 0 ? 0 : (size_t)(rnd() % n); }

/* ---------------------------------------------------------------- tracking allocator */

typedef struct block {
    struct block *prev, *next;
    size_t size;
    size_t pad; /* keeps the user area 16-byte aligned on LP64 */
} block;

static block live = {&live, &live, 0, 0};
static size_t live_count;

/* Patterns that must not survive a signer (set per window; n_patterns == 0: no scanning). */
#define MAX_PATTERNS 6
static const unsigned char *patterns[MAX_PATTERNS];
static size_t pattern_lens[MAX_PATTERNS];
static size_t n_patterns;
static unsigned long freed_hits;

static int holds(const unsigned char *p, size_t n, const unsigned char *pat, size_t m)
{
    size_t i;

    if (m == 0 || n < m)
        return 0;
    for (i = 0; i + m <= n; i++)
        if (p[i] == pat[0] && memcmp(p + i, pat, m) == 0)
            return 1;
    return 0;
}

static int holds_any(const unsigned char *p, size_t n)
{
    size_t k;

    for (k = 0; k < n_patterns; k++)
        if (holds(p, n, patterns[k], pattern_lens[k]))
            return 1;
    return 0;
}

static void *hook_malloc(size_t num, const char *file, int line)
{
    block *b = (block *)malloc(sizeof(block) + (num ? num : 1));

    (void)file;
    (void)line;
    if (b == NULL)
        return NULL;
    /* zero-filled: the scans read whole blocks, which libcrypto may not have written yet
     * (this mode checks hygiene; uninitialised reads are the plain run's job) */
    memset(b + 1, 0, num ? num : 1);
    b->size = num;
    b->next = live.next;
    b->prev = &live;
    live.next->prev = b;
    live.next = b;
    live_count++;
    return b + 1;
}

static void hook_free(void *ptr, const char *file, int line)
{
    block *b;

    (void)file;
    (void)line;
    if (ptr == NULL)
        return;
    b = (block *)ptr - 1;
    if (n_patterns && holds_any((const unsigned char *)ptr, b->size)) {
        freed_hits++;
        fprintf(stderr, "FAIL: a %zu-byte block freed at %s:%d still holds key material\n",
                b->size, file ? file : "?", line);
    }
    b->prev->next = b->next;
    b->next->prev = b->prev;
    live_count--;
    free(b);
}

static void *hook_realloc(void *ptr, size_t num, const char *file, int line)
{
    void *q;
    block *b;

    if (ptr == NULL)
        return hook_malloc(num, file, line);
    if (num == 0) {
        hook_free(ptr, file, line);
        return NULL;
    }
    b = (block *)ptr - 1;
    q = hook_malloc(num, file, line);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, b->size < num ? b->size : num);
    hook_free(ptr, file, line); /* the old block is released as it is: scanned */
    return q;
}

static size_t live_holding(const unsigned char *pat, size_t m)
{
    size_t n = 0;
    block *b;

    for (b = live.next; b != &live; b = b->next)
        if (holds((const unsigned char *)(b + 1), b->size, pat, m))
            n++;
    return n;
}


/* [--hygiene] [-n ITERATIONS] [-s SEED]; with --hygiene the tracking hooks are installed.
 * Returns 0, or 2 after a usage or set-up message. */
static int parse_args(int argc, char **argv, unsigned long *iterations, int *hygiene)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hygiene") == 0)
            *hygiene = 1;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            *iterations = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 10) | 1;
        else {
            fprintf(stderr, "usage: %s [--hygiene] [-n ITERATIONS] [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    if (*hygiene && !CRYPTO_set_mem_functions(hook_malloc, hook_realloc, hook_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused (libcrypto allocated already)\n");
        return 2;
    }
    return 0;
}
