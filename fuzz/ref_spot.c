/*
 * ref_spot.c: a plain reference for csrc/polo_spot.c and the checks that compare the two, shared
 * by fuzz/spot_check.c (make asan) and fuzz/fuzz_c_spot.c (make fuzz-c); #included by both.
 *
 * The reference is written from poloniex-spot-api.md §2 and ccxt 4.5.90's sign(), not from
 * polo_spot.c: it adds signTimestamp to the parameter list and sorts the (name, value) pairs
 * with a selection sort on the raw names, percent-encodes with strchr over the RFC 3986
 * unreserved set and sprintf("%%%02X"), builds the strings with one sprintf/memcpy per piece in
 * malloc'ed buffers, signs with OpenSSL's one-shot HMAC() and writes base64 with
 * EVP_EncodeBlock. It derives the expected return code from the precedence polo_spot.h
 * documents.
 */
#include "polo_spot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define REF_GUARD 16

/* One call's inputs, exactly as handed to polo_spot_*. */
typedef struct {
    const char *method; /* NUL-terminated */
    const char *path;
    size_t path_len;
    const char *head;
    size_t head_len;
    const char *fields; /* as passed: NUL form when lens == NULL */
    size_t fields_len;
    const size_t *lens;
    size_t n;
    const char *body;
    size_t body_len;
    int has_body;
    uint64_t ts;
} ref_spot_in;

/* The reference's answer: the return code every call must give (rc; 0 = success) and, on
 * success, the string to sign, the signature and the request (malloc'ed). */
typedef struct {
    int rc;
    char *sts;
    size_t sts_len;
    char sig[64];
    char *req;
    size_t req_len;
} ref_spot_out;

static unsigned long ref_spot_failures;
/* inputs seen per expected outcome: [0] success, [k] POLO_SPOT_ERR code -k */
static unsigned long ref_spot_seen[16];

#define REF_CHECK(cond, ...)                                                                 \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            ref_spot_failures++;                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                             \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

static void *ref_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* RFC 3986 percent-encoding of p[0..n) at o; returns the bytes written. */
static size_t ref_quote(const char *p, size_t n, char *o)
{
    static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-._~";
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c != 0 && strchr(unreserved, c) != NULL)
            o[k++] = (char)c;
        else
            k += (size_t)sprintf(o + k, "%%%02X", c);
    }
    return k;
}

typedef struct {
    const char *name, *value;
    size_t name_len, value_len;
} ref_pair;

/* 1 when pair a's name sorts after b's (bytewise, a prefix first). */
static int ref_after(const ref_pair *a, const ref_pair *b)
{
    size_t i;

    for (i = 0; i < a->name_len && i < b->name_len; i++)
        if (a->name[i] != b->name[i])
            return (unsigned char)a->name[i] > (unsigned char)b->name[i];
    return a->name_len > b->name_len;
}

static int ref_same_name(const ref_pair *a, const ref_pair *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* Split the caller's fields into n (name, value) pairs; returns 0, ARG or FIELDS. */
static int ref_split(const ref_spot_in *in, ref_pair *pairs)
{
    const char *parts[2 * POLO_SPOT_MAX_PARAMS];
    size_t lens[2 * POLO_SPOT_MAX_PARAMS], i, sum = 0, nuls = 0, start = 0, k = 0;

    if (in->lens != NULL) {
        for (i = 0; i < 2 * in->n; i++) {
            if (in->lens[i] > in->fields_len || sum > in->fields_len - in->lens[i])
                return POLO_SPOT_ERR_ARG;
            parts[i] = in->fields + sum;
            lens[i] = in->lens[i];
            sum += in->lens[i];
        }
        if (sum != in->fields_len)
            return POLO_SPOT_ERR_ARG;
    } else {
        for (i = 0; i < in->fields_len; i++)
            nuls += in->fields[i] == 0;
        if (in->n == 0 ? in->fields_len != 0 : nuls != 2 * in->n - 1)
            return POLO_SPOT_ERR_FIELDS;
        for (i = 0; i <= in->fields_len && in->n > 0; i++) {
            if (i == in->fields_len || in->fields[i] == 0) {
                parts[k] = in->fields + start;
                lens[k++] = i - start;
                start = i + 1;
            }
        }
    }
    for (i = 0; i < in->n; i++) {
        pairs[i].name = parts[i];
        pairs[i].name_len = lens[i];
        pairs[i].value = parts[in->n + i];
        pairs[i].value_len = lens[in->n + i];
    }
    return 0;
}

static int ref_path_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || p[0] != '/')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c > 0x7E || c == '?' || c == '#')
            return 0;
    }
    return 1;
}

