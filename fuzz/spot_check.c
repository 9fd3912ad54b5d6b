/*
 * spot_check: drives csrc/polo_spot.c directly, without Python, for `make asan` (built with
 * -fsanitize=address,undefined, LeakSanitizer on) and tests/test_spot_c.py (plain build).
 *
 *   spot_check [-n ITERATIONS] [-s SEED]             correctness + bounds + leaks
 *   spot_check --hygiene [-n ITERATIONS] [-s SEED]   + secret hygiene through libcrypto's
 *                                                      allocator hooks
 *
 * 1. The 11 vectors of poloniex-spot-api.md §2.4 (V1-V10 with V6/V6r): string to sign and
 *    signature, each through every entry point with every output capacity.
 * 2. ITERATIONS random inputs (methods, paths, parameters with unicode, ',', spaces, !*'(),
 *    empty names and values, NULs; bodies (arrays, unicode, up to 100 kB); heads; timestamps
 *    0..UINT64_MAX; secrets of 1..200 bytes; and malformed inputs for every error code),
 *    compared with the plain reference in ref_spot.c (naive builder + one-shot HMAC()), with
 *    every capacity from 0 to exact + 1 (sampled above 4 kB) and guard bytes past each buffer.
 * 3. --hygiene: libcrypto's allocations are tracked (check_common.c). Around each
 *    polo_spot_signer_new .. polo_spot_signer_free, with signatures and requests made in
 *    between, (1) while the signer lives some live block holds its HMAC inner SHA-256 midstate
 *    (the search patterns are right), and (2) no block freed in the window, as it was when
 *    free() ran, and no block live afterwards holds the secret, the key XOR ipad/opad blocks
 *    or either midstate. (The reference's one-shot HMAC() is kept out of that window.)
 * Exit status 0 only when every check passed. Signers are freed, so LeakSanitizer sees leaks.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA256_* for the midstates of --hygiene */

#include "ref_spot.c"

#include <openssl/crypto.h>
#include <openssl/sha.h>

/* the PRNG (rnd, below) and the tracking allocator behind --hygiene */
#include "check_common.c"

#define MAX_FIELDS 10000

static unsigned long calls;

/* ---------------------------------------------------------------- the vectors (§2.4) */

typedef struct {
    const char *id, *method, *path, *fields; /* fields: NUL form, names then values */
    size_t fields_len, n;
    const char *body; /* NULL: no body */
    uint64_t ts;
    const char *sts, *sig;
} vector;

#define V3_BODY                                                                              \
    "{\"symbol\":\"BTC_USDT\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"30000\","     \
    "\"quantity\":\"0.001\",\"timeInForce\":\"GTC\"}"
#define V4_BODY "{\"orderIds\":[\"1234567890\"],\"clientOrderIds\":[\"myId-1\"]}"
#define V7_BODY                                                                              \
    "[{\"symbol\":\"BTC_USDT\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"20000\","    \
    "\"quantity\":\"0.001\"},{\"symbol\":\"ETH_USDT\",\"side\":\"SELL\",\"type\":"          \
    "\"LIMIT_MAKER\",\"price\":\"4000\",\"quantity\":\"0.01\"}]"
#define V10_BODY "{\"a\":1,\"b\":[\"2\",null]}"

