/*
 * sign_check: drives csrc/polo_sign.c directly, without Python, for `make asan` and
 * `make valgrind` (built with -fsanitize=address,undefined, or plain under memcheck).
 *
 *   sign_check [-n ITERATIONS] [-s SEED]           correctness + bounds + leaks
 *   sign_check --hygiene [-n ITERATIONS] [-s SEED] + secret hygiene through libcrypto's
 *                                                     allocator hooks
 *
 * polo_sign_request (when the header has it) is checked the same way, against the
 * request layout its header documents (head, body length, Sign line, blank line, body).
 *
 * Every iteration draws a secret (1..300 bytes: both the "pad" and the "hash first" key
 * paths), 0..40 parameters of arbitrary bytes (NULs included: the lens form; without NULs
 * also the NUL-separated form), a nonce, and buffer capacities around the exact body size.
 * Each body and Sign is compared with an independent encoder (quote_plus rules, written
 * here from the Python docs) and OpenSSL's one-shot HMAC(); the return code is compared
 * with the one the header promises. Buffers are malloc'ed at exactly the capacity passed,
 * so any write past them is a sanitizer/memcheck report, and a guard region is checked too.
 * Signers are freed, so LeakSanitizer/memcheck see any leak of the C core.
 *
 * --hygiene installs CRYPTO_set_mem_functions hooks that track every libcrypto block.
 * Around each polo_signer_new .. polo_signer_free it checks that (1) while the signer lives,
 * some live block holds the key's HMAC inner SHA-512 midstate (the search patterns are
 * right), and (2) no block freed in the window, as it was at the moment free() ran, and no
 * block still live afterwards holds the secret, the key XOR ipad/opad blocks or either
 * midstate. Exit status 0 only when every check passed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "polo_sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define MAX_PARAMS 40
#define MAX_PART 200
#define GUARD 16

static unsigned long failures;

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            failures++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                             \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

/* the PRNG (rnd, below) and the tracking allocator behind --hygiene */
#include "check_common.c"

/* ---------------------------------------------------------------- references */

#include "ref_sign.c" /* ref_encode_part, ref_hmac_hex */

typedef struct {
    size_t n;                          /* parameters */
    size_t lens[2 * MAX_PARAMS];        /* names, then values */
    unsigned char data[2 * MAX_PARAMS * MAX_PART];
    size_t data_len;
    int has_nul;                       /* some part contains a NUL byte */
    int has_nonce_name;                /* some name is exactly "nonce" */
    uint64_t nonce;
} fields;

static void draw_part(unsigned char *p, size_t *len, int style)
{
    static const char alpha[] = "aZ09_.-~ &=+%#/?\xc3\xa9";
    size_t n = below(style == 2 ? MAX_PART : 12), i;

    for (i = 0; i < n; i++) {
        if (style == 0)
            p[i] = (unsigned char)alpha[below(sizeof(alpha) - 1)];
        else
            p[i] = (unsigned char)rnd();
    }
    *len = n;
}

static void draw_fields(fields *f)
{
    size_t i, off = 0;
    int style = (int)below(3);

    f->n = below(MAX_PARAMS + 1);
    f->has_nul = 0;
    f->has_nonce_name = 0;
    for (i = 0; i < 2 * f->n; i++) {
        draw_part(f->data + off, &f->lens[i], below(4) == 0 ? (int)below(3) : style);
        if (i < f->n && below(50) == 0) { /* now and then a name that is exactly "nonce" */
            memcpy(f->data + off, "nonce", 5);
            f->lens[i] = 5;
        }
        if (memchr(f->data + off, 0, f->lens[i]) != NULL)
            f->has_nul = 1;
        if (i < f->n && f->lens[i] == 5 && memcmp(f->data + off, "nonce", 5) == 0)
            f->has_nonce_name = 1;
        off += f->lens[i];
    }
    f->data_len = off;
    switch (below(4)) {
    case 0: f->nonce = 0; break;
    case 1: f->nonce = UINT64_MAX; break;
    default: f->nonce = rnd() >> below(64);
    }
}

