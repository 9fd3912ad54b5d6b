/*
 * fuzz_c_sign: the libFuzzer target for the legacy SHA-512 route (csrc/polo_sign.c), differential
 * against OpenSSL's one-shot HMAC() and the plain quote_plus encoder in ref_sign.c.
 *
 * Built by `make fuzz-c` with clang -fsanitize=fuzzer,address,undefined, once per HMAC route
 * (default sha512-ctx and -DPOLO_SIGN_USE_EVP); tests/test_fuzz_c_corpus.py replays the kept
 * corpus (tests/fuzz_corpus_c/sign/) through fuzz/fuzz_replay.c with gcc, no clang needed.
 *
 * Input layout (every length is clamped to what is left):
 *   [flags] [nonce: 8 bytes LE] [cap byte] [secret_len] secret [head_len] head
 *   [n] then 2n parts, each [len] bytes, then the message for polo_sign: the rest.
 * flags: bit 0 part lengths up to 255 (else & 31); bit 1 secret_len * 2 (keys past the block);
 *        bit 2 a hex capacity of 127 (POLO_ERR_SIGN_SPACE), bit 3 of 129 (a NUL after the hex).
 * Every input drives every entry point: polo_sign; polo_encode_and_sign with lens and in the
 * NUL-separated form (POLO_ERR_FIELDS when a part holds a NUL); polo_encode_and_sign_out;
 * polo_sign_request; each output buffer at capacities 0, exact - 1, exact, exact + 1 and one
 * from the cap byte, with guard bytes past it; return codes as the header documents them.
 */
#include "polo_sign.h"

#include <stdint.h>

#include "fuzz_cursor.c"
#include "ref_sign.c"

#define MAX_N 40
#define GUARD 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_c_sign (%s): %s\n", polo_route(), what);
        abort();
    }
}

static unsigned char *guarded(size_t cap)
{
    unsigned char *p = (unsigned char *)malloc(cap + GUARD);

    check(p != NULL, "out of memory");
    memset(p, 0xAA, cap + GUARD);
    return p;
}

static void check_guard(const unsigned char *p, size_t cap, const char *what)
{
    size_t i;

    for (i = 0; i < GUARD; i++)
        check(p[cap + i] == 0xAA, what);
}

/* The capacities: 0, want - 1, want, want + 1, and one from the cap byte. */
static size_t caps_around(size_t want, size_t cap_byte, size_t caps[5])
{
    caps[0] = 0;
    caps[1] = want > 0 ? want - 1 : 0;
    caps[2] = want;
    caps[3] = want + 1;
    caps[4] = cap_byte * (want + 2) / 256;
    return 5;
}

typedef struct {
    size_t n;
    const unsigned char *part[2 * MAX_N];
    size_t len[2 * MAX_N];
    unsigned char lens_form[2 * MAX_N * 255]; /* the parts end to end */
    size_t lens_len;
    size_t lens[2 * MAX_N];
    unsigned char nul_form[2 * MAX_N * 256];
    size_t nul_len;
    int has_nul, has_nonce_name;
    uint64_t nonce;
    char *body; /* the reference body */
    size_t body_len;
    char hex[129];
} sign_input;

