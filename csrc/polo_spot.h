/*
 * polo_spot: the Poloniex Spot API signing route: string to sign + HMAC-SHA256 + base64, and
 * the whole HTTP/1.1 request, in one call (poloniex-spot-api.md §2).
 *
 *   string to sign = METHOD "\n" PATH "\n" PARAMS
 *   PARAMS = "requestBody=" <body bytes as sent> "&signTimestamp=" <ts>     (with a body)
 *          | the parameters and signTimestamp=<ts>, sorted by name, "name=value" joined by "&"
 *            (names and values percent-encoded as RFC 3986: A-Za-z0-9 and -._~ kept, every
 *            other byte %XX upper case; what ccxt 4.5.90 signs: urllib.parse.quote(s, safe=""))
 *            which is just "signTimestamp=<ts>" without parameters (the WebSocket auth string
 *            "GET\n/ws\nsignTimestamp=<ts>" is the no-parameter GET case).
 *
 * The block between the cdef markers can be appended to the cffi cdef as csrc/polo_sign.h's is
 * (every #define value becomes "..."); every symbol starts with polo_spot_ / POLO_SPOT_.
 * C99, OpenSSL 3 libcrypto only.
 *
 * A polo_spot_signer is made once from the secret (the HMAC-SHA256 inner/outer states are
 * precomputed: a 128-byte secret is hashed once, at keying; every copy of the secret and of the
 * padded key is cleansed) and is immutable afterwards: any number of threads may use one signer
 * at the same time. Per-call state lives on the caller's stack (plus one EVP_MD_CTX per call
 * on the EVP route).
 *
 * Arguments common to the calls below:
 *   method      NUL-terminated, exactly "GET", "POST", "PUT" or "DELETE"
 *               (else POLO_SPOT_ERR_METHOD).
 *   path        path[0..path_len): the request path without host and query, already
 *               percent-encoded by the caller; it must start with '/' and hold no byte <= 0x20
 *               (controls, space, NUL), 0x7F, byte >= 0x80, '?' or '#' (else POLO_SPOT_ERR_PATH).
 *   fields, fields_len, lens, n_params
 *               the parameters, all names first, then all values, end to end (as polo_sign):
 *               lens != NULL: lens[0..2*n_params) are the part lengths and add up to fields_len;
 *               lens == NULL: one NUL byte between parts, exactly 2*n_params - 1 NULs.
 *               Sorted by name in C (bytewise, stable; for UTF-8 that is Python's str order);
 *               two equal names give POLO_SPOT_ERR_DUP_NAME, a name "signTimestamp" gives
 *               POLO_SPOT_ERR_TS_NAME, more than POLO_SPOT_MAX_PARAMS POLO_SPOT_ERR_TOO_MANY.
 *   body, body_len, has_body
 *               has_body != 0: body[0..body_len) is the JSON body, signed and sent exactly as
 *               given. A body with GET, with n_params != 0, or empty (body_len 0: on the wire
 *               it is no body, which signs as "signTimestamp=<ts>" alone) is
 *               POLO_SPOT_ERR_BODY.
 *   ts          signTimestamp, ms since the epoch, written in decimal.
 * Errors are reported in this order: ARG, TOO_MANY, ARG/FIELDS (the field layout), METHOD,
 * PATH, BODY, TS_NAME, DUP_NAME, then SPACE (the output does not fit), then CRYPTO. On error
 * the output contents are unspecified, but nothing is written outside out[0..cap).
 */
#ifndef POLO_SPOT_H
#define POLO_SPOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cdef-begin */
/* Length of the base64 HMAC-SHA256 (44 characters with one '=', without a terminating NUL). */
#define POLO_SPOT_SIG_LEN 44
/* The most parameters one call takes (the sort runs on the stack). */
#define POLO_SPOT_MAX_PARAMS 64
/* Return codes: POLO_SPOT_OK (polo_spot_sign) or a length >= 0, else one of these. */
#define POLO_SPOT_OK 0
#define POLO_SPOT_ERR_ARG -1       /* NULL where one is needed, lens that do not add up */
#define POLO_SPOT_ERR_SPACE -2     /* the output buffer is too small */
#define POLO_SPOT_ERR_FIELDS -3    /* NUL-separated fields: the separator count is not 2n-1 */
#define POLO_SPOT_ERR_METHOD -4    /* method is not GET, POST, PUT or DELETE */
#define POLO_SPOT_ERR_PATH -5      /* path does not start with '/' or holds a forbidden byte */
#define POLO_SPOT_ERR_DUP_NAME -6  /* two parameters have the same name */
#define POLO_SPOT_ERR_TS_NAME -7   /* a parameter is named "signTimestamp" (C adds it) */
#define POLO_SPOT_ERR_TOO_MANY -8  /* more than POLO_SPOT_MAX_PARAMS parameters */
#define POLO_SPOT_ERR_BODY -9      /* a body with GET, an empty body, or a body and parameters */
#define POLO_SPOT_ERR_CRYPTO -10   /* libcrypto failed (allocation) */
/* The bytes polo_spot_request writes besides the method, path, query, head, the digits of ts and
 * of the body length, and the body: " HTTP/1.1\r\n" (11), "?" (1), "signTimestamp: " and "\r\n"
 * (17), "signature: " <44> "\r\n" (57), "Content-Type: application/json\r\n" (32),
 * "Content-Length: " and "\r\n" (18), "\r\n" (2). */
