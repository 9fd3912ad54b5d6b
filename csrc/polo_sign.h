/*
 * polo_sign: form-encode + HMAC-SHA512 + hex for the legacy Poloniex API, in one call.
 *
 * The block between the cdef markers is also the cffi cdef (polo_fast/_ffi_build.py reads
 * it and turns every #define value into "..." so the compiler supplies the numbers).
 * Everything is C99; the only dependency is OpenSSL 3 libcrypto.
 *
 * A polo_signer is made once from the secret (HMAC-SHA512 inner/outer states precomputed,
 * every copy of the secret cleansed) and is immutable afterwards: any number of threads may
 * call polo_sign / polo_encode_and_sign on one signer at the same time. Per-call state lives
 * on the caller's stack.
 */
#ifndef POLO_SIGN_H
#define POLO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cdef-begin */
/* Length of the lower-case hex HMAC-SHA512 (without a terminating NUL). */
#define POLO_SIGN_HEX_LEN 128
/* Return codes (polo_sign returns POLO_OK; polo_encode_and_sign the body length >= 0). */
#define POLO_OK 0
#define POLO_ERR_ARG -1        /* NULL pointer where one is needed, lengths that do not add up */
#define POLO_ERR_BODY_SPACE -2 /* the body buffer is too small for the encoded body */
#define POLO_ERR_SIGN_SPACE -3 /* the sign buffer holds fewer than POLO_SIGN_HEX_LEN bytes */
#define POLO_ERR_FIELDS -4     /* NUL-separated fields: the separator count is not 2n-1 */
#define POLO_ERR_NONCE_NAME -5 /* a parameter is named "nonce" (the signer appends it) */
#define POLO_ERR_CRYPTO -6     /* libcrypto failed (allocation) */

/* The body bound: every byte %XX (3 per byte), '=' and '&' per field (2), then "nonce=" and
 * at most POLO_LEN_DIGITS digits (26). Python reads these three, never repeats them. */
#define POLO_BODY_PER_BYTE 3
#define POLO_BODY_PER_FIELD 2
#define POLO_BODY_TAIL 26
/* The most decimal digits of a uint64 (a nonce, a body length). */
#define POLO_LEN_DIGITS 20
/* Bytes of polo_out's body area. */
#define POLO_OUT_BODY_CAP 4096

typedef struct polo_signer polo_signer;

/* A signer keyed with secret[0..secret_len) (the bytes are the HMAC key, as given).
 * The secret may be wiped by the caller afterwards. Returns NULL if secret is NULL,
 * secret_len is 0, or memory/libcrypto fails. */
polo_signer *polo_signer_new(const unsigned char *secret, size_t secret_len);

/* Cleanse and free a signer (NULL is fine). */
void polo_signer_free(polo_signer *signer);

/* The HMAC route compiled in: "sha512-ctx" (precomputed SHA512_CTX states) or
 * "evp-md-ctx" (precomputed EVP_MD_CTX states, for libcrypto built without 3.0
 * deprecated APIs). */
const char *polo_route(void);

/* Write the 128 lower-case hex characters of HMAC-SHA512(msg) to hex_out (plus a NUL when
 * hex_cap > 128). msg may be NULL when msg_len is 0. Returns POLO_OK or a POLO_ERR_*. */
int polo_sign(const polo_signer *signer, const unsigned char *msg, size_t msg_len,
              char *hex_out, size_t hex_cap);