/* The reference body: name=value& ... nonce=N. Returns its length. */
static size_t ref_body(const fields *f, char *out)
{
    size_t i, k = 0, off_name = 0, off_val, j;

    off_val = 0;
    for (j = 0; j < f->n; j++)
        off_val += f->lens[j];
    for (i = 0; i < f->n; i++) {
        k += ref_encode_part(f->data + off_name, f->lens[i], out + k);
        out[k++] = '=';
        k += ref_encode_part(f->data + off_val, f->lens[f->n + i], out + k);
        out[k++] = '&';
        off_name += f->lens[i];
        off_val += f->lens[f->n + i];
    }
    k += (size_t)sprintf(out + k, "nonce=%llu", (unsigned long long)f->nonce);
    return k;
}

/* HMAC-SHA512 midstates (the SHA-512 h words after one block of key^pad), as in memory. */
static void midstates(const unsigned char *key, size_t key_len, unsigned char kipad[128],
                      unsigned char kopad[128], unsigned char inner[64], unsigned char outer[64])
{
    unsigned char k[128];
    SHA512_CTX c;
    size_t i;

    memset(k, 0, sizeof(k));
    if (key_len > 128)
        SHA512(key, key_len, k);
    else
        memcpy(k, key, key_len);
    for (i = 0; i < 128; i++) {
        kipad[i] = (unsigned char)(k[i] ^ 0x36);
        kopad[i] = (unsigned char)(k[i] ^ 0x5c);
    }
    SHA512_Init(&c);
    SHA512_Update(&c, kipad, 128);
    memcpy(inner, c.h, 64);
    SHA512_Init(&c);
    SHA512_Update(&c, kopad, 128);
    memcpy(outer, c.h, 64);
}

/* ---------------------------------------------------------------- one case */

static unsigned char *guarded(size_t cap)
{
    unsigned char *p = (unsigned char *)malloc(cap + GUARD);

    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0xAA, cap + GUARD);
    return p;
}

static int guard_intact(const unsigned char *p, size_t cap)
{
    size_t i;

    for (i = 0; i < GUARD; i++)
        if (p[cap + i] != 0xAA)
            return 0;
    return 1;
}

static unsigned long calls;

/* Call polo_encode_and_sign with exact-size heap buffers; check rc, bytes and the guards. */
static void encode_case(const polo_signer *s, const fields *f, int use_lens, size_t body_cap,
                        size_t hex_cap, const char *want_body, size_t want_len,
                        const char *want_hex)
{
    static unsigned char nul_form[2 * MAX_PARAMS * (MAX_PART + 1)];
    const unsigned char *data = f->data;
    size_t data_len = f->data_len, i, off = 0, k = 0;
    ptrdiff_t want, rc;
    unsigned char *body, *hex;
    /* exact-size buffers (guard-free) for the sanitizers, guarded copies for the check */
    unsigned char *body_exact = (unsigned char *)malloc(body_cap ? body_cap : 1);
    unsigned char *hex_exact = (unsigned char *)malloc(hex_cap ? hex_cap : 1);

    if (!use_lens) {
        for (i = 0; i < 2 * f->n; i++) {
            if (i)
                nul_form[k++] = 0;
            memcpy(nul_form + k, f->data + off, f->lens[i]);
            k += f->lens[i];
            off += f->lens[i];
        }
        data = nul_form;
        data_len = k;
    }
    if (hex_cap < POLO_SIGN_HEX_LEN)
        want = POLO_ERR_SIGN_SPACE;
    else if (!use_lens && f->has_nul && f->n > 0)
        want = POLO_ERR_FIELDS;
    else if (body_cap < want_len)
        want = POLO_ERR_BODY_SPACE;
    else if (f->has_nonce_name)
        want = POLO_ERR_NONCE_NAME;
    else
        want = (ptrdiff_t)want_len;

    rc = polo_encode_and_sign(s, (const char *)data, data_len, use_lens ? f->lens : NULL, f->n,
                              f->nonce, (char *)body_exact, body_cap, (char *)hex_exact,
                              hex_cap);
    calls++;
    CHECK(rc == want, "exact buffers: rc %td, want %td (n=%zu lens=%d cap=%zu/%zu len=%zu)", rc,
          want, f->n, use_lens, body_cap, hex_cap, want_len);

    body = guarded(body_cap);
    hex = guarded(hex_cap);
    rc = polo_encode_and_sign(s, (const char *)data, data_len, use_lens ? f->lens : NULL, f->n,
                              f->nonce, (char *)body, body_cap, (char *)hex, hex_cap);
    calls++;
    CHECK(rc == want, "guarded buffers: rc %td, want %td", rc, want);
    CHECK(guard_intact(body, body_cap), "write past body[%zu]", body_cap);
    CHECK(guard_intact(hex, hex_cap), "write past hex[%zu]", hex_cap);
    if (rc >= 0) {
        CHECK(memcmp(body, want_body, want_len) == 0, "body differs from the reference");
        CHECK(memcmp(hex, want_hex, 128) == 0, "sign differs from HMAC()");
        if (hex_cap > 128)
            CHECK(hex[128] == 0, "no NUL after the hex although there is room");
        else
            CHECK(hex[128] == 0xAA, "a NUL was written past a 128-byte hex buffer");
    }
    free(body);
    free(hex);
    free(body_exact);
    free(hex_exact);
}

