/*
 * floor_sign: the C-only floor for benchmarks/bench_sign.py, and the OpenSSL 3 route
 * comparison behind csrc/polo_sign.c.
 *
 * Built by `make benchmarks/floor_sign`; run by `make bench-sign`. Prints, for the order
 * command=buy&currencyPair=BTC_ETH&rate=0.01234567&amount=1.5&fillOrKill=1&nonce=154264078495300,
 * the median ns per operation over BATCHES batches of ITERS calls:
 *   - floor: polo_encode_and_sign (body + hex Sign, one call; what the Python side wraps);
 *   - HMAC-SHA512 + hex of the ready body by each route:
 *       sha512-ctx   precomputed SHA512_CTX ipad/opad states, struct copies (polo_sign)
 *       md-ctx-copy  precomputed EVP_MD_CTX states, EVP_MD_CTX_copy_ex into a reused ctx
 *       mac-dup      a keyed EVP_MAC_CTX (HMAC, SHA512) duplicated per message
 *       hmac-copy    a keyed HMAC_CTX copied into a reused HMAC_CTX per message
 *       hmac-oneshot HMAC(EVP_sha512(), key, ...) per message (re-keys every time)
 * Every route's output is checked against polo_sign's before timing.
 */
#define _POSIX_C_SOURCE 199309L
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "polo_sign.h"

#define ITERS 20000
#define BATCHES 21

