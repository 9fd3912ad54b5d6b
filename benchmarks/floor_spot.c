/*
 * floor_spot: the C-only floor for the Spot route (csrc/polo_spot.c): the whole HTTP/1.1
 * request of a `POST /orders` with a 6-field compact JSON body, built and signed in C.
 *
 *   cc -std=c99 -O2 -Wall -Wextra -Werror -Icsrc -o benchmarks/floor_spot \
 *      benchmarks/floor_spot.c csrc/polo_spot.c -lcrypto && ./benchmarks/floor_spot
 *
 * Prints the median ns per operation over BATCHES batches of ITERS calls:
 *   - request  polo_spot_request: request line, head, signTimestamp, signature, Content-Type,
 *              Content-Length, body (the lane's one C call);
 *   - sign     polo_spot_sign: the signature alone;
 *   - naive    the same request by a plain C loop: snprintf of the string to sign, one-shot
 *              HMAC(EVP_sha256(), secret, ...) (re-keys every call: hashes the 128-byte
 *              secret), EVP_EncodeBlock, snprintf of the request;
 *   - naive-ctx the same plain build with a keyed HMAC_CTX copied per call (no re-keying).
 * Every variant's bytes are checked against polo_spot_request's before timing.
 */
#define _POSIX_C_SOURCE 199309L
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "polo_spot.h"

#define ITERS 20000
#define BATCHES 21

static const char SECRET[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char HEAD[] = "Host: api.poloniex.com\r\nkey: A1B2C3D4-E5F6A7B8-C9D0E1F2-A3B4C5D6\r\n";
static const char PATH[] = "/orders";
static const char BODY[] = "{\"symbol\":\"BTC_USDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
                           "\"price\":\"30000\",\"quantity\":\"0.001\",\"clientOrderId\":"
                           "\"pf-1700000000000-0001\"}";
static const uint64_t TS = 1700000000000ULL;

typedef ptrdiff_t (*variant_fn)(char *out, size_t cap);

static polo_spot_signer *g_signer;
static HMAC_CTX *g_hmac, *g_hwork;
static volatile unsigned sink;

static void die(const char *what)
{
    fprintf(stderr, "floor_spot: %s failed\n", what);
    exit(1);
}

static ptrdiff_t v_request(char *out, size_t cap)
{
    return polo_spot_request(g_signer, "POST", PATH, sizeof(PATH) - 1, HEAD, sizeof(HEAD) - 1,
                             NULL, 0, NULL, 0, BODY, sizeof(BODY) - 1, 1, TS, out, cap);
}

static ptrdiff_t v_sign(char *out, size_t cap)
{
    int rc = polo_spot_sign(g_signer, "POST", PATH, sizeof(PATH) - 1, NULL, 0, NULL, 0, BODY,
                            sizeof(BODY) - 1, 1, TS, out, cap);
    return rc == POLO_SPOT_OK ? POLO_SPOT_SIG_LEN : rc;
}

/* The plain C loop: string to sign, HMAC, base64, request, one snprintf each. */
static ptrdiff_t naive(char *out, size_t cap, int keyed_ctx)
{
    char sts[512], sig[48];
    unsigned char d[32];
    unsigned int dl = 0;
    int n = snprintf(sts, sizeof(sts), "POST\n%s\nrequestBody=%s&signTimestamp=%llu", PATH, BODY,
                     (unsigned long long)TS);

    if (n < 0 || (size_t)n >= sizeof(sts))
        return -1;
    if (keyed_ctx) {
        if (!HMAC_CTX_copy(g_hwork, g_hmac) || !HMAC_Update(g_hwork, (unsigned char *)sts, (size_t)n)
            || !HMAC_Final(g_hwork, d, &dl))
            return -1;
    } else if (HMAC(EVP_sha256(), SECRET, (int)sizeof(SECRET) - 1, (unsigned char *)sts,
                    (size_t)n, d, &dl) == NULL) {
        return -1;
    }
    EVP_EncodeBlock((unsigned char *)sig, d, 32);
    n = snprintf(out, cap,
                 "POST %s HTTP/1.1\r\n%ssignTimestamp: %llu\r\nsignature: %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 PATH, HEAD, (unsigned long long)TS, sig, sizeof(BODY) - 1, BODY);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static ptrdiff_t v_naive(char *out, size_t cap) { return naive(out, cap, 0); }

static ptrdiff_t v_naive_ctx(char *out, size_t cap) { return naive(out, cap, 1); }

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(variant_fn f)
{
    double t[BATCHES];
    char out[1024];
    int b, i;

    for (b = 0; b < BATCHES; b++) {
        double t0 = now_ns();
        for (i = 0; i < ITERS; i++)
            sink += (unsigned)f(out, sizeof(out)) + (unsigned char)out[60];
        t[b] = (now_ns() - t0) / ITERS;
    }
    qsort(t, BATCHES, sizeof(double), cmp_double);
    return t[BATCHES / 2];
}

int main(void)
{
    static const struct {
        const char *name;
        variant_fn f;
    } variants[] = {
        {"request   polo_spot_request (whole request)", v_request},
        {"sign      polo_spot_sign (signature only)  ", v_sign},
        {"naive     snprintf + HMAC() + base64       ", v_naive},
        {"naive-ctx snprintf + HMAC_CTX_copy + base64", v_naive_ctx},
    };
    char want[1024], got[1024];
    ptrdiff_t n, m;
    size_t v;

    g_signer = polo_spot_signer_new((const unsigned char *)SECRET, sizeof(SECRET) - 1);
    g_hmac = HMAC_CTX_new();
    g_hwork = HMAC_CTX_new();
    if (g_signer == NULL || g_hmac == NULL || g_hwork == NULL
        || !HMAC_Init_ex(g_hmac, SECRET, (int)sizeof(SECRET) - 1, EVP_sha256(), NULL))
        die("set-up");
    n = v_request(want, sizeof(want));
    if (n <= 0)
        die("polo_spot_request");
    for (v = 2; v < 4; v++) {
        m = variants[v].f(got, sizeof(got));
        if (m != n || memcmp(got, want, (size_t)n) != 0)
            die(variants[v].name);
    }
    if (v_sign(got, sizeof(got)) != POLO_SPOT_SIG_LEN || strstr(want, got) == NULL)
        die("polo_spot_sign");

    printf("floor_spot: %s, POST /orders, %zu-byte body, %td-byte request, median of %d x %d\n",
           polo_spot_route(), sizeof(BODY) - 1, n, BATCHES, ITERS);
    for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++)
        printf("  %s %8.1f ns\n", variants[v].name, median(variants[v].f));

    polo_spot_signer_free(g_signer);
    HMAC_CTX_free(g_hmac);
    HMAC_CTX_free(g_hwork);
    return 0;
}