static char want_body[2 * MAX_PARAMS * (3 * MAX_PART + 1) + 32];

#ifdef POLO_REQUEST_FIXED
/* polo_sign_request: head + body length + Sign line + blank line + body, into out[0..cap)
 * (exact-size heap buffer, then a guarded one); checked against the reference layout. */
static void request_case(const polo_signer *s, const fields *f, const unsigned char *nul_form,
                         size_t nul_len, const char *body, size_t body_len, const char *hex)
{
    static const char http_head[] = "POST /tradingApi HTTP/1.1\r\nHost: poloniex.com\r\n"
                                    "Key: ABCDEFGH-12345678\r\nContent-Length: ";
    char head[160], *want;
    size_t head_len, want_len, caps[7], i, base, need;

    if (below(2) == 0) {
        head_len = sizeof(http_head) - 1;
        memcpy(head, http_head, head_len);
    } else {
        head_len = below(sizeof(head));
        for (i = 0; i < head_len; i++)
            head[i] = (char)rnd();
    }
    want = (char *)malloc(head_len + 20 + POLO_REQUEST_FIXED + body_len);
    if (want == NULL)
        exit(2);
    memcpy(want, head, head_len);
    want_len = head_len + (size_t)sprintf(want + head_len, "%zu", body_len);
    memcpy(want + want_len, "\r\nSign: ", 8);
    memcpy(want + want_len + 8, hex, 128);
    memcpy(want + want_len + 136, "\r\n\r\n", 4);
    want_len += 140;
    memcpy(want + want_len, body, body_len);
    want_len += body_len;

    base = head_len + 20 + POLO_REQUEST_FIXED; /* room the call needs before the body */
    need = base + body_len;
    caps[0] = 0;
    caps[1] = base - 1;
    caps[2] = need - 1;
    caps[3] = need;
    caps[4] = need + 1;
    caps[5] = want_len; /* the exact request: too small unless the length has 20 digits */
    caps[6] = below(need + 2);
    for (i = 0; i < 7; i++) {
        size_t cap = caps[i];
        ptrdiff_t expect, rc;
        unsigned char *exact = (unsigned char *)malloc(cap ? cap : 1), *g = guarded(cap);

        if (cap < base)
            expect = POLO_ERR_BODY_SPACE;
        else if (f->has_nul && f->n > 0)
            expect = POLO_ERR_FIELDS;
        else if (cap - base < body_len)
            expect = POLO_ERR_BODY_SPACE;
        else if (f->has_nonce_name)
            expect = POLO_ERR_NONCE_NAME;
        else
            expect = (ptrdiff_t)want_len;
        rc = polo_sign_request(s, head, head_len, (const char *)nul_form, nul_len, f->n, f->nonce,
                               (char *)exact, cap);
        calls++;
        CHECK(rc == expect, "request exact buffer: rc %td, want %td (cap %zu, need %zu)", rc,
              expect, cap, need);
        rc = polo_sign_request(s, head, head_len, (const char *)nul_form, nul_len, f->n, f->nonce,
                               (char *)g, cap);
        calls++;
        CHECK(rc == expect, "request guarded buffer: rc %td, want %td", rc, expect);
        CHECK(guard_intact(g, cap), "polo_sign_request wrote past out[%zu]", cap);
        if (rc >= 0)
            CHECK(memcmp(g, want, want_len) == 0, "request differs from the reference layout");
        free(exact);
        free(g);
    }
    CHECK(polo_sign_request(NULL, head, head_len, "", 0, 0, 1, want, want_len)
              == POLO_ERR_ARG, "polo_sign_request accepted a NULL signer");
    CHECK(polo_sign_request(s, NULL, 3, "", 0, 0, 1, want, want_len) == POLO_ERR_ARG,
          "polo_sign_request accepted a NULL head with a length");
    free(want);
}
#endif