static const vector VECTORS[] = {
    {"V1", "GET", "/accounts/balances", "", 0, 0, NULL, 1659259836247ull,
     "GET\n/accounts/balances\nsignTimestamp=1659259836247",
     "NDeLgU6LZ8Y6FAwg0K2DtAy2BRHbaQEE+m8xH34gFqQ="},
    /* given as ccxt has them (symbol, limit): C sorts */
    {"V2", "GET", "/orders", "symbol\0limit\0ETH_USDT\0" "5", 23, 2, NULL, 1659259836247ull,
     "GET\n/orders\nlimit=5&signTimestamp=1659259836247&symbol=ETH_USDT",
     "YxW3agc20dRj6sZCsZU12/mRJyzckzq3iA1nxibMst8="},
    {"V3", "POST", "/orders", "", 0, 0, V3_BODY, 1631018760000ull,
     "POST\n/orders\nrequestBody=" V3_BODY "&signTimestamp=1631018760000",
     "4FEa5bXhEc/VCMg/sUSCEkJax5Ry/3cjFxXPjKhF11A="},
    {"V4", "DELETE", "/orders/cancelByIds", "", 0, 0, V4_BODY, 1631018760000ull,
     "DELETE\n/orders/cancelByIds\nrequestBody=" V4_BODY "&signTimestamp=1631018760000",
     "NVntQFetWcmwjis58+m6glFARmk7e4zbfmNQZFlSwYQ="},
    {"V5", "DELETE", "/orders/1234567890", "", 0, 0, NULL, 1631018760000ull,
     "DELETE\n/orders/1234567890\nsignTimestamp=1631018760000",
     "JJrOCQkTU9EeTYHjaJrzSjrl1gPmtI7WWNHwq2GiLvU="},
    {"V6", "GET", "/trades", "symbols\0limit\0BTC_USDT,ETH_USDT\0" "100", 35, 2, NULL,
     1700000000000ull,
     "GET\n/trades\nlimit=100&signTimestamp=1700000000000&symbols=BTC_USDT%2CETH_USDT",
     "86LT80FpvnlJLQyIPAbYOGh8RadGDWeMN7NBUJ1tHXg="},
    {"V7", "POST", "/orders/batch", "", 0, 0, V7_BODY, 1700000000000ull,
     "POST\n/orders/batch\nrequestBody=" V7_BODY "&signTimestamp=1700000000000",
     "L/mcxt+r+RmuVWp7cqwUoUs4j9WG7xNHOCC/Tro5OvI="},
    {"V8", "POST", "/orders/killSwitch", "", 0, 0, "{\"timeout\":\"60\"}", 1700000000000ull,
     "POST\n/orders/killSwitch\nrequestBody={\"timeout\":\"60\"}&signTimestamp=1700000000000",
     "SsP6sr8Fnd5IsqK9OxB2gj1zabRV45cQI8VD6V6+76Q="},
    /* the WebSocket auth string: the no-parameter GET */
    {"V9", "GET", "/ws", "", 0, 0, NULL, 1631018760000ull, "GET\n/ws\nsignTimestamp=1631018760000",
     "pp7/t4SgLXjXsLqptZNTstpvwvJtQ9PPrGFNms6u4p0="},
    {"V10", "DELETE", "/some/path", "", 0, 0, V10_BODY, 1674197467415ull,
     "DELETE\n/some/path\nrequestBody=" V10_BODY "&signTimestamp=1674197467415",
     "rCahSwbMNIzxQRUSqzxdMvYP9CDWfRUDNIFDVABxHQQ="},
};

/* V6r: the raw form some clients sign; polo_spot signs the encoded V6 (as ccxt does). */
static const char V6R_STS[] = "GET\n/trades\nlimit=100&signTimestamp=1700000000000"
                              "&symbols=BTC_USDT,ETH_USDT";
static const char V6R_SIG[] = "yu29tyiZ2rLyl9NEUeYOeZEBg4Jor80moFkmVfH7oq4=";