static void encode_case(const polo_signer *s, const sign_input *in, int use_lens, size_t body_cap,
                        size_t hex_cap)
{
    unsigned char *body = guarded(body_cap), *hex = guarded(hex_cap);
    ptrdiff_t want, rc;

    if (hex_cap < POLO_SIGN_HEX_LEN)
        want = POLO_ERR_SIGN_SPACE;
    else if (!use_lens && in->has_nul && in->n > 0)
        want = POLO_ERR_FIELDS;
    else if (body_cap < in->body_len)
        want = POLO_ERR_BODY_SPACE;
    else if (in->has_nonce_name)
        want = POLO_ERR_NONCE_NAME;
    else
        want = (ptrdiff_t)in->body_len;
    rc = polo_encode_and_sign(s, (const char *)(use_lens ? in->lens_form : in->nul_form),
                              use_lens ? in->lens_len : in->nul_len, use_lens ? in->lens : NULL,
                              in->n, in->nonce, (char *)body, body_cap, (char *)hex, hex_cap);
    check(rc == want, "polo_encode_and_sign: return code");
    check_guard(body, body_cap, "polo_encode_and_sign: write past body");
    check_guard(hex, hex_cap, "polo_encode_and_sign: write past hex");
    if (rc >= 0) {
        check(memcmp(body, in->body, in->body_len) == 0, "polo_encode_and_sign: body");
        check(memcmp(hex, in->hex, 128) == 0, "polo_encode_and_sign: Sign differs from HMAC()");
        check(hex_cap == 128 || hex[128] == 0, "polo_encode_and_sign: no NUL after the hex");
    }
    free(body);
    free(hex);
}

