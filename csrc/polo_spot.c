/*
 * polo_spot.c: see polo_spot.h for the API.
 *
 * HMAC-SHA256 (RFC 2104) from precomputed states, as polo_sign.c does for SHA-512: at keying
 * the key (hashed first when longer than the 64-byte block, as a 128-byte API secret is) XOR
 * ipad/opad is absorbed into two SHA-256 states; a message then costs one struct copy per state
 * and the compressions of the message and of the inner digest. The string to sign is streamed
 * into the inner state piece by piece (never assembled): for the request writer the sorted,
 * encoded query is written once into the request and hashed from there, with signTimestamp
 * spliced in at its sorted place. The low-level SHA256_* functions are deprecated in OpenSSL
 * 3.0; without them (OPENSSL_NO_DEPRECATED_3_0), or with POLO_SIGN_USE_EVP / POLO_SPOT_USE_EVP,
 * the EVP_MD_CTX_copy_ex route is compiled instead.
 */
#if defined(POLO_SIGN_USE_EVP) && !defined(POLO_SPOT_USE_EVP)
#define POLO_SPOT_USE_EVP 1
#endif
#if !defined(POLO_SPOT_USE_EVP)
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif

#include "polo_spot.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(POLO_SPOT_USE_EVP)
#define POLO_SPOT_USE_EVP 1
#endif

#define BLOCK 64  /* SHA-256 block size */
#define DIGEST 32 /* SHA-256 digest size */
#define TS_NAME "signTimestamp"
#define TS_NAME_LEN 13

/* POLO_SPOT_REQUEST_FIXED (polo_spot.h): " HTTP/1.1\r\n", '?', "signTimestamp: " "\r\n",
 * "signature: " <b64> "\r\n", the Content-Type line, "Content-Length: " "\r\n", "\r\n". */
#define FIXED_SUM (11 + 1 + 17 + 11 + POLO_SPOT_SIG_LEN + 2 + 32 + 18 + 2)
typedef char polo_spot_fixed_is_right[POLO_SPOT_REQUEST_FIXED == FIXED_SUM ? 1 : -1];

struct polo_spot_signer {
#ifdef POLO_SPOT_USE_EVP
    EVP_MD_CTX *inner;
    EVP_MD_CTX *outer;
#else
    SHA256_CTX inner;
    SHA256_CTX outer;
#endif
};

/* 1: kept as is (RFC 3986 unreserved: A-Za-z0-9 -._~), 0: %XX */
static const unsigned char KEEP[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
};

static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---------------------------------------------------------------- HMAC states */

/* One of the signer's two states: SHA-256 after one block of key XOR pad_byte. */
static int absorb_pad(polo_spot_signer *s, int outer, const unsigned char k[BLOCK],
                      unsigned char pad[BLOCK], unsigned char pad_byte)
{
    size_t i;
#ifdef POLO_SPOT_USE_EVP
    EVP_MD_CTX **c = outer ? &s->outer : &s->inner;
#else
    SHA256_CTX *c = outer ? &s->outer : &s->inner;
#endif

    for (i = 0; i < BLOCK; i++)
        pad[i] = (unsigned char)(k[i] ^ pad_byte);
#ifdef POLO_SPOT_USE_EVP
    *c = EVP_MD_CTX_new();
    return *c != NULL && EVP_DigestInit_ex(*c, EVP_sha256(), NULL) == 1
           && EVP_DigestUpdate(*c, pad, BLOCK) == 1;
#else
    return SHA256_Init(c) == 1 && SHA256_Update(c, pad, BLOCK) == 1;
#endif
}

polo_spot_signer *polo_spot_signer_new(const unsigned char *secret, size_t secret_len)
{
    unsigned char k[BLOCK], pad[BLOCK];
    polo_spot_signer *s;
    int ok = 1;

    if (secret == NULL || secret_len == 0)
        return NULL;
    s = (polo_spot_signer *)OPENSSL_zalloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(k, 0, BLOCK);
    if (secret_len > BLOCK) { /* a key longer than the block is hashed first (RFC 2104) */
        unsigned int n = 0;
        ok = EVP_Digest(secret, secret_len, k, &n, EVP_sha256(), NULL) == 1 && n == DIGEST;
    } else {
        memcpy(k, secret, secret_len);
    }
    ok = ok && absorb_pad(s, 0, k, pad, 0x36) && absorb_pad(s, 1, k, pad, 0x5c);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    if (!ok) {
        polo_spot_signer_free(s);
        return NULL;
    }
    return s;
}