static void check_vectors(void)
{
    char secret[129], sts[512], sig[45];
    unsigned char d[32];
    unsigned int dl = 0;
    size_t i, n_vec = sizeof(VECTORS) / sizeof(VECTORS[0]);
    polo_spot_signer *s128, *s10;
    ptrdiff_t rc;

    for (i = 0; i < 128; i++)
        secret[i] = "0123456789abcdef"[i % 16];
    secret[128] = 0;
    s128 = polo_spot_signer_new((const unsigned char *)secret, 128);
    s10 = polo_spot_signer_new((const unsigned char *)"poloniex-api-secret", 19);
    REF_CHECK(s128 != NULL && s10 != NULL, "polo_spot_signer_new failed");
    if (s128 == NULL || s10 == NULL)
        exit(1);
    for (i = 0; i < n_vec; i++) {
        const vector *v = &VECTORS[i];
        int is10 = strcmp(v->id, "V10") == 0;
        const polo_spot_signer *s = is10 ? s10 : s128;
        const char *key = is10 ? "poloniex-api-secret" : secret;
        ref_spot_in in;

        memset(&in, 0, sizeof(in));
        in.method = v->method;
        in.path = v->path;
        in.path_len = strlen(v->path);
        in.head = "Host: api.poloniex.com\r\nkey: A-99\r\n";
        in.head_len = strlen(in.head);
        in.fields = v->fields;
        in.fields_len = v->fields_len;
        in.n = v->n;
        in.body = v->body;
        in.body_len = v->body != NULL ? strlen(v->body) : 0;
        in.has_body = v->body != NULL;
        in.ts = v->ts;
        rc = polo_spot_string_to_sign(in.method, in.path, in.path_len, in.fields, in.fields_len,
                                      NULL, in.n, in.body, in.body_len, in.has_body, in.ts, sts,
                                      sizeof(sts));
        REF_CHECK(rc == (ptrdiff_t)strlen(v->sts) && memcmp(sts, v->sts, strlen(v->sts)) == 0,
                  "%s: string to sign %.*s", v->id, rc > 0 ? (int)rc : 0, sts);
        REF_CHECK(polo_spot_sign(s, in.method, in.path, in.path_len, in.fields, in.fields_len,
                                 NULL, in.n, in.body, in.body_len, in.has_body, in.ts, sig,
                                 sizeof(sig)) == POLO_SPOT_OK
                      && strcmp(sig, v->sig) == 0,
                  "%s: signature %s, want %s", v->id, sig, v->sig);
        calls += 2 + ref_spot_check(s, (const unsigned char *)key, strlen(key), &in, 1, 0);
    }
    /* V6r: the vector itself (reference HMAC), and polo_spot does not produce it */
    HMAC(EVP_sha256(), secret, 128, (const unsigned char *)V6R_STS, sizeof(V6R_STS) - 1, d, &dl);
    EVP_EncodeBlock((unsigned char *)sig, d, 32);
    REF_CHECK(strcmp(sig, V6R_SIG) == 0, "V6r: reference HMAC %s", sig);
    REF_CHECK(strcmp(VECTORS[5].sig, V6R_SIG) != 0, "V6 and V6r coincide");
    polo_spot_signer_free(s128);
    polo_spot_signer_free(s10);
}

/* ---------------------------------------------------------------- random inputs */

static size_t draw_text(char *p, size_t max)
{
    static const char *const PIECES[] = {
        "a", "Z", "0", "9", "-", ".", "_", "~", ",", " ", "!", "*", "'", "(", ")", "&", "=",
        "+", "%", "/", "?", "#", ":", "\"", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80",
        "\xe7\xb4\xa2", "BTC_USDT", "ETH_USDT", "signTimestamp", "limit", "symbol",
    };
    size_t n = 0, k, len;

    k = below(below(4) == 0 ? 24 : 6);
    while (k-- > 0) {
        if (below(6) == 0) {
            len = 1;
            if (n + len > max)
                break;
            p[n] = (char)rnd();
        } else {
            const char *piece = PIECES[below(sizeof(PIECES) / sizeof(PIECES[0]))];
            len = strlen(piece);
            if (n + len > max)
                break;
            memcpy(p + n, piece, len);
        }
        n += len;
    }
    return n;
}