static void run_case(int hygiene)
{
    static fields f;
    unsigned char secret[300], kipad[128], kopad[128], inner[64], outer[64];
    size_t secret_len = 1 + below(below(4) == 0 ? 300 : 64), i, want_len, caps[6];
    char want_hex[129], msg_hex[129];
    unsigned char msg[300], out_hex[130];
    size_t msg_len = below(sizeof(msg));
    polo_signer *s;
    polo_out *area;
    ptrdiff_t rc;
    size_t live_before = live_count;

    for (i = 0; i < secret_len; i++)
        secret[i] = (unsigned char)rnd();
    for (i = 0; i < msg_len; i++)
        msg[i] = (unsigned char)rnd();
    draw_fields(&f);
    want_len = ref_body(&f, want_body);
    ref_hmac_hex(secret, secret_len, want_body, want_len, want_hex);
    ref_hmac_hex(secret, secret_len, (const char *)msg, msg_len, msg_hex);
    if (hygiene) {
        midstates(secret, secret_len, kipad, kopad, inner, outer);
        live_before = live_count;
        patterns[0] = secret;
        pattern_lens[0] = secret_len < 16 ? secret_len : 16;
        patterns[1] = secret + secret_len - pattern_lens[0];
        pattern_lens[1] = pattern_lens[0];
        patterns[2] = kipad;
        pattern_lens[2] = 16;
        patterns[3] = kopad;
        pattern_lens[3] = 16;
        patterns[4] = inner;
        pattern_lens[4] = 16;
        patterns[5] = outer;
        pattern_lens[5] = 16;
        /* a secret shorter than 8 bytes is too short a pattern to search for by itself */
        n_patterns = secret_len >= 8 ? 6 : 4;
        if (n_patterns == 4) {
            patterns[0] = kipad;
            patterns[1] = kopad;
            patterns[2] = inner;
            patterns[3] = outer;
            pattern_lens[0] = pattern_lens[1] = pattern_lens[2] = pattern_lens[3] = 16;
        }
    }

    s = polo_signer_new(secret, secret_len);
    CHECK(s != NULL, "polo_signer_new(%zu bytes) returned NULL", secret_len);
    if (s == NULL)
        return;

    if (hygiene) /* positive control: the midstate is somewhere while the signer lives */
        CHECK(live_holding(inner, 16) >= 1 && live_holding(outer, 16) >= 1,
              "the live signer's midstates were not found: the hygiene patterns are wrong");

    /* polo_sign, with every hex capacity around 128 */
    for (i = 126; i <= 130; i++) {
        unsigned char *h = guarded(i);
        int r = polo_sign(s, msg_len ? msg : NULL, msg_len, (char *)h, i);
        calls++;
        if (i < 128) {
            CHECK(r == POLO_ERR_SIGN_SPACE, "polo_sign cap %zu: rc %d", i, r);
        } else {
            CHECK(r == POLO_OK && memcmp(h, msg_hex, 128) == 0, "polo_sign mismatch (cap %zu)", i);
            CHECK(i == 128 || h[128] == 0, "polo_sign: no NUL with room for it");
        }
        CHECK(guard_intact(h, i), "polo_sign wrote past hex[%zu]", i);
        free(h);
    }

    /* polo_encode_and_sign around the exact size, both layouts */
    caps[0] = 0;
    caps[1] = want_len > 0 ? want_len - 1 : 0;
    caps[2] = want_len;
    caps[3] = want_len + 1;
    caps[4] = below(want_len + 1);
    caps[5] = 3 * f.data_len + 2 * f.n + 26; /* the documented bound */
    for (i = 0; i < 6; i++) {
        size_t hex_cap = below(8) == 0 ? 120 + below(10) : 128 + below(2);
        encode_case(s, &f, 1, caps[i], hex_cap, want_body, want_len, want_hex);
        if (i == 2 || below(2) == 0)
            encode_case(s, &f, 0, caps[i], 129, want_body, want_len, want_hex);
    }

    /* polo_encode_and_sign_out (NUL form, 4096-byte body area) */
    area = (polo_out *)malloc(sizeof(*area));
    if (area != NULL && !f.has_nul) {
        static unsigned char nul_form[2 * MAX_PARAMS * (MAX_PART + 1)];
        size_t k = 0, off = 0;
        for (i = 0; i < 2 * f.n; i++) {
            if (i)
                nul_form[k++] = 0;
            memcpy(nul_form + k, f.data + off, f.lens[i]);
            k += f.lens[i];
            off += f.lens[i];
        }
        rc = polo_encode_and_sign_out(s, (const char *)nul_form, k, f.n, f.nonce, area);
        calls++;
        if (want_len > sizeof(area->body))
            CHECK(rc == POLO_ERR_BODY_SPACE, "out area: rc %td for a %zu-byte body", rc,
                  want_len);
        else if (f.has_nonce_name)
            CHECK(rc == POLO_ERR_NONCE_NAME, "out area: rc %td, want NONCE_NAME", rc);
        else
            CHECK(rc == (ptrdiff_t)want_len && memcmp(area->body, want_body, want_len) == 0
                      && memcmp(area->hex, want_hex, 128) == 0,
                  "out area: rc %td, body/sign mismatch", rc);
    }
    free(area);
    (void)out_hex;

#ifdef POLO_REQUEST_FIXED
    {
        static unsigned char nul_form[2 * MAX_PARAMS * (MAX_PART + 1)];
        size_t k = 0, off = 0;
        for (i = 0; i < 2 * f.n; i++) {
            if (i)
                nul_form[k++] = 0;
            memcpy(nul_form + k, f.data + off, f.lens[i]);
            k += f.lens[i];
            off += f.lens[i];
        }
        request_case(s, &f, nul_form, k, want_body, want_len, want_hex);
    }
#endif

    polo_signer_free(s);
    if (hygiene) {
        size_t k, left = 0;
        for (k = 0; k < n_patterns; k++)
            left += live_holding(patterns[k], pattern_lens[k]);
        CHECK(left == 0, "%zu live blocks still hold key material after polo_signer_free", left);
        CHECK(live_count == live_before, "libcrypto blocks: %zu live before the signer, %zu after",
              live_before, live_count);
        n_patterns = 0;
    }
}

int main(int argc, char **argv)
{
    unsigned long iterations = 2000, it;
    int hygiene = 0;

    if (parse_args(argc, argv, &iterations, &hygiene) != 0)
        return 2;
    /* bad arguments never crash */
    CHECK(polo_signer_new(NULL, 5) == NULL && polo_signer_new((const unsigned char *)"k", 0)
          == NULL, "polo_signer_new accepted a NULL/empty secret");
    polo_signer_free(NULL);
    {
        /* warm libcrypto's lazy global state up before the per-signer accounting */
        polo_signer *w = polo_signer_new((const unsigned char *)"warm", 4);
        char h[129];
        CHECK(w != NULL && polo_sign(w, NULL, 0, h, sizeof(h)) == POLO_OK, "warm-up failed");
        polo_signer_free(w);
    }
    for (it = 0; it < iterations; it++)
        run_case(hygiene);
    CHECK(freed_hits == 0, "%lu freed blocks held key material", freed_hits);
    printf("sign_check route=%s hygiene=%d iterations=%lu C calls=%lu failures=%lu\n",
           polo_route(), hygiene, iterations, calls, failures);
    return failures == 0 ? 0 : 1;
}
