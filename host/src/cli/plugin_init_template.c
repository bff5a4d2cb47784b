/* A Sluice plugin in C, against docs/abi.md (no SDK): `split_pairs` (a line to
 * [word, 1] pairs) and `sum` (adds integers). Buffers come from malloc; the host frees
 * them with sluice_free. */
#define MP_SOURCE 1
#include <msgpuck.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("sluice_abi_version") int32_t sluice_abi_version(void) { return 1; }

EXPORT("sluice_alloc") int32_t sluice_alloc(int32_t len) {
    return len < 0 ? 0 : (int32_t)(uintptr_t)malloc(len ? (size_t)len : 1);
}

EXPORT("sluice_free") void sluice_free(int32_t ptr, int32_t len) {
    (void)len;
    free((void *)(uintptr_t)ptr);
}

/* Opens `[items, ctx]`; returns the item count, or -1. */
static int64_t open_items(const char **p, const char *end) {
    const char *check = *p;
    if (mp_check(&check, end) != 0 || mp_typeof(**p) != MP_ARRAY || mp_decode_array(p) < 2 ||
        mp_typeof(**p) != MP_ARRAY)
        return -1;
    return mp_decode_array(p);
}

/* `[[items...], [errors...]]` into a fresh buffer, packed as the ABI's i64. */
static int64_t finish(uint32_t n_items, const char *items, size_t items_len, uint32_t n_errors,
                      const char *errors, size_t errors_len) {
    char *out = malloc(16 + items_len + errors_len);
    if (!out) __builtin_trap();
    char *w = mp_encode_array(out, 2);
    w = mp_encode_array(w, n_items);
    memcpy(w, items, items_len);
    w += items_len;
    w = mp_encode_array(w, n_errors);
    memcpy(w, errors, errors_len);
    w += errors_len;
    return (int64_t)(((uint64_t)(uintptr_t)out << 32) | (uint32_t)(w - out));
}

static char *add_error(char *ew, uint32_t index, const char *msg) {
    ew = mp_encode_array(ew, 2);
    ew = mp_encode_uint(ew, index);
    return mp_encode_str(ew, msg, (uint32_t)strlen(msg));
}

EXPORT("split_pairs") int64_t split_pairs(int32_t ptr, int32_t len) {
    const char *p = (const char *)(uintptr_t)ptr;
    int64_t count = open_items(&p, p + len);
    if (count < 0) return finish(0, "", 0, 1, "\x92\xc0\xa9" "bad input", 12);
    /* A word of k bytes becomes at most k + 7 bytes; an error at most 48. */
    char *items = malloc(2 * (size_t)len + 16), *errors = malloc((size_t)count * 48 + 1);
    if (!items || !errors) __builtin_trap();
    char *iw = items, *ew = errors;
    uint32_t n_items = 0, n_errors = 0;
    for (uint32_t i = 0; i < (uint32_t)count; i++) {
        if (mp_typeof(*p) != MP_STR) {
            ew = add_error(ew, i, "expected a string");
            n_errors++;
            mp_next(&p);
            continue;
        }
        uint32_t n;
        const char *s = mp_decode_str(&p, &n);
        for (uint32_t k = 0; k < n;) {
            while (k < n && (s[k] == ' ' || (s[k] >= '\t' && s[k] <= '\r'))) k++;
            uint32_t start = k;
            while (k < n && !(s[k] == ' ' || (s[k] >= '\t' && s[k] <= '\r'))) k++;
            if (k > start) {
                iw = mp_encode_array(iw, 2);
                iw = mp_encode_str(iw, s + start, k - start);
                iw = mp_encode_uint(iw, 1);
                n_items++;
            }
        }
    }
    int64_t out = finish(n_items, items, (size_t)(iw - items), n_errors, errors, (size_t)(ew - errors));
    free(items);
    free(errors);
    return out;
}

/* Reduce shape: groups [key, [v1, v2, ...]] of integers, one sum per group. */
EXPORT("sum") int64_t sum(int32_t ptr, int32_t len) {
    const char *p = (const char *)(uintptr_t)ptr;
    int64_t count = open_items(&p, p + len);
    if (count < 0) return finish(0, "", 0, 1, "\x92\xc0\xa9" "bad input", 12);
    char *items = malloc((size_t)count * 9 + 1), *errors = malloc((size_t)count * 48 + 1);
    if (!items || !errors) __builtin_trap();
    char *iw = items, *ew = errors;
    uint32_t n_errors = 0;
    for (uint32_t i = 0; i < (uint32_t)count; i++) {
        const char *group = p;
        mp_next(&p);
        int ok = mp_typeof(*group) == MP_ARRAY && mp_decode_array(&group) == 2;
        int64_t total = 0;
        if (ok) {
            mp_next(&group); /* the key */
            ok = mp_typeof(*group) == MP_ARRAY;
            uint32_t n = ok ? mp_decode_array(&group) : 0;
            for (uint32_t k = 0; ok && k < n; k++) {
                if (mp_typeof(*group) == MP_UINT) total += (int64_t)mp_decode_uint(&group);
                else if (mp_typeof(*group) == MP_INT) total += mp_decode_int(&group);
                else ok = 0;
            }
        }
        if (!ok) {
            iw = mp_encode_nil(iw);
            ew = add_error(ew, i, "expected a group of integers");
            n_errors++;
        } else {
            iw = total >= 0 ? mp_encode_uint(iw, (uint64_t)total) : mp_encode_int(iw, total);
        }
    }
    int64_t out = finish((uint32_t)count, items, (size_t)(iw - items), n_errors, errors, (size_t)(ew - errors));
    free(items);
    free(errors);
    return out;
}