void polo_spot_signer_free(polo_spot_signer *s)
{
    if (s == NULL)
        return;
#ifdef POLO_SPOT_USE_EVP
    EVP_MD_CTX_free(s->inner); /* EVP_MD_CTX_free cleanses the digest state */
    EVP_MD_CTX_free(s->outer);
#endif
    OPENSSL_clear_free(s, sizeof(*s));
}

const char *polo_spot_route(void)
{
#ifdef POLO_SPOT_USE_EVP
    return "evp-md-ctx";
#else
    return "sha256-ctx";
#endif
}

/* One HMAC computation in progress: the inner state, fed piece by piece. */
typedef struct {
#ifdef POLO_SPOT_USE_EVP
    EVP_MD_CTX *c;
#else
    SHA256_CTX c;
#endif
    int ok;
} hmac_run;

static int run_start(const polo_spot_signer *s, hmac_run *h)
{
#ifdef POLO_SPOT_USE_EVP
    h->c = EVP_MD_CTX_new();
    h->ok = h->c != NULL && EVP_MD_CTX_copy_ex(h->c, s->inner) == 1;
#else
    h->c = s->inner;
    h->ok = 1;
#endif
    return h->ok;
}

static void run_feed(hmac_run *h, const void *p, size_t n)
{
#ifdef POLO_SPOT_USE_EVP
    h->ok = h->ok && EVP_DigestUpdate(h->c, p, n) == 1;
#else
    SHA256_Update(&h->c, p, n);
#endif
}

/* Finish: the 44 base64 characters at b64 (no NUL). Frees/cleanses the run in every case. */
static int run_finish(const polo_spot_signer *s, hmac_run *h, char *b64)
{
    unsigned char d[DIGEST];
    size_t i, o = 0;
#ifdef POLO_SPOT_USE_EVP
    unsigned int n = 0;
    int ok = h->ok && EVP_DigestFinal_ex(h->c, d, &n) == 1
             && EVP_MD_CTX_copy_ex(h->c, s->outer) == 1 && EVP_DigestUpdate(h->c, d, DIGEST) == 1
             && EVP_DigestFinal_ex(h->c, d, &n) == 1;
    EVP_MD_CTX_free(h->c); /* cleanses the key-derived state */
    h->c = NULL;
    if (!ok)
        return POLO_SPOT_ERR_CRYPTO;
#else
    SHA256_Final(d, &h->c);
    h->c = s->outer;
    SHA256_Update(&h->c, d, DIGEST);
    SHA256_Final(d, &h->c);
    OPENSSL_cleanse(&h->c, sizeof(h->c)); /* the copy carries key-derived state */
#endif
    for (i = 0; i < DIGEST; i += 3) { /* 10 full groups, then 2 bytes: 3 characters and '=' */
        unsigned last = i + 2 < DIGEST ? d[i + 2] : 0u;
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | last;
        b64[o++] = B64[v >> 18];
        b64[o++] = B64[(v >> 12) & 63];
        b64[o++] = B64[(v >> 6) & 63];
        b64[o++] = i + 2 < DIGEST ? B64[v & 63] : '=';
    }
    return POLO_SPOT_OK;
}

/* ---------------------------------------------------------------- the inputs */

/* The parsed, checked arguments of one call. */
typedef struct {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    const char *body; /* NULL: no body (has_body == 0) */
    size_t body_len;
    size_t n;                                            /* parameters */
    const unsigned char *part[2 * POLO_SPOT_MAX_PARAMS]; /* names, then values */
    size_t len[2 * POLO_SPOT_MAX_PARAMS];
    unsigned char order[POLO_SPOT_MAX_PARAMS]; /* parameter indexes sorted by name */
    size_t ts_at;      /* signTimestamp sorts before the pair order[ts_at] (n: last) */
    size_t ts_off;     /* the byte offset of that place in the encoded query */
    size_t params_len; /* the encoded query "n=v&...&n=v" without signTimestamp */
    char ts_item[TS_NAME_LEN + 1 + 20]; /* "signTimestamp=<ts>" */
    size_t ts_item_len;
} spot_call;

