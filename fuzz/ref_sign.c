/*
 * ref_sign.c: the plain reference for csrc/polo_sign.c (a quote_plus encoder written from the
 * Python docs, OpenSSL's one-shot HMAC()), shared by fuzz/sign_check.c (make asan, make
 * valgrind) and fuzz/fuzz_c_sign.c (make fuzz-c); #included by both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* urllib.parse.quote_plus(safe=''): A-Za-z0-9 and _.-~ kept, space '+', else %XX. */
static size_t ref_encode_part(const unsigned char *p, size_t n, char *o)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c != 0 && strchr(safe, c) != NULL) {
            o[k++] = (char)c;
        } else if (c == ' ') {
            o[k++] = '+';
        } else {
            k += (size_t)sprintf(o + k, "%%%02X", c);
        }
    }
    return k;
}

static void ref_hmac_hex(const unsigned char *key, size_t key_len, const char *msg,
                         size_t msg_len, char hex[129])
{
    unsigned char d[64];
    unsigned int n = 0;
    size_t i;

    if (HMAC(EVP_sha512(), key, (int)key_len, (const unsigned char *)msg, msg_len, d, &n)
        == NULL || n != 64) {
        fprintf(stderr, "reference HMAC failed\n");
        exit(2);
    }
    for (i = 0; i < 64; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}