static const char *draw_method(void)
{
    static const char *const GOOD[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *const BAD[] = {"get", "PATCH", "", "GETX", "POS", "HEAD", "DELETE "};

    if (below(12) == 0)
        return BAD[below(sizeof(BAD) / sizeof(BAD[0]))];
    return GOOD[below(4)];
}

static size_t draw_path(char *p)
{
    static const char SAFE[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "-._~%:@!$&'()*+,;=/";
    static const char BAD[] = {'?', '#', ' ', '\r', '\n', 0, '\t', 0x7F, (char)0x80, (char)0xC3};
    size_t n = 1 + below(40), i;

    p[0] = '/';
    for (i = 1; i < n; i++)
        p[i] = SAFE[below(sizeof(SAFE) - 1)];
    if (below(12) == 0)
        p[below(n)] = BAD[below(sizeof(BAD))];
    if (below(40) == 0)
        n = 0;
    return n;
}

static size_t draw_body(char *p, size_t max)
{
    static const char *const BODIES[] = {
        V3_BODY, V4_BODY, V7_BODY, V10_BODY, "{}", "[]", "",
        "{\"clientOrderId\":\"\xe7\xb4\xa2\xe6\x8b\x89\",\"note\":\"a b&c=d\\n\"}",
    };
    size_t n, i;

    if (below(3) != 0) {
        const char *b = BODIES[below(sizeof(BODIES) / sizeof(BODIES[0]))];
        n = strlen(b);
        memcpy(p, b, n);
        return n;
    }
    n = below(40) == 0 ? 100 * 1024 + below(512) : below(600);
    if (n > max)
        n = max;
    p[0] = '[';
    for (i = 1; i < n; i++)
        p[i] = below(4) == 0 ? (char)rnd() : "{}[]\":,0123456789abc \xc3\xa9"[below(24)];
    return n;
}

static char body_buf[110 * 1024];

static void run_case(void)
{
    static char fields[MAX_FIELDS], head[200], path[64];
    static size_t lens[2 * (POLO_SPOT_MAX_PARAMS + 2)];
    char name_vals[2 * (POLO_SPOT_MAX_PARAMS + 2)][64];
    size_t part_len[2 * (POLO_SPOT_MAX_PARAMS + 2)];
    unsigned char secret[200];
    size_t secret_len, i, n, off = 0;
    int use_lens = (int)below(2);
    polo_spot_signer *s;
    ref_spot_in in;

    memset(&in, 0, sizeof(in));
    secret_len = below(3) == 0 ? 128 : 1 + below(sizeof(secret));
    for (i = 0; i < secret_len; i++)
        secret[i] = secret_len == 128 ? (unsigned char)"0123456789abcdef"[rnd() % 16]
                                      : (unsigned char)rnd();
    in.method = draw_method();
    in.path = path;
    in.path_len = draw_path(path);
    n = below(30) == 0 ? POLO_SPOT_MAX_PARAMS - 1 + below(4) : below(8);
    for (i = 0; i < 2 * n; i++) {
        part_len[i] = draw_text(name_vals[i], 60);
        if (i < n && below(60) == 0) { /* a name used twice */
            size_t j = below(i + 1);
            memcpy(name_vals[i], name_vals[j], part_len[j]);
            part_len[i] = part_len[j];
        }
        if (i < n && below(80) == 0) {
            memcpy(name_vals[i], "signTimestamp", 13);
            part_len[i] = 13;
        }
        if (!use_lens && below(200) != 0) /* the NUL form has no NULs in its parts, mostly */
            for (size_t k = 0; k < part_len[i]; k++)
                if (name_vals[i][k] == 0)
                    name_vals[i][k] = 'x';
    }
    for (i = 0; i < 2 * n; i++) {
        if (!use_lens && i > 0)
            fields[off++] = 0;
        memcpy(fields + off, name_vals[i], part_len[i]);
        lens[i] = part_len[i];
        off += part_len[i];
    }
    in.fields = fields;
    in.fields_len = off;
    in.lens = use_lens ? lens : NULL;
    in.n = n;
    if (use_lens && below(15) == 0 && n > 0)
        lens[below(2 * n)] += 1 + below(3); /* lens that do not add up */
    if (!use_lens && below(15) == 0)
        fields[in.fields_len++] = 0; /* one NUL too many */

    in.has_body = (strcmp(in.method, "GET") != 0 && n == 0 && below(3) != 0) || below(40) == 0;
    if (in.has_body || below(10) == 0) { /* a body pointer without has_body is ignored */
        in.body = body_buf;
        in.body_len = draw_body(body_buf, sizeof(body_buf));
    }
    switch (below(3)) {
    case 0: in.head = "Host: api.poloniex.com\r\nkey: A-99-B\r\n"; break;
    case 1: in.head = ""; break;
    default:
        for (i = 0; i < sizeof(head); i++)
            head[i] = (char)rnd();
        in.head = head;
    }
    in.head_len = in.head == head ? below(sizeof(head)) : strlen(in.head);
    switch (below(5)) {
    case 0: in.ts = 0; break;
    case 1: in.ts = UINT64_MAX; break;
    case 2: in.ts = rnd(); break;
    default: in.ts = 1600000000000ull + below(200000000000ull);
    }

    s = polo_spot_signer_new(secret, secret_len);
    REF_CHECK(s != NULL, "polo_spot_signer_new(%zu bytes) failed", secret_len);
    if (s == NULL)
        return;
    calls += ref_spot_check(s, secret, secret_len, &in, 1, (size_t)rnd());
    polo_spot_signer_free(s);
}

/* SHA-256 state words after one block of key XOR pad, as they lie in memory. */
static void midstate(const unsigned char pad[64], unsigned char out[32])
{
    SHA256_CTX c;

    SHA256_Init(&c);
    SHA256_Update(&c, pad, 64);
    memcpy(out, c.h, 32);
}

/* One signer's life under the tracking allocator: no key material may outlive it. */
static void hygiene_case(void)
{
    static const char body[] = V3_BODY;
    unsigned char secret[200], k[64], kipad[64], kopad[64], inner[32], outer[32];
    size_t secret_len = below(2) == 0 ? 128 : 8 + below(sizeof(secret) - 8), i, live_before;
    char sig[45], req[1024];
    polo_spot_signer *s;
    ptrdiff_t rc;

    for (i = 0; i < secret_len; i++)
        secret[i] = (unsigned char)rnd();
    memset(k, 0, sizeof(k));
    if (secret_len > 64)
        SHA256(secret, secret_len, k);
    else
        memcpy(k, secret, secret_len);
    for (i = 0; i < 64; i++) {
        kipad[i] = (unsigned char)(k[i] ^ 0x36);
        kopad[i] = (unsigned char)(k[i] ^ 0x5c);
    }
    midstate(kipad, inner);
    midstate(kopad, outer);
    patterns[0] = secret;
    patterns[1] = secret + secret_len - 8;
    pattern_lens[0] = pattern_lens[1] = 8;
    patterns[2] = kipad;
    patterns[3] = kopad;
    patterns[4] = inner;
    patterns[5] = outer;
    pattern_lens[2] = pattern_lens[3] = pattern_lens[4] = pattern_lens[5] = 16;
    /* libcrypto fetches and caches its digest implementations on first use (blocks that live
     * as long as the process, holding no key): a throwaway signer does that before counting,
     * whatever the seed made happen before this case. */
    s = polo_spot_signer_new((const unsigned char *)"warm", 4);
    if (s != NULL) {
        (void)polo_spot_sign(s, "GET", "/", 1, NULL, 0, NULL, 0, NULL, 0, 0, 1, sig, sizeof(sig));
        polo_spot_signer_free(s);
    }
    live_before = live_count;
    n_patterns = 6;

    s = polo_spot_signer_new(secret, secret_len);
    REF_CHECK(s != NULL, "polo_spot_signer_new failed");
    if (s == NULL)
        exit(1);
    REF_CHECK(live_holding(inner, 16) >= 1 && live_holding(outer, 16) >= 1,
              "the live signer's midstates were not found: the hygiene patterns are wrong");
    for (i = 0; i < 3; i++) {
        REF_CHECK(polo_spot_sign(s, "GET", "/orders", 7, "limit\0" "5", 7, NULL, 1, NULL, 0, 0,
                                 rnd(), sig, sizeof(sig)) == POLO_SPOT_OK, "sign failed");
        rc = polo_spot_request(s, "POST", "/orders", 7, "Host: h\r\n", 9, NULL, 0, NULL, 0, body,
                               sizeof(body) - 1, 1, rnd(), req, sizeof(req));
        REF_CHECK(rc > 0, "request failed: %td", rc);
        calls += 2;
    }
    polo_spot_signer_free(s);
    for (i = 0; i < n_patterns; i++)
        REF_CHECK(live_holding(patterns[i], pattern_lens[i]) == 0,
                  "a live block still holds key material after polo_spot_signer_free");
    REF_CHECK(live_count == live_before, "libcrypto blocks: %zu live before the signer, %zu after",
              live_before, live_count);
    n_patterns = 0;
}

static void check_bad_arguments(void)
{
    polo_spot_signer *s = polo_spot_signer_new((const unsigned char *)"k", 1);
    char out[256];

    REF_CHECK(polo_spot_signer_new(NULL, 5) == NULL, "signer from a NULL secret");
    REF_CHECK(polo_spot_signer_new((const unsigned char *)"k", 0) == NULL, "signer from 0 bytes");
    polo_spot_signer_free(NULL);
    REF_CHECK(polo_spot_sign(NULL, "GET", "/", 1, "", 0, NULL, 0, NULL, 0, 0, 1, out, 45)
                  == POLO_SPOT_ERR_ARG, "sign with a NULL signer");
    REF_CHECK(polo_spot_sign(s, "GET", "/", 1, "", 0, NULL, 0, NULL, 0, 0, 1, NULL, 45)
                  == POLO_SPOT_ERR_ARG, "sign into NULL");
    REF_CHECK(polo_spot_string_to_sign("GET", "/", 1, "", 0, NULL, 0, NULL, 0, 0, 1, NULL, 9)
                  == POLO_SPOT_ERR_ARG, "string to sign into NULL");
    REF_CHECK(polo_spot_request(s, "GET", "/", 1, NULL, 3, "", 0, NULL, 0, NULL, 0, 0, 1, out,
                                sizeof(out)) == POLO_SPOT_ERR_ARG, "request with a NULL head");
    REF_CHECK(polo_spot_request(NULL, "GET", "/", 1, "", 0, "", 0, NULL, 0, NULL, 0, 0, 1, out,
                                sizeof(out)) == POLO_SPOT_ERR_ARG, "request with a NULL signer");
    REF_CHECK(polo_spot_request_bound(SIZE_MAX, 1, 0, 0, 0) == SIZE_MAX
                  && polo_spot_request_bound(0, 0, SIZE_MAX / 2, 0, 0) == SIZE_MAX,
              "polo_spot_request_bound does not saturate");
    calls += 7;
    polo_spot_signer_free(s);
}

int main(int argc, char **argv)
{
    unsigned long iterations = 300, it;
    int i, hygiene = 0;

    if (parse_args(argc, argv, &iterations, &hygiene) != 0)
        return 2;
    if (hygiene) {
        hygiene_case(); /* warms libcrypto's lazy global state up first */
        for (it = 0; it < iterations; it++)
            hygiene_case();
        REF_CHECK(freed_hits == 0, "%lu freed blocks held key material", freed_hits);
        printf("spot_check route=%s hygiene=1 iterations=%lu C calls=%lu failures=%lu\n",
               polo_spot_route(), iterations, calls, ref_spot_failures);
        return ref_spot_failures == 0 ? 0 : 1;
    }
    check_bad_arguments();
    check_vectors();
    for (it = 0; it < iterations; it++)
        run_case();
    printf("spot_check route=%s vectors=11 iterations=%lu C calls=%lu failures=%lu\n",
           polo_spot_route(), iterations, calls, ref_spot_failures);
    printf("inputs by outcome (ok, then POLO_SPOT_ERR -1..-10):");
    for (i = 0; i <= 10; i++)
        printf(" %lu", ref_spot_seen[i]);
    printf("\n");
    for (i = 0; i <= 10; i++) /* every outcome but CRYPTO (-10) was drawn */
        if (iterations >= 300 && i != 10 && i != 2 && ref_spot_seen[i] == 0) {
            printf("outcome %d was never drawn\n", -i);
            return 1;
        }
    return ref_spot_failures == 0 ? 0 : 1;
}