/* Decimal digits of v into buf (20 bytes); returns the count, digits at the end. */
static size_t u64_digits(uint64_t v, char buf[20])
{
    size_t n = 0;

    do {
        buf[19 - n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    return n;
}

static size_t encoded_len(const unsigned char *p, size_t n)
{
    size_t out = n, i;

    for (i = 0; i < n; i++)
        out += KEEP[p[i]] ? 0 : 2;
    return out;
}

static char *encode(char *o, const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (KEEP[c]) {
            *o++ = (char)c;
        } else {
            o[0] = '%';
            o[1] = HEX_UPPER[c >> 4];
            o[2] = HEX_UPPER[c & 15];
            o += 3;
        }
    }
    return o;
}

/* <0 / 0 / >0 as the bytes a[0..an) sort before / equal / after b[0..bn) (a prefix first). */
static int name_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = an == 0 || bn == 0 ? 0 : memcmp(a, b, an < bn ? an : bn);

    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

static int check_method(spot_call *c, const char *m)
{
    static const char *const METHODS[4] = {"GET", "POST", "PUT", "DELETE"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcmp(m, METHODS[i]) == 0) {
            c->method = METHODS[i];
            c->method_len = strlen(METHODS[i]);
            return POLO_SPOT_OK;
        }
    }
    return POLO_SPOT_ERR_METHOD;
}

static int check_path(const unsigned char *p, size_t n)
{
    size_t i;

    if (n == 0 || p[0] != '/')
        return POLO_SPOT_ERR_PATH;
    for (i = 1; i < n; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7F || p[i] == '?' || p[i] == '#')
            return POLO_SPOT_ERR_PATH;
    return POLO_SPOT_OK;
}

/* Split the fields into c->part/c->len; returns POLO_SPOT_OK, _ARG or _FIELDS. */
static int split_fields(spot_call *c, const unsigned char *data, size_t data_len,
                        const size_t *lens)
{
    size_t n_parts = 2 * c->n, i, sum = 0;

    if (lens != NULL) {
        for (i = 0; i < n_parts; i++) {
            if (lens[i] > data_len - sum)
                return POLO_SPOT_ERR_ARG;
            c->part[i] = data + sum;
            c->len[i] = lens[i];
            sum += lens[i];
        }
        return sum == data_len ? POLO_SPOT_OK : POLO_SPOT_ERR_ARG;
    }
    if (n_parts == 0)
        return data_len == 0 ? POLO_SPOT_OK : POLO_SPOT_ERR_FIELDS;
    for (i = 0; i < n_parts; i++) {
        const unsigned char *p = data + sum;
        const unsigned char *z = (const unsigned char *)memchr(p, 0, data_len - sum);
        size_t k = z != NULL ? (size_t)(z - p) : data_len - sum;
        if ((z == NULL) != (i == n_parts - 1)) /* a NUL after each part but the last */
            return POLO_SPOT_ERR_FIELDS;
        c->part[i] = p;
        c->len[i] = k;
        sum += k + (z != NULL);
    }
    return POLO_SPOT_OK;
}

/* Stable insertion sort of the parameter indexes by name, then the query layout. */
static int sort_params(spot_call *c)
{
    size_t i, j;

    for (i = 0; i < c->n; i++) {
        unsigned char v = (unsigned char)i;
        for (j = i; j > 0; j--) {
            size_t w = c->order[j - 1];
            int d = name_cmp(c->part[w], c->len[w], c->part[v], c->len[v]);
            if (d == 0)
                return POLO_SPOT_ERR_DUP_NAME;
            if (d < 0)
                break;
            c->order[j] = c->order[j - 1];
        }
        c->order[j] = v;
    }
    c->ts_at = c->n;
    c->params_len = 0;
    for (i = 0; i < c->n; i++) {
        size_t w = c->order[i];
        if (c->ts_at == c->n
            && name_cmp((const unsigned char *)TS_NAME, TS_NAME_LEN, c->part[w], c->len[w]) < 0) {
            c->ts_at = i;
            c->ts_off = c->params_len;
        }
        /* '&' before every pair but the first, then name '=' value */
        c->params_len += (i > 0) + encoded_len(c->part[w], c->len[w]) + 1
                         + encoded_len(c->part[c->n + w], c->len[c->n + w]);
    }
    if (c->ts_at == c->n)
        c->ts_off = c->params_len;
    return POLO_SPOT_OK;
}

