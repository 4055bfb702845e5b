/* The box-row reader: one pass over a label row's JSON bytes that, for a frame-keyed row whose every frame object
 * is a plain bounding box, returns the columns the scoring engine uses (frame runs, x y w h, object ids, each
 * object's objectHash/featureHash spans and each frame classification's classificationHash span) without
 * building a Python object per box. Plain C with no Python API, loaded with ctypes (box_rows.py): one library
 * per CPU architecture.
 *
 * It validates the whole document as strict JSON and declines (returns NULL with a reason) on anything it does
 * not read with certainty; the caller then reads the row with msgspec/orjson exactly as before. Declining is
 * always safe, so every rule here errs towards it. */

#define _GNU_SOURCE
#include <float.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Eight bytes are read as one little-endian word (strings, digits): x86-64 and arm64 are both little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "box_rows.c reads bytes eight at a time as little-endian words"
#endif

enum {
    BR_OK = 0,
    BR_MALFORMED = 1,      /* not JSON (or not UTF-8) */
    BR_DEPTH = 2,          /* nested deeper than MAX_DEPTH */
    BR_ESCAPE = 3,         /* a backslash escape in a key or string this reader interprets */
    BR_DUPLICATE = 4,      /* a repeated key among those it reads, a repeated data unit or frame number */
    BR_NUMBER = 5,         /* a number outside the ranges converted exactly the same way by every reader */
    BR_SHAPE = 6,          /* an object that is not a plain bounding box */
    BR_CLASSIFICATION = 7, /* a frame classification that is not an object with a plain classificationHash */
    BR_MISSING = 8,        /* a field it needs is absent */
    BR_FRAME_KEY = 9,      /* a labels key that may or may not be a frame number to Python's int() */
    BR_TYPE = 10,          /* a field it reads holds another JSON type */
    BR_MEMORY = 11,
    BR_LIMIT = 12, /* more data units than it compares */
};

#define MAX_DEPTH 64
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define MAX_UNITS 4096
#define MAX_NUMBER_CHARS 64

typedef struct {
    void *data;
    size_t size, cap, item;
} vec;

struct br_row {
    const unsigned char *base, *p, *end;
    int reason;
    jmp_buf fail;
    locale_t c_locale;
    vec units;   /* int64 x 6 per data unit: labels start, end (-1 when absent); runs, boxes, objects, classes so far */
    vec runs;    /* int64 x 2 per frame with boxes: frame, box count */
    vec boxes;   /* double x 4 */
    vec ids;     /* int32 */
    vec objects; /* int64 x 4: objectHash start, end, featureHash start, end (string contents) */
    vec classes; /* int64 x 3 per frame classification, in the row's order: frame, classificationHash start, end */
    vec unit_keys; /* int64 x 2: each data unit's key span, for the duplicate check */
    int32_t *table;  /* objectHash -> object id + 1, open addressing */
    size_t table_cap;
    int64_t *frames; /* the current data unit's frame numbers (+1; 0 is empty), open addressing */
    size_t frames_cap, frames_size;
};
typedef struct br_row br_row;

typedef struct {
    size_t start, end; /* contents, without the quotes */
    int escaped;
    int ascii;
} span;

static _Noreturn void fail(br_row *r, int reason) {
    r->reason = reason;
    longjmp(r->fail, 1);
}

static void *push(br_row *r, vec *v) {
    if (v->size == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        void *data = realloc(v->data, cap * v->item);
        if (!data) fail(r, BR_MEMORY);
        v->data = data;
        v->cap = cap;
    }
    return (char *)v->data + v->item * v->size++;
}

static int reserve(vec *v, size_t cap) {
    v->data = malloc(cap * v->item);
    v->cap = v->data ? cap : 0;
    return v->data != NULL;
}

static inline void skip_ws(br_row *r) {
    const unsigned char *p = r->p, *end = r->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    r->p = p;
}

static inline int peek(br_row *r) {
    skip_ws(r);
    if (r->p >= r->end) fail(r, BR_MALFORMED);
    return *r->p;
}

