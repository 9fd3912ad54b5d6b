/*
 * fuzz_c_spot: the libFuzzer target for the Spot route (csrc/polo_spot.c), differential against
 * the plain reference in ref_spot.c (naive builder, OpenSSL's one-shot HMAC(), EVP_EncodeBlock).
 *
 * Built by `make fuzz-c` with clang -fsanitize=fuzzer,address,undefined, once per HMAC route
 * (default and -DPOLO_SIGN_USE_EVP); tests/test_fuzz_c_corpus.py replays the kept corpus
 * (tests/fuzz_corpus_c/spot/) through fuzz/fuzz_replay.c with gcc, no clang needed.
 *
 * Input layout (every length is clamped to what is left):
 *   [flags] [ts: 8 bytes LE] [cap byte] [secret_len] secret [path_len] path [head_len] head
 *   [n] then 2n parts, each [len] bytes, then the body: the rest.
 * flags: bits 0-2 the method (0-3 GET/POST/PUT/DELETE, 4-7 invalid spellings), bit 3 has_body,
 *        bit 4 the lens form (else NUL-separated), bit 5 lengths may exceed 63 (else & 63).
 * Each input runs polo_spot_string_to_sign, polo_spot_sign and polo_spot_request with output
 * capacities 0, exact - 1, exact, exact + 1 and one from the cap byte, guard bytes past each.
 */
#include "fuzz_cursor.c"
#include "ref_spot.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const METHODS[8] = {"GET", "POST", "PUT", "DELETE",
                                           "get", "PATCH", "", "GETX"};
    static size_t lens[2 * (POLO_SPOT_MAX_PARAMS + 8)];
    static char fields[2 * (POLO_SPOT_MAX_PARAMS + 8) * 256];
    cursor c;
    size_t flags, cap, secret_len, i, n, off = 0, mask;
    const char *secret;
    polo_spot_signer *s;
    ref_spot_in in;

    c.p = data;
    c.left = size;
    memset(&in, 0, sizeof(in));
    flags = take_byte(&c);
    mask = flags & 32 ? 255 : 63;
    in.ts = take_u64(&c);
    cap = take_byte(&c);
    secret = (const char *)take_bytes(&c, take_byte(&c), &secret_len);
    if (secret_len == 0) {
        secret = "k";
        secret_len = 1;
    }
    in.method = METHODS[flags & 7];
    in.has_body = (flags & 8) != 0;
    in.path = (const char *)take_bytes(&c, take_byte(&c) & mask, &in.path_len);
    in.head = (const char *)take_bytes(&c, take_byte(&c) & mask, &in.head_len);
    n = take_byte(&c) % (POLO_SPOT_MAX_PARAMS + 4);
    for (i = 0; i < 2 * n; i++) {
        size_t got;
        const uint8_t *part = take_bytes(&c, take_byte(&c) & mask, &got);
        if (!(flags & 16) && i > 0)
            fields[off++] = 0;
        memcpy(fields + off, part, got);
        lens[i] = got;
        off += got;
    }
    in.fields = fields;
    in.fields_len = off;
    in.lens = flags & 16 ? lens : NULL;
    in.n = n;
    in.body = (const char *)take_bytes(&c, c.left, &in.body_len);

    s = polo_spot_signer_new((const unsigned char *)secret, secret_len);
    if (s == NULL)
        abort();
    ref_spot_check(s, (const unsigned char *)secret, secret_len, &in, 0, cap);
    polo_spot_signer_free(s);
    if (ref_spot_failures != 0)
        abort();
    return 0;
}