static void request_case(const polo_signer *s, const sign_input *in, const unsigned char *head,
                         size_t head_len, size_t cap)
{
    size_t base = head_len + 20 + POLO_REQUEST_FIXED, want_len;
    unsigned char *out = guarded(cap);
    char *want = (char *)malloc(base + in->body_len);
    ptrdiff_t expect, rc;

    check(want != NULL, "out of memory");
    memcpy(want, head, head_len);
    want_len = head_len + (size_t)sprintf(want + head_len, "%zu", in->body_len);
    memcpy(want + want_len, "\r\nSign: ", 8);
    memcpy(want + want_len + 8, in->hex, 128);
    memcpy(want + want_len + 136, "\r\n\r\n", 4);
    want_len += 140;
    memcpy(want + want_len, in->body, in->body_len);
    want_len += in->body_len;
    if (cap < base)
        expect = POLO_ERR_BODY_SPACE;
    else if (in->has_nul && in->n > 0)
        expect = POLO_ERR_FIELDS;
    else if (cap - base < in->body_len)
        expect = POLO_ERR_BODY_SPACE;
    else if (in->has_nonce_name)
        expect = POLO_ERR_NONCE_NAME;
    else
        expect = (ptrdiff_t)want_len;
    rc = polo_sign_request(s, (const char *)head, head_len, (const char *)in->nul_form,
                           in->nul_len, in->n, in->nonce, (char *)out, cap);
    check(rc == expect, "polo_sign_request: return code");
    check_guard(out, cap, "polo_sign_request: write past out");
    if (rc >= 0)
        check(memcmp(out, want, want_len) == 0, "polo_sign_request: request bytes");
    free(out);
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sign_input in;
    cursor c;
    size_t flags, cap_byte, secret_len, head_len, msg_len, i, mask, caps[5], n_caps, k;
    const unsigned char *secret, *head, *msg;
    char msg_hex[129];
    unsigned char *hex;
    polo_signer *s;
    polo_out *area;
    ptrdiff_t rc;

    c.p = data;
    c.left = size;
    flags = take_byte(&c);
    mask = flags & 1 ? 255 : 31;
    in.nonce = take_u64(&c);
    cap_byte = take_byte(&c);
    secret = take_bytes(&c, take_byte(&c) * (flags & 2 ? 2 : 1), &secret_len);
    if (secret_len == 0) {
        secret = (const unsigned char *)"k";
        secret_len = 1;
    }
    head = take_bytes(&c, take_byte(&c), &head_len);
    in.n = take_byte(&c) % (MAX_N + 1);
    in.has_nul = in.has_nonce_name = 0;
    in.lens_len = in.nul_len = 0;
    for (i = 0; i < 2 * in.n; i++) {
        const unsigned char *p = take_bytes(&c, take_byte(&c) & mask, &in.lens[i]);
        memcpy(in.lens_form + in.lens_len, p, in.lens[i]);
        in.part[i] = in.lens_form + in.lens_len;
        in.len[i] = in.lens[i];
        in.lens_len += in.lens[i];
        if (i > 0)
            in.nul_form[in.nul_len++] = 0;
        memcpy(in.nul_form + in.nul_len, p, in.lens[i]);
        in.nul_len += in.lens[i];
        in.has_nul |= memchr(p, 0, in.lens[i]) != NULL;
        if (i < in.n && in.lens[i] == 5 && memcmp(p, "nonce", 5) == 0)
            in.has_nonce_name = 1;
    }
    msg = take_bytes(&c, c.left, &msg_len);

    /* the reference body and Sign */
    in.body = (char *)malloc(3 * in.lens_len + 2 * in.n + 32);
    check(in.body != NULL, "out of memory");
    k = 0;
    for (i = 0; i < in.n; i++) {
        k += ref_encode_part(in.part[i], in.len[i], in.body + k);
        in.body[k++] = '=';
        k += ref_encode_part(in.part[in.n + i], in.len[in.n + i], in.body + k);
        in.body[k++] = '&';
    }
    k += (size_t)sprintf(in.body + k, "nonce=%llu", (unsigned long long)in.nonce);
    in.body_len = k;
    ref_hmac_hex(secret, secret_len, in.body, in.body_len, in.hex);
    ref_hmac_hex(secret, secret_len, (const char *)msg, msg_len, msg_hex);

    s = polo_signer_new(secret, secret_len);
    check(s != NULL, "polo_signer_new failed");

    /* polo_sign */
    i = flags & 4 ? 127 : flags & 8 ? 129 : 128;
    hex = guarded(i);
    rc = polo_sign(s, msg_len ? msg : NULL, msg_len, (char *)hex, i);
    check(rc == (i < 128 ? POLO_ERR_SIGN_SPACE : POLO_OK), "polo_sign: return code");
    check(rc != POLO_OK || memcmp(hex, msg_hex, 128) == 0, "polo_sign differs from HMAC()");
    check(rc != POLO_OK || i == 128 || hex[128] == 0, "polo_sign: no NUL after the hex");
    check_guard(hex, i, "polo_sign: write past hex");
    free(hex);

    /* polo_encode_and_sign, with lens and NUL-separated, around the exact size */
    n_caps = caps_around(in.body_len, cap_byte, caps);
    for (i = 0; i < n_caps; i++) {
        size_t hex_cap = flags & 4 ? 127 : flags & 8 ? 129 : 128;
        encode_case(s, &in, 1, caps[i], hex_cap);
        encode_case(s, &in, 0, caps[i], i == 2 ? 128 : hex_cap);
    }

    /* polo_encode_and_sign_out (NUL form, the 4096-byte body area) */
    area = (polo_out *)malloc(sizeof(*area));
    check(area != NULL, "out of memory");
    rc = polo_encode_and_sign_out(s, (const char *)in.nul_form, in.nul_len, in.n, in.nonce, area);
    if (in.has_nul && in.n > 0)
        check(rc == POLO_ERR_FIELDS, "polo_encode_and_sign_out: want POLO_ERR_FIELDS");
    else if (in.body_len > sizeof(area->body))
        check(rc == POLO_ERR_BODY_SPACE, "polo_encode_and_sign_out: want POLO_ERR_BODY_SPACE");
    else if (in.has_nonce_name)
        check(rc == POLO_ERR_NONCE_NAME, "polo_encode_and_sign_out: want POLO_ERR_NONCE_NAME");
    else
        check(rc == (ptrdiff_t)in.body_len && memcmp(area->body, in.body, in.body_len) == 0
                  && memcmp(area->hex, in.hex, 128) == 0,
              "polo_encode_and_sign_out: body or Sign");
    free(area);

    /* polo_sign_request around its exact size */
    n_caps = caps_around(head_len + 20 + POLO_REQUEST_FIXED + in.body_len, cap_byte, caps);
    for (i = 0; i < n_caps; i++)
        request_case(s, &in, head, head_len, caps[i]);

    polo_signer_free(s);
    free(in.body);
    in.body = NULL;
    return 0;
}