static inline void expect(br_row *r, int c) {
    if (peek(r) != c) fail(r, BR_MALFORMED);
    r->p++;
}

static int hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned read_u4(br_row *r, const unsigned char *p) {
    if (r->end - p < 4) fail(r, BR_MALFORMED);
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex(p[i]);
        if (h < 0) fail(r, BR_MALFORMED);
        v = v * 16 + (unsigned)h;
    }
    return v;
}

/* One UTF-8 sequence starting at p (a byte >= 0x80), strictly: no overlong forms, surrogates or values above
 * U+10FFFF (what Python's decoder refuses). Returns its length. */
static size_t utf8(br_row *r, const unsigned char *p) {
    size_t left = (size_t)(r->end - p);
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (left < 2 || (p[1] & 0xC0) != 0x80) fail(r, BR_MALFORMED);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) fail(r, BR_MALFORMED);
        if (c == 0xE0 && p[1] < 0xA0) fail(r, BR_MALFORMED);
        if (c == 0xED && p[1] >= 0xA0) fail(r, BR_MALFORMED);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            fail(r, BR_MALFORMED);
        if (c == 0xF0 && p[1] < 0x90) fail(r, BR_MALFORMED);
        if (c == 0xF4 && p[1] >= 0x90) fail(r, BR_MALFORMED);
        return 4;
    }
    fail(r, BR_MALFORMED);
}


/* A string at r->p (its opening quote), validated: escapes well formed (a \u surrogate only as a high-low pair),
 * no control characters, valid UTF-8. Eight bytes at a time while none of them needs a look. */
static span read_string(br_row *r) {
    if (peek(r) != '"') fail(r, BR_TYPE);
    const unsigned char *p = r->p + 1, *end = r->end;
    span s = {(size_t)(p - r->base), 0, 0, 1};
    for (;;) {
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
            uint64_t special = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w) | w;
            if (special & HIGHS) { /* the lowest flagged byte is exact: borrows only run upwards */
                p += __builtin_ctzll(special & HIGHS) >> 3;
                break;
            }
            p += 8;
        }
        if (p >= end) fail(r, BR_MALFORMED);
        unsigned c = *p;
        if (c == '"') break;
        if (c < 0x20) fail(r, BR_MALFORMED);
        if (c >= 0x80) {
            s.ascii = 0;
            p += utf8(r, p);
        } else if (c == '\\') {
            s.escaped = 1;
            if (end - p < 2) fail(r, BR_MALFORMED);
            unsigned e = p[1];
            if (e == 'u') {
                unsigned u = read_u4(r, p + 2);
                p += 6;
                if (u >= 0xDC00 && u <= 0xDFFF) fail(r, BR_ESCAPE);
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') fail(r, BR_ESCAPE);
                    unsigned low = read_u4(r, p + 2);
                    if (low < 0xDC00 || low > 0xDFFF) fail(r, BR_ESCAPE);
                    p += 6;
                }
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
            } else {
                fail(r, BR_MALFORMED);
            }
        } else {
            p++;
        }
    }
    s.end = (size_t)(p - r->base);
    r->p = p + 1;
    return s;
}

/* A string this reader interprets (a key or a hash): an escape could spell anything, so it declines. */
static span read_plain_string(br_row *r) {
    span s = read_string(r);
    if (s.escaped) fail(r, BR_ESCAPE);
    return s;
}

/* Whether a string's contents are `word` (a literal, so the comparison compiles to a few instructions). */
#define is(r, s, word) ((s).end - (s).start == sizeof(word) - 1 && memcmp((r)->base + (s).start, word, sizeof(word) - 1) == 0)

typedef struct {
    size_t start, end;
    int integer;       /* no fraction, no exponent */
    int negative;
    size_t digits;     /* of the integer part, without leading zeros */
    int zero;          /* every digit is 0 */
    long exponent;     /* the explicit exponent, clamped */
    uint64_t mantissa; /* the significant digits (all of them when `significant` <= 19) */
    size_t significant; /* digits from the first non-zero one on */
    long fraction;     /* digits after the point */
} number;