/* Check and parse every argument but the output into c. Returns POLO_SPOT_OK or an error. */
static int parse_call(spot_call *c, const char *method, const char *path, size_t path_len,
                      const char *fields, size_t fields_len, const size_t *lens,
                      size_t n_params, const char *body, size_t body_len, int has_body,
                      uint64_t ts)
{
    const unsigned char *data = (const unsigned char *)fields;
    size_t i, n_digits;
    char digits[20];
    int rc;

    if (method == NULL || path == NULL || (data == NULL && fields_len != 0)
        || (body == NULL && body_len != 0))
        return POLO_SPOT_ERR_ARG;
    if (n_params > POLO_SPOT_MAX_PARAMS)
        return POLO_SPOT_ERR_TOO_MANY;
    c->n = n_params;
    rc = split_fields(c, data != NULL ? data : (const unsigned char *)"", fields_len, lens);
    if (rc == POLO_SPOT_OK)
        rc = check_method(c, method);
    if (rc == POLO_SPOT_OK)
        rc = check_path((const unsigned char *)path, path_len);
    if (rc != POLO_SPOT_OK)
        return rc;
    /* An empty body cannot be told from no body on the wire (Content-Length: 0), but the
     * two sign differently: refuse it, the caller means no body. */
    if (has_body && (n_params != 0 || body_len == 0 || strcmp(c->method, "GET") == 0))
        return POLO_SPOT_ERR_BODY;
    for (i = 0; i < c->n; i++)
        if (c->len[i] == TS_NAME_LEN && memcmp(c->part[i], TS_NAME, TS_NAME_LEN) == 0)
            return POLO_SPOT_ERR_TS_NAME;
    rc = sort_params(c);
    if (rc != POLO_SPOT_OK)
        return rc;
    c->path = path;
    c->path_len = path_len;
    c->body = has_body ? (body != NULL ? body : "") : NULL;
    c->body_len = has_body ? body_len : 0;
    n_digits = u64_digits(ts, digits);
    memcpy(c->ts_item, TS_NAME "=", TS_NAME_LEN + 1);
    memcpy(c->ts_item + TS_NAME_LEN + 1, digits + 20 - n_digits, n_digits);
    c->ts_item_len = TS_NAME_LEN + 1 + n_digits;
    return POLO_SPOT_OK;
}

/* Sum of n sizes, or SIZE_MAX when it overflows. */
static size_t add_sizes(const size_t *v, size_t n)
{
    size_t sum = 0, i;

    for (i = 0; i < n; i++) {
        if (v[i] > SIZE_MAX - sum)
            return SIZE_MAX;
        sum += v[i];
    }
    return sum;
}

/* ---------------------------------------------------------------- output: buffer or hash */

/* Where the bytes go: straight into a buffer whose size was checked beforehand (h == NULL),
 * or through a small stack buffer into the HMAC run. */
typedef struct {
    char *o;     /* next byte */
    char *start; /* hash mode: the stack buffer */
    char *end;
    hmac_run *h;
} sink;

static void sink_flush(sink *k)
{
    if (k->h != NULL && k->o != k->start) {
        run_feed(k->h, k->start, (size_t)(k->o - k->start));
        k->o = k->start;
    }
}

static void put(sink *k, const void *p, size_t n)
{
    if (k->h != NULL && n > (size_t)(k->end - k->o)) {
        sink_flush(k);
        if (n > (size_t)(k->end - k->o)) {
            run_feed(k->h, p, n);
            return;
        }
    }
    if (n != 0)
        memcpy(k->o, p, n);
    k->o += n;
}

static void put_encoded(sink *k, const unsigned char *p, size_t n)
{
    size_t off = 0, take;

    if (k->h == NULL) {
        k->o = encode(k->o, p, n);
        return;
    }
    while (off < n) {
        take = (size_t)(k->end - k->o) / 3;
        if (take == 0) {
            sink_flush(k);
            continue;
        }
        take = take < n - off ? take : n - off;
        k->o = encode(k->o, p + off, take);
        off += take;
    }
}

