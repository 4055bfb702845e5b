/* A test driver for box_rows.c (tests/unit/scoring/test_box_rows.py): for each file named, what the library made
 * of it: its layout version and its columns' sizes and a hash of their exact bits, or its reason and place to
 * decline. Built for this machine and for Lambda's aarch64, so the two builds can be compared on the same rows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct br_row br_row;
br_row *br_read(const char *data, size_t size, int *reason, size_t *where);
void br_sizes(const br_row *r, int64_t out[5]);
void br_copy(const br_row *r, int64_t *units, int64_t *runs, double *boxes, int32_t *ids, int64_t *objects,
             int64_t *classes);
void br_free(br_row *r);
int br_version(void);

static uint64_t mix(uint64_t h, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void one(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("%s: cannot open\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    int reason;
    size_t where;
    br_row *r = br_read(data, got, &reason, &where);
    if (!r) {
        printf("%s: declined %d at %zu\n", path, reason, where);
        free(data);
        return;
    }
    int64_t s[5];
    br_sizes(r, s);
    size_t sizes[6] = {48 * s[0], 16 * s[1], 32 * s[2], 4 * s[2], 32 * s[3], 24 * s[4]};
    void *out[6];
    for (int i = 0; i < 6; i++) out[i] = malloc(sizes[i] + 1);
    br_copy(r, out[0], out[1], out[2], out[3], out[4], out[5]);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 6; i++) {
        h = mix(h, out[i], sizes[i]);
        free(out[i]);
    }
    printf("%s: layout %d, %lld units, %lld runs, %lld boxes, %lld objects, %lld classifications, bits %016llx\n", path,
           br_version(), (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3], (long long)s[4],
           (unsigned long long)h);
    br_free(r);
    free(data);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) one(argv[i]);
    return 0;
}