static int digit(int c) { return c >= '0' && c <= '9'; }

/* Eight ASCII digits at p as their value (little-endian SWAR), or 0 when they are not all digits. */
static inline int eight_digits(const unsigned char *p, uint64_t *value) {
    uint64_t w;
    memcpy(&w, p, 8);
    if (((w + 0x4646464646464646ULL) | (w - 0x3030303030303030ULL)) & HIGHS) return 0;
    w -= 0x3030303030303030ULL;
    w = w * 10 + (w >> 8);
    w = ((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
         ((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >> 32;
    *value = w;
    return 1;
}

/* The JSON number grammar, strictly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, with its first 19
 * significant digits as an integer (locals, so they stay in registers). */
static number read_number(br_row *r) {
    const unsigned char *p = r->p, *end = r->end;
    number n = {(size_t)(p - r->base), 0, 1, 0, 0, 1, 0, 0, 0, 0};
    uint64_t mantissa = 0;
    size_t significant = 0, digits = 0;
    long fraction = 0;
    int zero = 1;
    if (p < end && *p == '-') {
        n.negative = 1;
        p++;
    }
    if (p >= end || !digit(*p)) fail(r, BR_MALFORMED);
    if (*p == '0') {
        p++;
    } else {
        zero = 0;
        for (; p < end && digit(*p); p++, digits++)
            if (++significant <= 19) mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        n.integer = 0;
        p++;
        if (p >= end || !digit(*p)) fail(r, BR_MALFORMED);
        while (p < end && digit(*p)) {
            uint64_t eight;
            if ((significant || *p != '0') && significant <= 11 && end - p >= 8 && eight_digits(p, &eight)) {
                /* a first digit that is not 0 makes all eight significant */
                mantissa = mantissa * 100000000 + eight;
                significant += 8;
                fraction += 8;
                zero = 0;
                p += 8;
                continue;
            }
            if (significant || *p != '0') {
                zero = 0;
                if (++significant <= 19) mantissa = mantissa * 10 + (uint64_t)(*p - '0');
            }
            fraction++;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        n.integer = 0;
        p++;
        int sign = 1;
        if (p < end && (*p == '+' || *p == '-')) sign = *p++ == '-' ? -1 : 1;
        if (p >= end || !digit(*p)) fail(r, BR_MALFORMED);
        long e = 0;
        for (; p < end && digit(*p); p++)
            if (e < 100000) e = e * 10 + (*p - '0');
        n.exponent = sign * e;
    }
    if (p < end && (digit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '-' || *p == '+'))
        fail(r, BR_MALFORMED);
    n.end = (size_t)(p - r->base);
    n.digits = digits;
    n.zero = zero;
    n.mantissa = mantissa;
    n.significant = significant;
    n.fraction = fraction;
    r->p = p;
    return n;
}

/* A number no reader could take differently: integers of at most 18 digits (an int64 everywhere) and other
 * numbers of a modest decimal exponent (a finite, normal double everywhere). */
static void check_range(br_row *r, number n) {
    long magnitude = (long)n.digits + n.exponent;
    if (n.integer) {
        if (n.digits > 18) fail(r, BR_NUMBER);
    } else if (!n.zero && (magnitude > 280 || magnitude < -280)) {
        fail(r, BR_NUMBER);
    }
}

/* 10^e for |e| <= POWERS, as the 128 most significant bits of its binary expansion, truncated (hi, lo): the
 * table of the Eisel-Lemire algorithm, computed exactly at load with a small big integer (10^e by repeated
 * multiplication; 10^-e as floor(2^416 / 10^e) by repeated floor division, which is exact). */
#define POWERS 64
#define LIMBS 14
static uint64_t powers[2 * POWERS + 1][2];

static void top_bits(const uint32_t x[LIMBS], uint64_t out[2]) {
    int top = LIMBS - 1;
    while (!x[top]) top--;
    int lead = __builtin_clz(x[top]);
    uint32_t w[5] = {0};
    for (int i = 0; i < 5; i++) { /* the 160 bits from the leading one, via 32-bit words */
        int limb = top - i;
        uint64_t hi = limb >= 0 ? x[limb] : 0, lo = limb - 1 >= 0 ? x[limb - 1] : 0;
        w[i] = (uint32_t)(((hi << 32 | lo) << lead) >> 32);
    }
    out[0] = (uint64_t)w[0] << 32 | w[1];
    out[1] = (uint64_t)w[2] << 32 | w[3];
}

__attribute__((constructor)) static void make_powers(void) {
    uint32_t x[LIMBS] = {0};
    x[0] = 1;
    for (int e = 0; e <= POWERS; e++) {
        top_bits(x, powers[POWERS + e]);
        uint64_t carry = 0;
        for (int i = 0; i < LIMBS; i++) {
            uint64_t v = (uint64_t)x[i] * 10 + carry;
            x[i] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    memset(x, 0, sizeof x);
    x[LIMBS - 1] = 1; /* 2^416 */
    for (int e = 1; e <= POWERS; e++) {
        uint64_t rest = 0;
        for (int i = LIMBS - 1; i >= 0; i--) {
            uint64_t v = rest << 32 | x[i];
            x[i] = (uint32_t)(v / 10);
            rest = v % 10;
        }
        top_bits(x, powers[POWERS - e]);
    }
}

/* mantissa * 10^e correctly rounded (Eisel-Lemire), or 0 with *ok = 0 where it cannot tell (a near half-way
 * case, a subnormal or infinite result): the caller then asks strtod. */
static double eisel_lemire(uint64_t mantissa, long e, int negative, int *ok) {
    *ok = 0;
    if (e < -POWERS || e > POWERS || !mantissa) return 0;
    const uint64_t *power = powers[POWERS + e];
    int clz = __builtin_clzll(mantissa);
    mantissa <<= clz;
    uint64_t exp2 = (uint64_t)((((int64_t)217706 * e) >> 16) + 64 + 1023) - (uint64_t)clz;
    unsigned __int128 x = (unsigned __int128)mantissa * power[0];
    uint64_t x_hi = (uint64_t)(x >> 64), x_lo = (uint64_t)x;
    if ((x_hi & 0x1FF) == 0x1FF && x_lo + mantissa < mantissa) {
        unsigned __int128 y = (unsigned __int128)mantissa * power[1];
        uint64_t y_hi = (uint64_t)(y >> 64), y_lo = (uint64_t)y;
        uint64_t merged_hi = x_hi, merged_lo = x_lo + y_hi;
        if (merged_lo < x_lo) merged_hi++;
        if ((merged_hi & 0x1FF) == 0x1FF && merged_lo + 1 == 0 && y_lo + mantissa < mantissa) return 0;
        x_hi = merged_hi;
        x_lo = merged_lo;
    }
    uint64_t msb = x_hi >> 63, bits = x_hi >> (msb + 9);
    exp2 -= 1 ^ msb;
    if (x_lo == 0 && (x_hi & 0x1FF) == 0 && (bits & 3) == 1) return 0;
    bits += bits & 1;
    bits >>= 1;
    if (bits >> 53) {
        bits >>= 1;
        exp2 += 1;
    }
    if (exp2 - 1 >= 0x7FF - 1) return 0;
    bits = exp2 << 52 | (bits & 0x000FFFFFFFFFFFFFULL) | (negative ? 0x8000000000000000ULL : 0);
    double v;
    memcpy(&v, &bits, sizeof v);
    *ok = 1;
    return v;
}

/* A box coordinate as msgspec's float field reads it: an integer through its integer value (so -0 is 0.0), any
 * other number correctly rounded (Eisel-Lemire, else strtod in the "C" locale). Declines what could overflow
 * or lose its normal precision, and integers that a double cannot hold exactly. */
static double number_value(br_row *r) {
    number n = read_number(r);
    if (n.integer) {
        if (n.digits > 15) fail(r, BR_NUMBER);
        double v = (double)n.mantissa;
        return n.negative ? 0.0 - v : v;
    }
    check_range(r, n);
    if (n.zero) return n.negative ? -0.0 : 0.0;
    int ok = 0;
    double v = n.significant <= 19 ? eisel_lemire(n.mantissa, n.exponent - n.fraction, n.negative, &ok) : 0;
    if (!ok) {
        const unsigned char *s = r->base + n.start;
        size_t len = n.end - n.start;
        if (len >= MAX_NUMBER_CHARS) fail(r, BR_NUMBER);
        char text[MAX_NUMBER_CHARS];
        memcpy(text, s, len);
        text[len] = 0;
        char *stop;
        v = strtod_l(text, &stop, r->c_locale);
        if (stop != text + len) fail(r, BR_NUMBER);
    }
    if (!isfinite(v) || fabs(v) < DBL_MIN) fail(r, BR_NUMBER);
    return v;
}

static int closing(int open) { return open == '{' ? '}' : ']'; }

/* A container's items, an object's as `if (opens(r, '{')) do { span key = member(r); <its value, consumed> }
 * while (more(r, '}'));` and an array's alike with '[' and ']'. */
static int opens(br_row *r, int open) {
    if (peek(r) != open) fail(r, BR_TYPE);
    r->p++;
    if (peek(r) != closing(open)) return 1;
    r->p++;
    return 0;
}

static span member(br_row *r) {
    span key = read_plain_string(r);
    expect(r, ':');
    return key;
}

static int more(br_row *r, int close) {
    int c = peek(r);
    r->p++;
    if (c == close) return 0;
    if (c != ',') fail(r, BR_MALFORMED);
    return 1;
}

static void skip_value(br_row *r, int depth);

static void skip_container(br_row *r, int depth, int open) {
    if (depth > MAX_DEPTH) fail(r, BR_DEPTH);
    if (opens(r, open)) do {
        if (open == '{') {
            read_string(r); /* a key it does not read: escapes allowed */
            expect(r, ':');
        }
        skip_value(r, depth);
    } while (more(r, closing(open)));
}

static void literal(br_row *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) fail(r, BR_MALFORMED);
    r->p += n;
}

/* Any JSON value, validated and passed over; `depth` is that of the container holding it. */
static void skip_value(br_row *r, int depth) {
    switch (peek(r)) {
    case '{':
        skip_container(r, depth + 1, '{');
        return;
    case '[':
        skip_container(r, depth + 1, '[');
        return;
    case '"':
        read_string(r);
        return;
    case 't':
        literal(r, "true");
        return;
    case 'f':
        literal(r, "false");
        return;
    case 'n':
        literal(r, "null");
        return;
    default:
        check_range(r, read_number(r));
    }
}

static void once(br_row *r, int *seen) {
    if (*seen) fail(r, BR_DUPLICATE);
    *seen = 1;
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static void grow_table(br_row *r) {
    size_t cap = r->table_cap ? 2 * r->table_cap : 1024;
    int32_t *table = calloc(cap, sizeof *table);
    if (!table) fail(r, BR_MEMORY);
    const int64_t *objects = r->objects.data;
    for (size_t i = 0; i < r->table_cap; i++) {
        int32_t id = r->table[i];
        if (!id) continue;
        const int64_t *o = objects + 4 * (id - 1);
        size_t k = hash_bytes(r->base + o[0], (size_t)(o[1] - o[0])) & (cap - 1);
        while (table[k]) k = (k + 1) & (cap - 1);
        table[k] = id;
    }
    free(r->table);
    r->table = table;
    r->table_cap = cap;
}

/* The id of an objectHash, in order of first sighting; a new one keeps its featureHash span. */
static int32_t object_id(br_row *r, span object_hash, span feature_hash) {
    if (2 * (r->objects.size + 1) > r->table_cap) grow_table(r);
    const unsigned char *s = r->base + object_hash.start;
    size_t n = object_hash.end - object_hash.start, k = hash_bytes(s, n) & (r->table_cap - 1);
    const int64_t *objects = r->objects.data;
    for (int32_t id; (id = r->table[k]); k = (k + 1) & (r->table_cap - 1)) {
        const int64_t *o = objects + 4 * (id - 1);
        if ((size_t)(o[1] - o[0]) == n && memcmp(r->base + o[0], s, n) == 0) return id - 1;
    }
    if (r->objects.size >= INT32_MAX - 1) fail(r, BR_LIMIT);
    int64_t *o = push(r, &r->objects);
    o[0] = (int64_t)object_hash.start;
    o[1] = (int64_t)object_hash.end;
    o[2] = (int64_t)feature_hash.start;
    o[3] = (int64_t)feature_hash.end;
    r->table[k] = (int32_t)r->objects.size;
    return (int32_t)r->objects.size - 1;
}

/* A frame number seen before in this data unit (a repeated key, or "1" and "01") is declined: dict order and
 * which value wins are the JSON parser's business. */
static void new_frame(br_row *r, int64_t frame) {
    if (2 * (r->frames_size + 1) > r->frames_cap) {
        size_t cap = r->frames_cap ? 2 * r->frames_cap : 4096;
        int64_t *frames = calloc(cap, sizeof *frames);
        if (!frames) fail(r, BR_MEMORY);
        for (size_t i = 0; i < r->frames_cap; i++) {
            int64_t f = r->frames[i];
            if (!f) continue;
            size_t k = ((uint64_t)f * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
            while (frames[k]) k = (k + 1) & (cap - 1);
            frames[k] = f;
        }
        free(r->frames);
        r->frames = frames;
        r->frames_cap = cap;
    }
    int64_t f = frame + 1;
    size_t k = ((uint64_t)f * 0x9E3779B97F4A7C15ULL >> 20) & (r->frames_cap - 1);
    for (; r->frames[k]; k = (k + 1) & (r->frames_cap - 1))
        if (r->frames[k] == f) fail(r, BR_DUPLICATE);
    r->frames[k] = f;
    r->frames_size++;
}

static void read_box(br_row *r, double out[4]) {
    int seen[4] = {0, 0, 0, 0};
    if (opens(r, '{')) do {
        span key = member(r);
        int i = is(r, key, "x") ? 0 : is(r, key, "y") ? 1 : is(r, key, "w") ? 2 : is(r, key, "h") ? 3 : -1;
        if (i < 0) {
            skip_value(r, 8);
        } else {
            once(r, &seen[i]);
            int c = peek(r);
            if (c != '-' && !digit(c)) fail(r, BR_TYPE);
            out[i] = number_value(r);
        }
    } while (more(r, '}'));
    if (!(seen[0] && seen[1] && seen[2] && seen[3])) fail(r, BR_MISSING);
}

static void read_object(br_row *r) {
    span object_hash = {0}, feature_hash = {0};
    int has_hash = 0, has_shape = 0, has_feature = 0, has_box = 0;
    double box[4];
    if (opens(r, '{')) do {
        span key = member(r);
        if (is(r, key, "objectHash")) {
            once(r, &has_hash);
            object_hash = read_plain_string(r);
        } else if (is(r, key, "shape")) {
            once(r, &has_shape);
            span shape = read_plain_string(r);
            if (!is(r, shape, "bounding_box")) fail(r, BR_SHAPE);
        } else if (is(r, key, "featureHash")) {
            once(r, &has_feature);
            feature_hash = read_plain_string(r);
        } else if (is(r, key, "boundingBox")) {
            once(r, &has_box);
            read_box(r, box);
        } else {
            skip_value(r, 7);
        }
    } while (more(r, '}'));
    if (!has_shape) fail(r, BR_SHAPE);
    if (!(has_hash && has_feature && has_box)) fail(r, BR_MISSING);
    int32_t id = object_id(r, object_hash, feature_hash);
    memcpy(push(r, &r->boxes), box, sizeof box);
    *(int32_t *)push(r, &r->ids) = id;
}

/* One entry of a frame's classifications: only its classificationHash is read (the reader lists the frames of
 * each hash). An entry without one, or whose hash is not a string, is declined: Python would note str(None) or
 * str() of another value. */
static void read_classification(br_row *r, int64_t frame) {
    span hash = {0};
    int has_hash = 0;
    if (peek(r) != '{') fail(r, BR_CLASSIFICATION);
    if (opens(r, '{')) do {
        span key = member(r);
        if (is(r, key, "classificationHash")) {
            once(r, &has_hash);
            if (peek(r) != '"') fail(r, BR_CLASSIFICATION);
            hash = read_plain_string(r);
        } else {
            skip_value(r, 7);
        }
    } while (more(r, '}'));
    if (!has_hash) fail(r, BR_CLASSIFICATION);
    int64_t *c = push(r, &r->classes);
    c[0] = frame;
    c[1] = (int64_t)hash.start;
    c[2] = (int64_t)hash.end;
}

static void read_frame(br_row *r, int64_t frame) {
    int has_objects = 0, has_classifications = 0;
    int64_t count = 0;
    if (opens(r, '{')) do {
        span key = member(r);
        if (is(r, key, "objects")) {
            once(r, &has_objects);
            if (opens(r, '[')) do {
                if (peek(r) != '{') fail(r, BR_TYPE);
                read_object(r);
                count++;
            } while (more(r, ']'));
        } else if (is(r, key, "classifications")) {
            once(r, &has_classifications);
            if (opens(r, '[')) do {
                read_classification(r, frame);
            } while (more(r, ']'));
        } else {
            skip_value(r, 5);
        }
    } while (more(r, '}'));
    if (count) {
        int64_t *run = push(r, &r->runs);
        run[0] = frame;
        run[1] = count;
    }
}

/* A labels key: a frame number (ASCII digits only), or a key Python's int() surely refuses (ASCII without a
 * digit: it is skipped, as the reader skips scene metadata). Anything between (signs, spaces, underscores,
 * non-ASCII digits, an escape) is declined. Returns the frame, or -1 for a key to skip. */
static int64_t frame_number(br_row *r, span key) {
    const unsigned char *s = r->base + key.start;
    size_t n = key.end - key.start, digits = 0;
    for (size_t i = 0; i < n; i++) digits += digit(s[i]);
    if (digits == 0 && key.ascii) return -1;
    if (digits != n || n > 18) fail(r, BR_FRAME_KEY);
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static void read_labels(br_row *r) {
    if (opens(r, '{')) do {
        span key = read_string(r);
        if (key.escaped) fail(r, BR_FRAME_KEY);
        expect(r, ':');
        int64_t frame = frame_number(r, key);
        if (frame < 0) {
            skip_value(r, 4);
        } else {
            new_frame(r, frame);
            if (peek(r) != '{') fail(r, BR_TYPE);
            read_frame(r, frame);
        }
    } while (more(r, '}'));
}

static void read_unit(br_row *r, int64_t *unit) {
    int has_labels = 0;
    if (opens(r, '{')) do {
        span key = member(r);
        if (is(r, key, "labels")) {
            once(r, &has_labels);
            r->frames_size = 0;
            if (r->frames) memset(r->frames, 0, r->frames_cap * sizeof *r->frames);
            skip_ws(r);
            unit[0] = (int64_t)(r->p - r->base);
            read_labels(r);
            unit[1] = (int64_t)(r->p - r->base);
        } else {
            skip_value(r, 3);
        }
    } while (more(r, '}'));
}

static void read_units(br_row *r) {
    if (opens(r, '{')) do {
        span key = member(r);
        const int64_t *keys = r->unit_keys.data;
        size_t n = key.end - key.start;
        for (size_t i = 0; i < r->unit_keys.size; i++)
            if ((size_t)(keys[2 * i + 1] - keys[2 * i]) == n && memcmp(r->base + keys[2 * i], r->base + key.start, n) == 0)
                fail(r, BR_DUPLICATE);
        if (r->unit_keys.size >= MAX_UNITS) fail(r, BR_LIMIT);
        int64_t *k = push(r, &r->unit_keys);
        k[0] = (int64_t)key.start;
        k[1] = (int64_t)key.end;
        if (peek(r) != '{') fail(r, BR_TYPE);
        int64_t unit[2] = {-1, -1};
        read_unit(r, unit);
        int64_t *u = push(r, &r->units);
        u[0] = unit[0];
        u[1] = unit[1];
        u[2] = (int64_t)r->runs.size;
        u[3] = (int64_t)r->boxes.size;
        u[4] = (int64_t)r->objects.size;
        u[5] = (int64_t)r->classes.size;
    } while (more(r, '}'));
}

static void read_row(br_row *r) {
    int has_units = 0;
    if (opens(r, '{')) do {
        span key = member(r);
        if (is(r, key, "data_units")) {
            once(r, &has_units);
            if (peek(r) != '{') fail(r, BR_TYPE);
            read_units(r);
        } else {
            skip_value(r, 1);
        }
    } while (more(r, '}'));
    skip_ws(r);
    if (r->p != r->end) fail(r, BR_MALFORMED);
    if (!has_units) fail(r, BR_MISSING);
}

/* The layout of what br_sizes and br_copy write, checked by box_rows.py (LAYOUT) before it reads anything: a
 * library built from another version of this file is not used. Bump both together when the columns change. */
int br_version(void) { return 2; }

void br_free(br_row *r) {
    if (!r) return;
    free(r->units.data);
    free(r->runs.data);
    free(r->boxes.data);
    free(r->ids.data);
    free(r->objects.data);
    free(r->classes.data);
    free(r->unit_keys.data);
    free(r->table);
    free(r->frames);
    if (r->c_locale) freelocale(r->c_locale);
    free(r);
}

/* The row's columns, or NULL with *reason set (and *where, the byte offset it stopped at) when it declines. */
br_row *br_read(const char *data, size_t size, int *reason, size_t *where) {
    br_row *r = calloc(1, sizeof *r);
    *reason = BR_MEMORY;
    *where = 0;
    if (!r) return NULL;
    r->base = r->p = (const unsigned char *)data;
    r->end = r->base + size;
    r->units.item = 6 * sizeof(int64_t);
    r->runs.item = 2 * sizeof(int64_t);
    r->boxes.item = 4 * sizeof(double);
    r->ids.item = sizeof(int32_t);
    r->objects.item = 4 * sizeof(int64_t);
    r->classes.item = 3 * sizeof(int64_t);
    r->unit_keys.item = 2 * sizeof(int64_t);
    /* room for the boxes of a row of boxes alone (~400 bytes of JSON each in Encord's rows): growing by copying
     * is what costs on a long video */
    size_t boxes = size / 256 + 64;
    if (!reserve(&r->boxes, boxes) || !reserve(&r->ids, boxes) || !reserve(&r->runs, boxes / 4)) {
        br_free(r);
        return NULL;
    }
    r->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!r->c_locale) {
        br_free(r);
        return NULL;
    }
    if (setjmp(r->fail)) {
        *reason = r->reason;
        *where = (size_t)(r->p - r->base);
        br_free(r);
        return NULL;
    }
    read_row(r);
    *reason = BR_OK;
    return r;
}

/* Counts: data units, frame runs, boxes, objects, frame classifications. */
void br_sizes(const br_row *r, int64_t out[5]) {
    out[0] = (int64_t)r->units.size;
    out[1] = (int64_t)r->runs.size;
    out[2] = (int64_t)r->boxes.size;
    out[3] = (int64_t)r->objects.size;
    out[4] = (int64_t)r->classes.size;
}

static void copy(void *out, const vec *v) {
    if (v->size) memcpy(out, v->data, v->size * v->item);
}

void br_copy(const br_row *r, int64_t *units, int64_t *runs, double *boxes, int32_t *ids, int64_t *objects,
             int64_t *classes) {
    copy(units, &r->units);
    copy(runs, &r->runs);
    copy(boxes, &r->boxes);
    copy(ids, &r->ids);
    copy(objects, &r->objects);
    copy(classes, &r->classes);
}
