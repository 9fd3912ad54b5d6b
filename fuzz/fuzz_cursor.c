/*
 * fuzz_cursor.c: reading a libFuzzer input front to back, shared by fuzz/fuzz_c_sign.c and
 * fuzz/fuzz_c_spot.c (#included). Past the end every byte reads as 0 and every run as empty.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    size_t left;
} cursor;

static size_t take_byte(cursor *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

/* The next n bytes (fewer at the end of the input); *got says how many. */
static const uint8_t *take_bytes(cursor *c, size_t n, size_t *got)
{
    const uint8_t *start = c->p;

    *got = n < c->left ? n : c->left;
    c->p += *got;
    c->left -= *got;
    return start;
}

/* A little-endian uint64 from the next 8 bytes. */
static uint64_t take_u64(cursor *c)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v |= (uint64_t)take_byte(c) << (8 * i);
    return v;
}