#define POLO_SPOT_REQUEST_FIXED 138

typedef struct polo_spot_signer polo_spot_signer;

/* A signer keyed with secret[0..secret_len) (the bytes are the HMAC key, as given: the API
 * secret string). The caller may wipe the secret afterwards. Returns NULL if secret is NULL,
 * secret_len is 0, or memory/libcrypto fails. */
polo_spot_signer *polo_spot_signer_new(const unsigned char *secret, size_t secret_len);

/* Cleanse and free a signer (NULL is fine). */
void polo_spot_signer_free(polo_spot_signer *signer);

/* The HMAC route compiled in: "sha256-ctx" (precomputed SHA256_CTX states) or "evp-md-ctx"
 * (precomputed EVP_MD_CTX states, for libcrypto built without 3.0 deprecated APIs; chosen with
 * -DPOLO_SIGN_USE_EVP or -DPOLO_SPOT_USE_EVP). */
const char *polo_spot_route(void);

/* Write the string to sign to out[0..out_cap) (not NUL-terminated). Needs no signer (for tests
 * and for the Python reference). Returns its length (>= 0) or a negative POLO_SPOT_ERR_*. */
ptrdiff_t polo_spot_string_to_sign(const char *method, const char *path, size_t path_len,
                                   const char *fields, size_t fields_len, const size_t *lens,
                                   size_t n_params, const char *body, size_t body_len,
                                   int has_body, uint64_t ts, char *out, size_t out_cap);

/* Write the 44 base64 characters of HMAC-SHA256(string to sign) to b64_out (plus a NUL when
 * b64_cap > 44). Returns POLO_SPOT_OK or a negative POLO_SPOT_ERR_* (POLO_SPOT_ERR_SPACE when
 * b64_cap < 44). The string to sign is streamed into the hash, never stored. */
int polo_spot_sign(const polo_spot_signer *signer, const char *method, const char *path,
                   size_t path_len, const char *fields, size_t fields_len, const size_t *lens,
                   size_t n_params, const char *body, size_t body_len, int has_body,
                   uint64_t ts, char *b64_out, size_t b64_cap);

/* The whole HTTP/1.1 request, for a keep-alive lane, in one call. Writes to out[0..out_cap):
 *   METHOD " " PATH ["?" QUERY] " HTTP/1.1\r\n"
 *   head[0..head_len)                      (prebuilt constant lines, e.g. "Host: api.poloniex.com
 *                                           \r\nkey: <api key>\r\n", copied as given)
 *   "signTimestamp: " <ts> "\r\n"
 *   "signature: " <44 base64> "\r\n"
 *   ["Content-Type: application/json\r\nContent-Length: " <body_len> "\r\n"]   (with a body)
 *   ["Content-Length: 0\r\n"]              (a POST or PUT without a body)
 *   "\r\n"
 *   [body]
 * QUERY is the sorted, percent-encoded parameters without signTimestamp ("?" only when
 * n_params > 0). Returns the request length (>= 0; not NUL-terminated) or a negative
 * POLO_SPOT_ERR_*; out_cap >= polo_spot_request_bound(...) always fits. */
ptrdiff_t polo_spot_request(const polo_spot_signer *signer, const char *method,
                            const char *path, size_t path_len, const char *head,
                            size_t head_len, const char *fields, size_t fields_len,
                            const size_t *lens, size_t n_params, const char *body,
                            size_t body_len, int has_body, uint64_t ts, char *out,
                            size_t out_cap);

/* An out_cap that always fits polo_spot_request for these lengths (SIZE_MAX on overflow):
 * 6 + path_len + 3 * fields_len + 2 * n_params + head_len + body_len + POLO_SPOT_REQUEST_FIXED
 * + 40 (the digits of ts and of the body length). */
size_t polo_spot_request_bound(size_t path_len, size_t head_len, size_t fields_len,
                               size_t n_params, size_t body_len);
/* cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* POLO_SPOT_H */