/* The expected return code, the string to sign, its signature and the whole request. */
static void ref_spot(const ref_spot_in *in, const unsigned char *secret, size_t secret_len,
                     ref_spot_out *out)
{
    ref_pair pairs[POLO_SPOT_MAX_PARAMS + 1], tmp;
    char ts[24], *query, *p;
    size_t i, j, k, query_len = 0, n = in->n, qcap;
    unsigned char d[32];
    unsigned int dl = 0;
    int is_get;

    memset(out, 0, sizeof(*out));
    if (in->method == NULL || in->path == NULL || (in->fields == NULL && in->fields_len)
        || (in->body == NULL && in->body_len)) {
        out->rc = POLO_SPOT_ERR_ARG;
        return;
    }
    if (n > POLO_SPOT_MAX_PARAMS) {
        out->rc = POLO_SPOT_ERR_TOO_MANY;
        return;
    }
    out->rc = ref_split(in, pairs);
    if (out->rc != 0)
        return;
    is_get = strcmp(in->method, "GET") == 0;
    if (!is_get && strcmp(in->method, "POST") != 0 && strcmp(in->method, "PUT") != 0
        && strcmp(in->method, "DELETE") != 0)
        out->rc = POLO_SPOT_ERR_METHOD;
    else if (!ref_path_ok(in->path, in->path_len))
        out->rc = POLO_SPOT_ERR_PATH;
    else if (in->has_body && (is_get || n > 0 || in->body_len == 0))
        out->rc = POLO_SPOT_ERR_BODY;
    for (i = 0; i < n && out->rc == 0; i++)
        if (pairs[i].name_len == 13 && memcmp(pairs[i].name, "signTimestamp", 13) == 0)
            out->rc = POLO_SPOT_ERR_TS_NAME;
    for (i = 0; i < n && out->rc == 0; i++)
        for (j = i + 1; j < n; j++)
            if (ref_same_name(&pairs[i], &pairs[j]))
                out->rc = POLO_SPOT_ERR_DUP_NAME;
    if (out->rc != 0)
        return;

    /* the query on the URL: the pairs sorted (selection sort), without signTimestamp */
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            if (ref_after(&pairs[i], &pairs[j])) {
                tmp = pairs[i];
                pairs[i] = pairs[j];
                pairs[j] = tmp;
            }
    qcap = 1;
    for (i = 0; i < n; i++)
        qcap += 3 * (pairs[i].name_len + pairs[i].value_len) + 2;
    query = (char *)ref_alloc(qcap + 64);
    for (i = 0; i < n; i++) {
        if (i > 0)
            query[query_len++] = '&';
        query_len += ref_quote(pairs[i].name, pairs[i].name_len, query + query_len);
        query[query_len++] = '=';
        query_len += ref_quote(pairs[i].value, pairs[i].value_len, query + query_len);
    }

    /* the string to sign */
    sprintf(ts, "%llu", (unsigned long long)in->ts);
    out->sts = p = (char *)ref_alloc(in->path_len + in->body_len + qcap + 128);
    k = (size_t)sprintf(p, "%s\n", in->method);
    memcpy(p + k, in->path, in->path_len);
    k += in->path_len;
    p[k++] = '\n';
    if (in->has_body) {
        k += (size_t)sprintf(p + k, "requestBody=");
        if (in->body_len)
            memcpy(p + k, in->body, in->body_len);
        k += in->body_len;
        k += (size_t)sprintf(p + k, "&signTimestamp=%s", ts);
    } else {
        pairs[n].name = "signTimestamp";
        pairs[n].name_len = 13;
        pairs[n].value = ts;
        pairs[n].value_len = strlen(ts);
        for (i = n; i > 0 && ref_after(&pairs[i - 1], &pairs[i]); i--) {
            tmp = pairs[i];
            pairs[i] = pairs[i - 1];
            pairs[i - 1] = tmp;
        }
        for (i = 0; i <= n; i++) {
            if (i > 0)
                p[k++] = '&';
            k += ref_quote(pairs[i].name, pairs[i].name_len, p + k);
            p[k++] = '=';
            k += ref_quote(pairs[i].value, pairs[i].value_len, p + k);
        }
    }
    out->sts_len = k;

    /* HMAC() one-shot, EVP_EncodeBlock base64 */
    if (HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)out->sts,
             out->sts_len, d, &dl) == NULL
        || dl != 32 || EVP_EncodeBlock((unsigned char *)out->sig, d, 32) != 44) {
        fprintf(stderr, "reference HMAC failed\n");
        exit(2);
    }

    /* the request */
    out->req = p = (char *)ref_alloc(in->path_len + qcap + in->head_len + in->body_len + 256);
    k = (size_t)sprintf(p, "%s ", in->method);
    memcpy(p + k, in->path, in->path_len);
    k += in->path_len;
    if (n > 0) {
        p[k++] = '?';
        memcpy(p + k, query, query_len);
        k += query_len;
    }
    k += (size_t)sprintf(p + k, " HTTP/1.1\r\n");
    if (in->head_len)
        memcpy(p + k, in->head, in->head_len);
    k += in->head_len;
    k += (size_t)sprintf(p + k, "signTimestamp: %s\r\nsignature: %s\r\n", ts, out->sig);
    if (in->has_body)
        k += (size_t)sprintf(p + k, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                             in->body_len);
    else if (strcmp(in->method, "POST") == 0 || strcmp(in->method, "PUT") == 0)
        k += (size_t)sprintf(p + k, "Content-Length: 0\r\n");
    k += (size_t)sprintf(p + k, "\r\n");
    if (in->has_body && in->body_len) {
        memcpy(p + k, in->body, in->body_len);
        k += in->body_len;
    }
    out->req_len = k;
    free(query);
}

