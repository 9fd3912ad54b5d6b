/*
 * polo_sign.c: see polo_sign.h for the API.
 *
 * HMAC-SHA512 (RFC 2104) from precomputed states: at creation the key block XOR ipad and
 * XOR opad are absorbed once into two SHA-512 states; each message then costs one struct
 * copy per state plus the SHA-512 compressions of the message and of the 64-byte inner
 * digest. Measured against the other OpenSSL 3 routes (EVP_MAC_CTX_dup, HMAC_CTX_copy,
 * EVP_MD_CTX_copy_ex, one-shot HMAC()) this is the fastest; the figures are in
 * benchmarks/README.md. The low-level SHA512_* functions are deprecated (not removed) in
 * OpenSSL 3.0; when libcrypto is built without them (OPENSSL_NO_DEPRECATED_3_0) or
 * POLO_SIGN_USE_EVP is defined, the EVP_MD_CTX_copy_ex route is compiled instead.
 */
#if !defined(POLO_SIGN_USE_EVP)
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif

#include "polo_sign.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(POLO_SIGN_USE_EVP)
#define POLO_SIGN_USE_EVP 1
#endif

#define BLOCK 128  /* SHA-512 block size */
#define DIGEST 64  /* SHA-512 digest size */

struct polo_signer {
#ifdef POLO_SIGN_USE_EVP
    EVP_MD_CTX *inner;
    EVP_MD_CTX *outer;
#else
    SHA512_CTX inner;
    SHA512_CTX outer;
#endif
};

/* 0: %XX, 1: kept as is, 2: space -> '+' (urllib.parse.quote_plus with safe='') */
static const unsigned char KIND[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* POLO_REQUEST_FIXED (polo_sign.h) is "\r\nSign: " + the hex Sign + "\r\n\r\n". */
typedef char polo_request_fixed_is_right[POLO_REQUEST_FIXED == 8 + POLO_SIGN_HEX_LEN + 4 ? 1 : -1];

static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char HEX_LOWER[] = "0123456789abcdef";

/* ---------------------------------------------------------------- HMAC states */

static void key_block(const unsigned char *secret, size_t secret_len, unsigned char k[BLOCK],
                      int *ok)
{
    memset(k, 0, BLOCK);
    if (secret_len > BLOCK) {
        unsigned int n = 0;
        *ok = EVP_Digest(secret, secret_len, k, &n, EVP_sha512(), NULL) == 1 && n == DIGEST;
    } else {
        memcpy(k, secret, secret_len);
        *ok = 1;
    }
}

polo_signer *polo_signer_new(const unsigned char *secret, size_t secret_len)
{
    unsigned char k[BLOCK], pad[BLOCK];
    polo_signer *s;
    int ok = 0;
    size_t i;

    if (secret == NULL || secret_len == 0)
        return NULL;
    s = (polo_signer *)OPENSSL_zalloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    key_block(secret, secret_len, k, &ok);
#ifdef POLO_SIGN_USE_EVP
    s->inner = EVP_MD_CTX_new();
    s->outer = EVP_MD_CTX_new();
    if (ok && s->inner != NULL && s->outer != NULL) {
        for (i = 0; i < BLOCK; i++)
            pad[i] = (unsigned char)(k[i] ^ 0x36);
        ok = EVP_DigestInit_ex(s->inner, EVP_sha512(), NULL) == 1
             && EVP_DigestUpdate(s->inner, pad, BLOCK) == 1;
        for (i = 0; i < BLOCK; i++)
            pad[i] = (unsigned char)(k[i] ^ 0x5c);
        ok = ok && EVP_DigestInit_ex(s->outer, EVP_sha512(), NULL) == 1
             && EVP_DigestUpdate(s->outer, pad, BLOCK) == 1;
    } else {
        ok = 0;
    }
#else
    if (ok) {
        for (i = 0; i < BLOCK; i++)
            pad[i] = (unsigned char)(k[i] ^ 0x36);
        ok = SHA512_Init(&s->inner) == 1 && SHA512_Update(&s->inner, pad, BLOCK) == 1;
        for (i = 0; i < BLOCK; i++)
            pad[i] = (unsigned char)(k[i] ^ 0x5c);
        ok = ok && SHA512_Init(&s->outer) == 1 && SHA512_Update(&s->outer, pad, BLOCK) == 1;
    }
#endif
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    if (!ok) {
        polo_signer_free(s);
        return NULL;
    }
    return s;
}

void polo_signer_free(polo_signer *s)
{
    if (s == NULL)
        return;
#ifdef POLO_SIGN_USE_EVP
    EVP_MD_CTX_free(s->inner); /* EVP_MD_CTX_free cleanses the digest state */
    EVP_MD_CTX_free(s->outer);
#endif
    OPENSSL_clear_free(s, sizeof(*s));
}

const char *polo_route(void)
{
#ifdef POLO_SIGN_USE_EVP
    return "evp-md-ctx";
#else
    return "sha512-ctx";
#endif
}

/* HMAC-SHA512(msg) as 128 lower-case hex characters at hex (no NUL). */
static int hmac_hex(const polo_signer *s, const unsigned char *msg, size_t len, char *hex)
{
    unsigned char d[DIGEST];
    size_t i;
#ifdef POLO_SIGN_USE_EVP
    unsigned int n = 0;
    int ok;
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    if (c == NULL)
        return POLO_ERR_CRYPTO;
    ok = EVP_MD_CTX_copy_ex(c, s->inner) == 1 && EVP_DigestUpdate(c, msg, len) == 1
         && EVP_DigestFinal_ex(c, d, &n) == 1 && EVP_MD_CTX_copy_ex(c, s->outer) == 1
         && EVP_DigestUpdate(c, d, DIGEST) == 1 && EVP_DigestFinal_ex(c, d, &n) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return POLO_ERR_CRYPTO;
#else
    SHA512_CTX c = s->inner;

    SHA512_Update(&c, msg, len);
    SHA512_Final(d, &c);
    c = s->outer;
    SHA512_Update(&c, d, DIGEST);
    SHA512_Final(d, &c);
    OPENSSL_cleanse(&c, sizeof(c)); /* the copy carries key-derived state */
#endif
    for (i = 0; i < DIGEST; i++) {
        hex[2 * i] = HEX_LOWER[d[i] >> 4];
        hex[2 * i + 1] = HEX_LOWER[d[i] & 15];
    }
    return POLO_OK;
}

int polo_sign(const polo_signer *s, const unsigned char *msg, size_t msg_len, char *hex_out,
              size_t hex_cap)
{
    int rc;

    if (s == NULL || hex_out == NULL || (msg == NULL && msg_len != 0))
        return POLO_ERR_ARG;
    if (hex_cap < POLO_SIGN_HEX_LEN)
        return POLO_ERR_SIGN_SPACE;
    if (msg == NULL)
        msg = (const unsigned char *)"";
    rc = hmac_hex(s, msg, msg_len, hex_out);
    if (rc == POLO_OK && hex_cap > POLO_SIGN_HEX_LEN)
        hex_out[POLO_SIGN_HEX_LEN] = '\0';
    return rc;
}

/* ---------------------------------------------------------------- form encoding */

/* Walks the 2n parts of polo_encode_and_sign's field buffer. */
typedef struct {
    const unsigned char *p;   /* next part */
    const unsigned char *end; /* end of the buffer */
    const size_t *lens;       /* NULL: NUL-separated */
    size_t i;                 /* index of the next part */
} parts;

static size_t next_part(parts *it, const unsigned char **start)
{
    size_t n;

    *start = it->p;
    if (it->lens != NULL) {
        n = it->lens[it->i];
        it->p += n;
    } else {
        const unsigned char *z = (const unsigned char *)memchr(it->p, 0, (size_t)(it->end - it->p));
        n = z != NULL ? (size_t)(z - it->p) : (size_t)(it->end - it->p);
        it->p += n + (z != NULL);
    }
    it->i++;
    return n;
}

static size_t quoted_len(const unsigned char *p, size_t n)
{
    size_t out = n, i;

    for (i = 0; i < n; i++)
        out += KIND[p[i]] == 0 ? 2 : 0;
    return out;
}

static char *quote(char *o, const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (KIND[c]) {
        case 1:
            *o++ = (char)c;
            break;
        case 2:
            *o++ = '+';
            break;
        default:
            o[0] = '%';
            o[1] = HEX_UPPER[c >> 4];
            o[2] = HEX_UPPER[c & 15];
            o += 3;
        }
    }
    return o;
}