/* The encoded pairs order[from..to), '&' before each pair but the very first. */
static void put_pairs(sink *k, const spot_call *c, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++) {
        size_t w = c->order[i];
        if (i > 0)
            put(k, "&", 1);
        put_encoded(k, c->part[w], c->len[w]);
        put(k, "=", 1);
        put_encoded(k, c->part[c->n + w], c->len[c->n + w]);
    }
}

/* PARAMS of the string to sign. query: the encoded query written already (or NULL). */
static void put_params(sink *k, const spot_call *c, const char *query)
{
    if (c->body != NULL) {
        put(k, "requestBody=", 12);
        put(k, c->body, c->body_len);
        put(k, "&", 1);
        put(k, c->ts_item, c->ts_item_len);
        return;
    }
    if (query != NULL)
        put(k, query, c->ts_off);
    else
        put_pairs(k, c, 0, c->ts_at);
    if (c->ts_at > 0)
        put(k, "&", 1);
    put(k, c->ts_item, c->ts_item_len);
    if (c->ts_at == c->n)
        return;
    if (c->ts_at == 0)
        put(k, "&", 1);
    if (query != NULL)
        put(k, query + c->ts_off, c->params_len - c->ts_off);
    else
        put_pairs(k, c, c->ts_at, c->n);
}

/* The whole string to sign. */
static void put_sts(sink *k, const spot_call *c, const char *query)
{
    put(k, c->method, c->method_len);
    put(k, "\n", 1);
    put(k, c->path, c->path_len);
    put(k, "\n", 1);
    put_params(k, c, query);
}

/* HMAC-SHA256 of the string to sign, in base64 at b64 (44 bytes, no NUL). */
static int sign_call(const polo_spot_signer *s, const spot_call *c, const char *query, char *b64)
{
    char stage[256];
    hmac_run h;
    sink k;

    if (!run_start(s, &h)) {
#ifdef POLO_SPOT_USE_EVP
        EVP_MD_CTX_free(h.c);
#endif
        return POLO_SPOT_ERR_CRYPTO;
    }
    k.o = k.start = stage;
    k.end = stage + sizeof(stage);
    k.h = &h;
    put_sts(&k, c, query);
    sink_flush(&k);
    return run_finish(s, &h, b64);
}

/* ---------------------------------------------------------------- the calls */

static size_t sts_len(const spot_call *c)
{
    size_t v[4];

    v[0] = c->method_len + 1 + c->path_len + 1 + c->ts_item_len;
    v[1] = c->body != NULL ? 12 + 1 : c->params_len + (c->n > 0); /* "requestBody=" '&' / '&' */
    v[2] = c->body_len;
    v[3] = 0;
    return add_sizes(v, 4);
}

ptrdiff_t polo_spot_string_to_sign(const char *method, const char *path, size_t path_len,
                                   const char *fields, size_t fields_len, const size_t *lens,
                                   size_t n_params, const char *body, size_t body_len,
                                   int has_body, uint64_t ts, char *out, size_t out_cap)
{
    spot_call c;
    sink k;
    int rc;

    if (out == NULL)
        return POLO_SPOT_ERR_ARG;
    rc = parse_call(&c, method, path, path_len, fields, fields_len, lens, n_params, body,
                    body_len, has_body, ts);
    if (rc != POLO_SPOT_OK)
        return rc;
    if (sts_len(&c) > out_cap || sts_len(&c) > (size_t)PTRDIFF_MAX)
        return POLO_SPOT_ERR_SPACE;
    k.o = k.start = k.end = out;
    k.h = NULL;
    put_sts(&k, &c, NULL);
    return (ptrdiff_t)(k.o - out);
}

int polo_spot_sign(const polo_spot_signer *s, const char *method, const char *path,
                   size_t path_len, const char *fields, size_t fields_len, const size_t *lens,
                   size_t n_params, const char *body, size_t body_len, int has_body,
                   uint64_t ts, char *b64_out, size_t b64_cap)
{
    spot_call c;
    int rc;

    if (s == NULL || b64_out == NULL)
        return POLO_SPOT_ERR_ARG;
    rc = parse_call(&c, method, path, path_len, fields, fields_len, lens, n_params, body,
                    body_len, has_body, ts);
    if (rc != POLO_SPOT_OK)
        return rc;
    if (b64_cap < POLO_SPOT_SIG_LEN)
        return POLO_SPOT_ERR_SPACE;
    rc = sign_call(s, &c, NULL, b64_out);
    if (rc == POLO_SPOT_OK && b64_cap > POLO_SPOT_SIG_LEN)
        b64_out[POLO_SPOT_SIG_LEN] = '\0';
    return rc;
}