/* Build the application/x-www-form-urlencoded body for n_fields (name, value) pairs
 * followed by nonce=<nonce>, byte-identical to Python's urllib.parse.urlencode (quote_plus:
 * A-Za-z0-9 and _.-~ kept, space -> '+', every other byte %XX upper case), write it to
 * body[0..body_cap) and the hex HMAC-SHA512 of exactly those bytes to hex_out, in one call.
 *
 * The 2*n_fields parts, all the names first, then all the values (name0, ..., name[n-1],
 * value0, ..., value[n-1]), are laid end to end in fields[0..fields_len) as UTF-8 (or any)
 * bytes:
 *   - lens != NULL: lens[0..2*n_fields) are the part lengths, in the same order, and must
 *     add up to fields_len (else POLO_ERR_ARG);
 *   - lens == NULL: the parts are separated by one NUL byte each, and fields must hold
 *     exactly 2*n_fields - 1 NULs (else POLO_ERR_FIELDS: a part contains a NUL; use lens).
 * Python builds the NUL form with one join: "\0".join([*names, *values]).encode().
 * A body never needs more than POLO_BODY_PER_BYTE * fields_len + POLO_BODY_PER_FIELD *
 * n_fields + POLO_BODY_TAIL bytes (3 * fields_len + 2 * n_fields + 26).
 *
 * Returns the body length (>= 0; not NUL-terminated) or a negative POLO_ERR_*. On error the
 * contents of body and hex_out are unspecified, but nothing is written outside
 * body[0..body_cap) and hex_out[0..hex_cap). */
ptrdiff_t polo_encode_and_sign(const polo_signer *signer, const char *fields, size_t fields_len,
                               const size_t *lens, size_t n_fields, uint64_t nonce,
                               char *body, size_t body_cap, char *hex_out, size_t hex_cap);

/* A reusable output area for polo_encode_and_sign_out: the hex Sign, then the body.
 * Python keeps a pool of them; bodies that do not fit take polo_encode_and_sign. */
typedef struct polo_out {
    char hex[POLO_SIGN_HEX_LEN];   /* not NUL-terminated */
    char body[POLO_OUT_BODY_CAP]; /* the body, not NUL-terminated */
} polo_out;

/* polo_encode_and_sign with out->body / out->hex as the buffers (6 arguments instead of
 * 10: the per-call conversion cost in Python is per argument). Same fields layout, same
 * return values; POLO_ERR_BODY_SPACE when the body does not fit in out->body. */
ptrdiff_t polo_encode_and_sign_out(const polo_signer *signer, const char *fields,
                                   size_t fields_len, size_t n_fields, uint64_t nonce,
                                   polo_out *out);
/* The bytes polo_sign_request puts between the head and the body, besides the digits of
 * the body length: "\r\nSign: " (8), the hex Sign, "\r\n\r\n" (4). */
#define POLO_REQUEST_FIXED 140

/* A complete HTTP/1.1 request in one call, for a keep-alive connection: writes
 *   head[0..head_len)               (the prebuilt request head, ending in "Content-Length: ")
 *   <body length in decimal>
 *   "\r\nSign: " <128 lower-case hex HMAC-SHA512 of the body> "\r\n\r\n"
 *   <body>                           (exactly as polo_encode_and_sign writes it)
 * to out[0..out_cap). fields / fields_len / n_fields / nonce: as polo_encode_and_sign with
 * lens == NULL (NUL-separated parts, names first). The head is copied as given.
 *
 * Returns the request length (>= 0; not NUL-terminated) or a negative POLO_ERR_*:
 * POLO_ERR_BODY_SPACE when the request does not fit (head_len + POLO_LEN_DIGITS +
 * POLO_REQUEST_FIXED + the body bound of polo_encode_and_sign always fits), POLO_ERR_ARG,
 * POLO_ERR_FIELDS, POLO_ERR_NONCE_NAME, POLO_ERR_CRYPTO as there. On error the contents of out are
 * unspecified, but nothing is written outside out[0..out_cap). */
ptrdiff_t polo_sign_request(const polo_signer *signer, const char *head, size_t head_len,
                            const char *fields, size_t fields_len, size_t n_fields,
                            uint64_t nonce, char *out, size_t out_cap);
/* cdef-end */

#ifdef __cplusplus
}
#endif

#endif /* POLO_SIGN_H */