static void ref_spot_free(ref_spot_out *out)
{
    free(out->sts);
    free(out->req);
    out->sts = out->req = NULL;
}

/* A buffer of cap bytes followed by REF_GUARD bytes of 0xAA. */
static char *ref_guarded(size_t cap)
{
    char *p = (char *)ref_alloc(cap + REF_GUARD);

    memset(p, 0xAA, cap + REF_GUARD);
    return p;
}

static int ref_guard_intact(const char *p, size_t cap)
{
    size_t i;

    for (i = 0; i < REF_GUARD; i++)
        if ((unsigned char)p[cap + i] != 0xAA)
            return 0;
    return 1;
}

/* The capacities to try for an output of `need` bytes: every one from 0 to need + 1 when
 * all_caps, else 0, need - 1, need, need + 1 and `extra` (reduced modulo need + 2). */
static size_t ref_caps(size_t need, int all_caps, size_t extra, size_t *caps, size_t max)
{
    size_t n = 0, i;

    if (all_caps && need + 2 <= max) { /* larger outputs: the sampled capacities */
        for (i = 0; i <= need + 1; i++)
            caps[n++] = i;
        return n;
    }
    caps[n++] = 0;
    if (need > 0)
        caps[n++] = need - 1;
    caps[n++] = need;
    caps[n++] = need + 1;
    caps[n++] = extra % (need + 2);
    return n;
}

#define REF_MAX_CAPS 4098

/* polo_spot_string_to_sign (signer == NULL) or polo_spot_request into out[0..cap). */
static ptrdiff_t ref_call(const polo_spot_signer *s, const ref_spot_in *in, char *out, size_t cap)
{
    if (s == NULL)
        return polo_spot_string_to_sign(in->method, in->path, in->path_len, in->fields,
                                        in->fields_len, in->lens, in->n, in->body, in->body_len,
                                        in->has_body, in->ts, out, cap);
    return polo_spot_request(s, in->method, in->path, in->path_len, in->head, in->head_len,
                             in->fields, in->fields_len, in->lens, in->n, in->body, in->body_len,
                             in->has_body, in->ts, out, cap);
}