/* A POST or PUT without a body still says Content-Length: 0. */
static int spot_needs_length(const spot_call *c)
{
    return (c->method_len == 4 && memcmp(c->method, "POST", 4) == 0)
           || (c->method_len == 3 && memcmp(c->method, "PUT", 3) == 0);
}

size_t polo_spot_request_bound(size_t path_len, size_t head_len, size_t fields_len,
                               size_t n_params, size_t body_len)
{
    size_t v[6];

    v[0] = 6 + POLO_SPOT_REQUEST_FIXED + 40;
    v[1] = path_len;
    v[2] = fields_len <= SIZE_MAX / 3 ? 3 * fields_len : SIZE_MAX;
    v[3] = n_params <= SIZE_MAX / 2 ? 2 * n_params : SIZE_MAX;
    v[4] = head_len;
    v[5] = body_len;
    return add_sizes(v, 6);
}

ptrdiff_t polo_spot_request(const polo_spot_signer *s, const char *method, const char *path,
                            size_t path_len, const char *head, size_t head_len,
                            const char *fields, size_t fields_len, const size_t *lens,
                            size_t n_params, const char *body, size_t body_len, int has_body,
                            uint64_t ts, char *out, size_t out_cap)
{
    spot_call c;
    char len_digits[20];
    size_t len_n = u64_digits((uint64_t)body_len, len_digits), v[8], need;
    const char *query;
    sink k;
    int rc;

    if (s == NULL || out == NULL || (head == NULL && head_len != 0))
        return POLO_SPOT_ERR_ARG;
    rc = parse_call(&c, method, path, path_len, fields, fields_len, lens, n_params, body,
                    body_len, has_body, ts);
    if (rc != POLO_SPOT_OK)
        return rc;
    v[0] = c.method_len + 1 + path_len + 11; /* METHOD SP PATH SP HTTP/1.1 CRLF */
    v[1] = c.n > 0 ? 1 + c.params_len : 0;   /* ?QUERY */
    v[2] = head_len;
    v[3] = 15 + (c.ts_item_len - TS_NAME_LEN - 1) + 2; /* signTimestamp: ts CRLF */
    v[4] = 11 + POLO_SPOT_SIG_LEN + 2 + 2;             /* signature: b64 CRLF, CRLF */
    /* Content-Type + Content-Length with a body; "Content-Length: 0" for a POST or PUT
     * without one (RFC 9110 8.6: a front end may answer 411 otherwise) */
    v[5] = c.body != NULL ? 32 + 16 + len_n + 2 : (spot_needs_length(&c) ? 19 : 0);
    v[6] = c.body_len;
    v[7] = 0;
    need = add_sizes(v, 8);
    if (need > out_cap || need > (size_t)PTRDIFF_MAX)
        return POLO_SPOT_ERR_SPACE;

    k.o = k.start = k.end = out;
    k.h = NULL;
    put(&k, c.method, c.method_len);
    put(&k, " ", 1);
    put(&k, path, path_len);
    query = NULL;
    if (c.n > 0) {
        put(&k, "?", 1);
        query = k.o;
        put_pairs(&k, &c, 0, c.n);
    }
    put(&k, " HTTP/1.1\r\n", 11);
    put(&k, head, head_len);
    put(&k, "signTimestamp: ", 15);
    put(&k, c.ts_item + TS_NAME_LEN + 1, c.ts_item_len - TS_NAME_LEN - 1);
    put(&k, "\r\nsignature: ", 13);
    rc = sign_call(s, &c, query, k.o);
    if (rc != POLO_SPOT_OK)
        return rc;
    k.o += POLO_SPOT_SIG_LEN;
    put(&k, "\r\n", 2);
    if (c.body != NULL) {
        put(&k, "Content-Type: application/json\r\nContent-Length: ", 48);
        put(&k, len_digits + 20 - len_n, len_n);
        put(&k, "\r\n", 2);
    } else if (spot_needs_length(&c)) {
        put(&k, "Content-Length: 0\r\n", 19);
    }
    put(&k, "\r\n", 2);
    put(&k, c.body, c.body_len);
    return (ptrdiff_t)(k.o - out);
}