/* Decimal digits of v into buf (at least 20 bytes); returns the count, digits at the end. */
static size_t u64_digits(uint64_t v, char buf[20])
{
    size_t n = 0;

    do {
        buf[19 - n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    return n;
}

ptrdiff_t polo_encode_and_sign(const polo_signer *s, const char *fields, size_t fields_len,
                               const size_t *lens, size_t n_fields, uint64_t nonce, char *body,
                               size_t body_cap, char *hex_out, size_t hex_cap)
{
    const unsigned char *data = (const unsigned char *)fields;
    const unsigned char *vstart; /* first value */
    char digits[20];
    size_t n_digits = u64_digits(nonce, digits);
    size_t tail = 6 + n_digits; /* "nonce=" + digits */
    size_t n_parts, i, need, bound;
    parts names, values;
    char *o;
    int rc;

    if (s == NULL || body == NULL || hex_out == NULL || (data == NULL && fields_len != 0))
        return POLO_ERR_ARG;
    if (hex_cap < POLO_SIGN_HEX_LEN)
        return POLO_ERR_SIGN_SPACE;
    if (n_fields > SIZE_MAX / 8)
        return POLO_ERR_ARG;
    if (data == NULL)
        data = (const unsigned char *)"";
    if (body_cap > (size_t)PTRDIFF_MAX)
        body_cap = (size_t)PTRDIFF_MAX;
    n_parts = 2 * n_fields;
    vstart = data;

    if (lens != NULL) {
        size_t sum = 0;
        for (i = 0; i < n_parts; i++) {
            if (i == n_fields)
                vstart = data + sum;
            if (lens[i] > fields_len - sum)
                return POLO_ERR_ARG;
            sum += lens[i];
        }
        if (sum != fields_len)
            return POLO_ERR_ARG;
    } else {
        size_t seps = 0;
        const unsigned char *p = data, *end = data + fields_len, *z;
        while (p < end && (z = (const unsigned char *)memchr(p, 0, (size_t)(end - p))) != NULL) {
            seps++;
            p = z + 1;
            if (seps == n_fields)
                vstart = p;
        }
        if (n_fields == 0 ? fields_len != 0 : seps != n_parts - 1)
            return POLO_ERR_FIELDS;
    }

    /* Worst case: every byte %XX, plus '=' and '&' per field, plus "nonce=" and digits. */
    bound = fields_len <= (SIZE_MAX - n_parts - tail) / 3 ? 3 * fields_len + n_parts + tail
                                                         : SIZE_MAX;
    names.p = data;
    names.end = vstart;
    names.lens = lens;
    names.i = 0;
    values.p = vstart;
    values.end = data + fields_len;
    values.lens = lens != NULL ? lens + n_fields : NULL;
    values.i = 0;
    if (bound > body_cap) { /* exact size, then check */
        const unsigned char *start;
        need = tail;
        for (i = 0; i < n_parts; i++) {
            size_t n = next_part(i < n_fields ? &names : &values, &start);
            size_t q = quoted_len(start, n);
            /* each part is followed by one byte: '=' after a name, '&' after a value */
            if (q >= body_cap || need > body_cap - q - 1)
                return POLO_ERR_BODY_SPACE;
            need += q + 1;
        }
        if (need > body_cap)
            return POLO_ERR_BODY_SPACE;
        names.p = data;
        names.i = 0;
        values.p = vstart;
        values.i = 0;
    }

    o = body;
    for (i = 0; i < n_fields; i++) {
        const unsigned char *name, *value;
        size_t nn = next_part(&names, &name);
        size_t vn = next_part(&values, &value);
        if (nn == 5 && memcmp(name, "nonce", 5) == 0)
            return POLO_ERR_NONCE_NAME;
        o = quote(o, name, nn);
        *o++ = '=';
        o = quote(o, value, vn);
        *o++ = '&';
    }
    memcpy(o, "nonce=", 6);
    o += 6;
    memcpy(o, digits + 20 - n_digits, n_digits);
    o += n_digits;

    rc = hmac_hex(s, (const unsigned char *)body, (size_t)(o - body), hex_out);
    if (rc != POLO_OK)
        return rc;
    if (hex_cap > POLO_SIGN_HEX_LEN)
        hex_out[POLO_SIGN_HEX_LEN] = '\0';
    return (ptrdiff_t)(o - body);
}

ptrdiff_t polo_encode_and_sign_out(const polo_signer *s, const char *fields, size_t fields_len,
                                   size_t n_fields, uint64_t nonce, polo_out *out)
{
    if (out == NULL)
        return POLO_ERR_ARG;
    return polo_encode_and_sign(s, fields, fields_len, NULL, n_fields, nonce, out->body,
                                sizeof(out->body), out->hex, sizeof(out->hex));
}

ptrdiff_t polo_sign_request(const polo_signer *s, const char *head, size_t head_len,
                            const char *fields, size_t fields_len, size_t n_fields,
                            uint64_t nonce, char *out, size_t out_cap)
{
    /* The body is first written behind the longest possible prefix (head, 20 digits, the
     * fixed lines), then moved down once its length, hence its digit count, is known. */
    char hex[POLO_SIGN_HEX_LEN];
    char digits[20];
    size_t n_digits, room, at;
    ptrdiff_t body_len;

    if (s == NULL || out == NULL || (head == NULL && head_len != 0))
        return POLO_ERR_ARG;
    if (out_cap > (size_t)PTRDIFF_MAX)
        out_cap = (size_t)PTRDIFF_MAX;
    if (head_len > out_cap || out_cap - head_len < POLO_LEN_DIGITS + POLO_REQUEST_FIXED)
        return POLO_ERR_BODY_SPACE;
    room = head_len + POLO_LEN_DIGITS + POLO_REQUEST_FIXED;
    body_len = polo_encode_and_sign(s, fields, fields_len, NULL, n_fields, nonce, out + room,
                                    out_cap - room, hex, sizeof(hex));
    if (body_len < 0)
        return body_len;
    n_digits = u64_digits((uint64_t)body_len, digits);
    at = head_len + n_digits + POLO_REQUEST_FIXED; /* <= room */
    memmove(out + at, out + room, (size_t)body_len);
    if (head_len != 0)
        memcpy(out, head, head_len);
    memcpy(out + head_len, digits + 20 - n_digits, n_digits);
    memcpy(out + head_len + n_digits, "\r\nSign: ", 8);
    memcpy(out + head_len + n_digits + 8, hex, POLO_SIGN_HEX_LEN);
    memcpy(out + at - 4, "\r\n\r\n", 4);
    return (ptrdiff_t)(at + (size_t)body_len);
}