/* One variable-length output (see ref_call) at the capacities of ref_caps: the return code,
 * the bytes (want[0..need) when want_rc is 0) and the guard. Returns the calls made. */
static unsigned long ref_check_output(const polo_spot_signer *s, const ref_spot_in *in,
                                      int want_rc, const char *want, size_t need, int all_caps,
                                      size_t extra)
{
    static size_t caps[REF_MAX_CAPS];
    const char *what = s == NULL ? "string_to_sign" : "request";
    size_t n_caps = ref_caps(want_rc == 0 ? need : 0, all_caps, extra, caps, REF_MAX_CAPS), i;
    ptrdiff_t rc, expect;
    char *buf;

    for (i = 0; i < n_caps; i++) {
        buf = ref_guarded(caps[i]);
        rc = ref_call(s, in, buf, caps[i]);
        expect = want_rc != 0 ? want_rc : caps[i] < need ? POLO_SPOT_ERR_SPACE : (ptrdiff_t)need;
        REF_CHECK(rc == expect, "%s rc %td, want %td (cap %zu need %zu)", what, rc, expect,
                  caps[i], need);
        REF_CHECK(ref_guard_intact(buf, caps[i]), "%s wrote past out[%zu]", what, caps[i]);
        if (rc >= 0 && rc == expect)
            REF_CHECK(memcmp(buf, want, need) == 0, "%s differs: %.*s", what,
                      (int)(need < 400 ? need : 400), buf);
        free(buf);
    }
    return n_caps;
}

/* Run polo_spot_string_to_sign, polo_spot_sign and polo_spot_request on one input with the
 * capacities above; every return code and byte is compared with the reference and every
 * guard checked. Returns the number of C calls made. */
static unsigned long ref_spot_check(const polo_spot_signer *s, const unsigned char *secret,
                                    size_t secret_len, const ref_spot_in *in, int all_caps,
                                    size_t extra)
{
    ref_spot_out want;
    unsigned long calls;
    ptrdiff_t expect;
    size_t i;
    char *buf;

    ref_spot(in, secret, secret_len, &want);
    ref_spot_seen[-want.rc < 16 ? -want.rc : 15]++;
    calls = ref_check_output(NULL, in, want.rc, want.sts, want.sts_len, all_caps, extra);

    /* the signature alone: every capacity from 0 to 46 */
    for (i = 0; i <= POLO_SPOT_SIG_LEN + 2; i++) {
        int r;
        if (!all_caps && i != 0 && i != 43 && i != 44 && i != 45)
            continue;
        buf = ref_guarded(i);
        r = polo_spot_sign(s, in->method, in->path, in->path_len, in->fields, in->fields_len,
                           in->lens, in->n, in->body, in->body_len, in->has_body, in->ts, buf, i);
        calls++;
        expect = want.rc != 0 ? want.rc : i < POLO_SPOT_SIG_LEN ? POLO_SPOT_ERR_SPACE : 0;
        REF_CHECK(r == expect, "sign rc %d, want %td (cap %zu)", r, expect, i);
        REF_CHECK(ref_guard_intact(buf, i), "sign wrote past b64[%zu]", i);
        if (r == 0 && expect == 0) {
            REF_CHECK(memcmp(buf, want.sig, 44) == 0, "signature %.44s, want %.44s", buf, want.sig);
            REF_CHECK(i == 44 || buf[44] == 0, "no NUL after the signature with room for it");
        }
        free(buf);
    }

    if (want.rc == 0)
        REF_CHECK(polo_spot_request_bound(in->path_len, in->head_len, in->fields_len, in->n,
                                          in->body_len) >= want.req_len,
                  "polo_spot_request_bound below the request length %zu", want.req_len);
    calls += ref_check_output(s, in, want.rc, want.req, want.req_len, all_caps, extra);
    ref_spot_free(&want);
    return calls;
}
