/*
 * spot_stdin: one polo_spot call set from stdin, for tests/test_spot_c.py (until the Python
 * binding exists). Reads length-prefixed items, each "<decimal length>:<bytes>":
 *   secret, method, path, head, body, has_body ("0"/"1"), ts (decimal), n, then 2n parts
 *   (names, then values; passed with a lens array)
 * and writes
 *   "rc <string_to_sign rc> <sign rc> <request rc>\n"
 *   then, when all three succeeded: "<len>:<string to sign>" "<44 base64>" "<len>:<request>".
 */
#include "polo_spot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS (8 + 2 * (POLO_SPOT_MAX_PARAMS + 4))

static char *input;
static size_t input_len, pos;

/* The next item; exits 2 on malformed input. */
static const char *item(size_t *len)
{
    size_t n = 0;
    const char *start;

    while (pos < input_len && input[pos] >= '0' && input[pos] <= '9')
        n = n * 10 + (size_t)(input[pos++] - '0');
    if (pos >= input_len || input[pos] != ':' || n > input_len - pos - 1) {
        fprintf(stderr, "spot_stdin: malformed input at byte %zu\n", pos);
        exit(2);
    }
    start = input + pos + 1;
    pos += n + 1;
    *len = n;
    return start;
}

static unsigned long long number(void)
{
    size_t len, i;
    const char *p = item(&len);
    unsigned long long v = 0;

    for (i = 0; i < len; i++)
        v = v * 10 + (unsigned long long)(p[i] - '0');
    return v;
}

int main(void)
{
    static size_t lens[2 * (POLO_SPOT_MAX_PARAMS + 4)];
    size_t cap = 1 << 16, secret_len, method_len, path_len, head_len, body_len, n, i, fields_len;
    const char *secret, *method_in, *path, *head, *body;
    char method[16], sig[POLO_SPOT_SIG_LEN + 1], *fields, *sts, *req;
    unsigned long long ts;
    ptrdiff_t sts_rc, req_rc;
    polo_spot_signer *s;
    int has_body, sign_rc;

    input = (char *)malloc(cap);
    while (input != NULL && (n = fread(input + input_len, 1, cap - input_len, stdin)) > 0) {
        input_len += n;
        if (input_len == cap)
            input = (char *)realloc(input, cap *= 2);
    }
    if (input == NULL)
        return 2;
    secret = item(&secret_len);
    method_in = item(&method_len);
    path = item(&path_len);
    head = item(&head_len);
    body = item(&body_len);
    has_body = number() != 0;
    ts = number();
    n = (size_t)number();
    if (method_len >= sizeof(method) || n > POLO_SPOT_MAX_PARAMS + 4)
        return 2;
    memcpy(method, method_in, method_len);
    method[method_len] = 0;
    fields = (char *)input + pos; /* the parts are contiguous once the prefixes are dropped */
    fields_len = 0;
    for (i = 0; i < 2 * n; i++) {
        const char *p = item(&lens[i]);
        memmove(fields + fields_len, p, lens[i]);
        fields_len += lens[i];
    }

    s = polo_spot_signer_new((const unsigned char *)secret, secret_len);
    sts = (char *)malloc(body_len + 6 * fields_len + path_len + 128);
    cap = polo_spot_request_bound(path_len, head_len, fields_len, n, body_len);
    req = (char *)malloc(cap);
    if (s == NULL || sts == NULL || req == NULL)
        return 2;
    sts_rc = polo_spot_string_to_sign(method, path, path_len, fields, fields_len, lens, n, body,
                                      body_len, has_body, ts, sts, body_len + 6 * fields_len
                                                                        + path_len + 128);
    sign_rc = polo_spot_sign(s, method, path, path_len, fields, fields_len, lens, n, body,
                             body_len, has_body, ts, sig, sizeof(sig));
    req_rc = polo_spot_request(s, method, path, path_len, head, head_len, fields, fields_len, lens,
                               n, body, body_len, has_body, ts, req, cap);
    printf("rc %td %d %td\n", sts_rc, sign_rc, req_rc);
    if (sts_rc >= 0 && sign_rc == POLO_SPOT_OK && req_rc >= 0) {
        printf("%td:", sts_rc);
        fwrite(sts, 1, (size_t)sts_rc, stdout);
        fwrite(sig, 1, POLO_SPOT_SIG_LEN, stdout);
        printf("%td:", req_rc);
        fwrite(req, 1, (size_t)req_rc, stdout);
    }
    polo_spot_signer_free(s);
    free(sts);
    free(req);
    free(input);
    return 0;
}
