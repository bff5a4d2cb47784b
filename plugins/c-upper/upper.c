/*
 * c-upper: a Sluice plugin in C, written against docs/abi.md only (no SDK).
 *
 * Export `upper` (transform shape): string records are upper-cased (ASCII) and empty
 * strings dropped; any other record is a per-record error. Built as a WASI reactor:
 * `_initialize` runs the constructor below, which prints one line (the host captures
 * stdout into the job's log). Memory: the input and output buffers come from malloc and
 * the host frees both with sluice_free.
 */
#define MP_SOURCE 1
#include <msgpuck.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

__attribute__((constructor)) static void announce(void) {
    printf("c-upper: ready (ABI v1)\n");
    fflush(stdout);
}

EXPORT("sluice_abi_version") int32_t sluice_abi_version(void) { return 1; }

EXPORT("sluice_alloc") int32_t sluice_alloc(int32_t len) {
    if (len < 0) return 0;
    return (int32_t)(uintptr_t)malloc(len ? (size_t)len : 1);
}

EXPORT("sluice_free") void sluice_free(int32_t ptr, int32_t len) {
    (void)len;
    free((void *)(uintptr_t)ptr);
}

static int64_t pack(const char *out, size_t len) {
    return (int64_t)(((uint64_t)(uintptr_t)out << 32) | (uint32_t)len);
}

/* `[[], [[nil, message]]]`: the whole call failed. */
static int64_t call_error(const char *message) {
    uint32_t n = (uint32_t)strlen(message);
    char *out = malloc(16 + n);
    if (!out) __builtin_trap();
    char *w = mp_encode_array(out, 2);
    w = mp_encode_array(w, 0);
    w = mp_encode_array(w, 1);
    w = mp_encode_array(w, 2);
    w = mp_encode_nil(w);
    w = mp_encode_str(w, message, n);
    return pack(out, (size_t)(w - out));
}

static const char *type_name(enum mp_type t) {
    switch (t) {
    case MP_NIL: return "nil";
    case MP_UINT: case MP_INT: return "an integer";
    case MP_STR: return "a string";
    case MP_BIN: return "binary";
    case MP_ARRAY: return "an array";
    case MP_MAP: return "a map";
    case MP_BOOL: return "a boolean";
    case MP_FLOAT: case MP_DOUBLE: return "a float";
    default: return "an extension";
    }
}

EXPORT("upper") int64_t upper(int32_t ptr, int32_t len) {
    const char *in = (const char *)(uintptr_t)ptr;
    const char *end = in + len;
    const char *p = in;
    if (len <= 0 || mp_check(&p, end) != 0 || p != end)
        return call_error("c-upper: malformed input document");
    p = in;
    if (mp_typeof(*p) != MP_ARRAY || mp_decode_array(&p) < 2 || mp_typeof(*p) != MP_ARRAY)
        return call_error("c-upper: expected an input document [items, ctx]");
    uint32_t count = mp_decode_array(&p);

    /* Items are never longer than the input; each error needs at most 64 bytes. */
    char *items = malloc((size_t)len);
    char *errors = malloc((size_t)count * 64 + 1);
    if (!items || !errors) __builtin_trap();
    char *iw = items, *ew = errors;
    uint32_t n_items = 0, n_errors = 0;

    for (uint32_t i = 0; i < count; i++) {
        enum mp_type t = mp_typeof(*p);
        if (t != MP_STR) {
            char msg[48];
            int m = snprintf(msg, sizeof msg, "expected a string, found %s", type_name(t));
            ew = mp_encode_array(ew, 2);
            ew = mp_encode_uint(ew, i);
            ew = mp_encode_str(ew, msg, (uint32_t)m);
            n_errors++;
            mp_next(&p);
            continue;
        }
        uint32_t n;
        const char *s = mp_decode_str(&p, &n);
        if (n == 0) continue;
        iw = mp_encode_strl(iw, n);
        for (uint32_t k = 0; k < n; k++) {
            char c = s[k];
            iw[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
        iw += n;
        n_items++;
    }

    size_t items_len = (size_t)(iw - items), errors_len = (size_t)(ew - errors);
    char *out = malloc(16 + items_len + errors_len);
    if (!out) __builtin_trap();
    char *w = mp_encode_array(out, 2);
    w = mp_encode_array(w, n_items);
    memcpy(w, items, items_len);
    w += items_len;
    w = mp_encode_array(w, n_errors);
    memcpy(w, errors, errors_len);
    w += errors_len;
    free(items);
    free(errors);
    return pack(out, (size_t)(w - out));
}