static const char SECRET[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
                             "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
static const char FIELDS[] = "command\0currencyPair\0rate\0amount\0fillOrKill\0"
                             "buy\0BTC_ETH\0" "0.01234567\0" "1.5\0" "1";
static const char BODY[] = "command=buy&currencyPair=BTC_ETH&rate=0.01234567&amount=1.5"
                           "&fillOrKill=1&nonce=154264078495300";
static const uint64_t NONCE = 154264078495300ULL;

typedef int (*route_fn)(const unsigned char *msg, size_t len, char hex[129]);

static polo_signer *g_signer;
static EVP_MD_CTX *g_inner, *g_outer, *g_work;
static EVP_MAC_CTX *g_mac;
static HMAC_CTX *g_hmac, *g_hwork;
static volatile unsigned sink;

static void die(const char *what)
{
    fprintf(stderr, "floor_sign: %s failed\n", what);
    exit(1);
}

static void to_hex(const unsigned char *d, char *hex)
{
    static const char H[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 64; i++) {
        hex[2 * i] = H[d[i] >> 4];
        hex[2 * i + 1] = H[d[i] & 15];
    }
    hex[128] = '\0';
}

static int r_polo(const unsigned char *m, size_t n, char hex[129])
{
    return polo_sign(g_signer, m, n, hex, 129) == POLO_OK;
}

static int r_md_copy(const unsigned char *m, size_t n, char hex[129])
{
    unsigned char d[64];
    unsigned int dl = 0;
    int ok = EVP_MD_CTX_copy_ex(g_work, g_inner) && EVP_DigestUpdate(g_work, m, n)
             && EVP_DigestFinal_ex(g_work, d, &dl) && EVP_MD_CTX_copy_ex(g_work, g_outer)
             && EVP_DigestUpdate(g_work, d, 64) && EVP_DigestFinal_ex(g_work, d, &dl);
    to_hex(d, hex);
    return ok;
}

static int r_mac_dup(const unsigned char *m, size_t n, char hex[129])
{
    unsigned char d[64];
    size_t dl = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(g_mac);
    int ok = c != NULL && EVP_MAC_update(c, m, n) && EVP_MAC_final(c, d, &dl, sizeof(d));
    EVP_MAC_CTX_free(c);
    to_hex(d, hex);
    return ok;
}

static int r_hmac_copy(const unsigned char *m, size_t n, char hex[129])
{
    unsigned char d[64];
    unsigned int dl = 0;
    int ok = HMAC_CTX_copy(g_hwork, g_hmac) && HMAC_Update(g_hwork, m, n)
             && HMAC_Final(g_hwork, d, &dl);
    to_hex(d, hex);
    return ok;
}

static int r_oneshot(const unsigned char *m, size_t n, char hex[129])
{
    unsigned char d[64];
    unsigned int dl = 0;
    int ok = HMAC(EVP_sha512(), SECRET, (int)strlen(SECRET), m, n, d, &dl) != NULL;
    to_hex(d, hex);
    return ok;
}

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

static double median_route(route_fn f)
{
    double t[BATCHES];
    char hex[129];
    int b, i;
    for (b = 0; b < BATCHES; b++) {
        double t0 = now_ns();
        for (i = 0; i < ITERS; i++) {
            f((const unsigned char *)BODY, sizeof(BODY) - 1, hex);
            sink += (unsigned char)hex[0];
        }
        t[b] = (now_ns() - t0) / ITERS;
    }
    qsort(t, BATCHES, sizeof(double), cmp_double);
    return t[BATCHES / 2];
}

static double median_floor(void)
{
    double t[BATCHES];
    char body[512], hex[129];
    int b, i;
    for (b = 0; b < BATCHES; b++) {
        double t0 = now_ns();
        for (i = 0; i < ITERS; i++) {
            ptrdiff_t n = polo_encode_and_sign(g_signer, FIELDS, sizeof(FIELDS) - 1, NULL, 5,
                                               NONCE, body, sizeof(body), hex, sizeof(hex));
            sink += (unsigned)n + (unsigned char)hex[0];
        }
        t[b] = (now_ns() - t0) / ITERS;
    }
    qsort(t, BATCHES, sizeof(double), cmp_double);
    return t[BATCHES / 2];
}

static void setup(void)
{
    unsigned char k[128], pad[128];
    size_t i, klen = strlen(SECRET);
    OSSL_PARAM params[2];
    EVP_MAC *mac;

    g_signer = polo_signer_new((const unsigned char *)SECRET, klen);
    if (g_signer == NULL)
        die("polo_signer_new");

    memset(k, 0, sizeof(k));
    memcpy(k, SECRET, klen); /* 128 bytes: no pre-hash */
    g_inner = EVP_MD_CTX_new();
    g_outer = EVP_MD_CTX_new();
    g_work = EVP_MD_CTX_new();
    for (i = 0; i < 128; i++)
        pad[i] = (unsigned char)(k[i] ^ 0x36);
    if (!EVP_DigestInit_ex(g_inner, EVP_sha512(), NULL) || !EVP_DigestUpdate(g_inner, pad, 128))
        die("inner state");
    for (i = 0; i < 128; i++)
        pad[i] = (unsigned char)(k[i] ^ 0x5c);
    if (!EVP_DigestInit_ex(g_outer, EVP_sha512(), NULL) || !EVP_DigestUpdate(g_outer, pad, 128))
        die("outer state");

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_mac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA512", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (g_mac == NULL || !EVP_MAC_init(g_mac, (const unsigned char *)SECRET, klen, params))
        die("EVP_MAC");
    EVP_MAC_free(mac);

    g_hmac = HMAC_CTX_new();
    g_hwork = HMAC_CTX_new();
    if (g_hmac == NULL || g_hwork == NULL
        || !HMAC_Init_ex(g_hmac, SECRET, (int)klen, EVP_sha512(), NULL))
        die("HMAC_CTX");
}

int main(void)
{
    static const struct {
        const char *name;
        route_fn f;
    } routes[] = {
        {"sha512-ctx  ", r_polo},    {"md-ctx-copy ", r_md_copy},  {"mac-dup     ", r_mac_dup},
        {"hmac-copy   ", r_hmac_copy}, {"hmac-oneshot", r_oneshot},
    };
    char ref[129], hex[129], body[512];
    size_t r;
    ptrdiff_t n;

    setup();
    n = polo_encode_and_sign(g_signer, FIELDS, sizeof(FIELDS) - 1, NULL, 5, NONCE, body,
                             sizeof(body), ref, sizeof(ref));
    if (n != (ptrdiff_t)(sizeof(BODY) - 1) || memcmp(body, BODY, (size_t)n) != 0)
        die("encode check");
    for (r = 0; r < sizeof(routes) / sizeof(routes[0]); r++) {
        if (!routes[r].f((const unsigned char *)BODY, sizeof(BODY) - 1, hex)
            || strcmp(hex, ref) != 0)
            die(routes[r].name);
    }

    printf("floor_sign: %s, %zu-byte body, median of %d x %d calls\n", polo_route(),
           sizeof(BODY) - 1, BATCHES, ITERS);
    printf("  floor  polo_encode_and_sign (body + sign) %8.1f ns\n", median_floor());
    for (r = 0; r < sizeof(routes) / sizeof(routes[0]); r++)
        printf("  route  %s  HMAC-SHA512 + hex       %8.1f ns\n", routes[r].name,
               median_route(routes[r].f));

    polo_signer_free(g_signer);
    EVP_MD_CTX_free(g_inner);
    EVP_MD_CTX_free(g_outer);
    EVP_MD_CTX_free(g_work);
    EVP_MAC_CTX_free(g_mac);
    HMAC_CTX_free(g_hmac);
    HMAC_CTX_free(g_hwork);
    return 0;
}
