/*
 * fuzz_replay: a main() for the libFuzzer targets (fuzz/fuzz_c_sign.c, fuzz/fuzz_c_spot.c) that
 * needs no clang: it feeds every file named on the command line, or found (one level) in a
 * directory named there, to LLVMFuzzerTestOneInput once, in name order. A target abort()s on a
 * mismatch, so the exit status is 0 only when every input passed. Built with gcc -std=c99 by
 * tests/test_fuzz_c_corpus.py:
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Icsrc fuzz/fuzz_replay.c fuzz/fuzz_c_spot.c \
 *      csrc/polo_spot.c -lcrypto && ./a.out tests/fuzz_corpus_c/spot
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        return 1;
    }
    buf = (unsigned char *)malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    free(buf);
    replayed++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int bad = 0;

    if (d == NULL) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        struct stat st;
        char *path;
        if (e->d_name[0] == '.')
            continue;
        path = (char *)malloc(len);
        if (path == NULL)
            exit(2);
        snprintf(path, len, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            char **grown = (char **)realloc(names, (cap = cap ? 2 * cap : 256) * sizeof(*names));
            if (grown == NULL)
                exit(2);
            names = grown;
        }
        names[n++] = path;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (i = 0; i < n; i++) {
        bad |= replay_file(names[i]);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int i, bad = 0;
    struct stat st;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            bad |= replay_dir(argv[i]);
        else
            bad |= replay_file(argv[i]);
    }
    printf("fuzz_replay: %lu inputs replayed\n", replayed);
    return bad || replayed == 0;
}
