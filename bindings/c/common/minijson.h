/*
 * minijson.h - just enough JSON reading for the C examples and the fixture
 * app: walk an object's members, skip a value, decode a string. No
 * allocation except mj_string. Header-only, C99. Not part of libspikard:
 * configuration crosses the ABI as one JSON document, so C hosts usually
 * write JSON, and read only the values document of a request.
 */
#ifndef SPIKARD_MINIJSON_H
#define SPIKARD_MINIJSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A slice of the input: a whole value, or a string with its quotes. */
typedef struct mj_span {
    const char *p;
    size_t n;
} mj_span;

static inline const char *mj_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* The end of the string starting at p (on its opening quote), or NULL. */
static inline const char *mj_skip_string(const char *p, const char *e) {
    for (p++; p < e; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

/* The end of the value starting at p, or NULL when it is malformed. Nested
 * values are checked for balance only. */
static inline const char *mj_skip(const char *p, const char *e) {
    p = mj_ws(p, e);
    if (p >= e) return NULL;
    if (*p == '"') return mj_skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < e; p++) {
            if (*p == '"') {
                p = mj_skip_string(p, e);
                if (p == NULL) return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return NULL;
    }
    const char *s = p;
    while (p < e && (*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= 'A' && *p <= 'Z')))
        p++;
    return p > s ? p : NULL;
}

/* Member iteration: set *it to the object's first byte ('{'), then call
 * mj_next until it returns 0 (end) or -1 (malformed). */
static inline int mj_next(const char **it, const char *e, mj_span *key, mj_span *val) {
    const char *p = mj_ws(*it, e);
    if (p >= e) return -1;
    if (*p == '{' || *p == ',') p = mj_ws(p + 1, e);
    if (p < e && *p == '}') return 0;
    if (p >= e || *p != '"') return -1;
    const char *k = mj_skip_string(p, e);
    if (k == NULL) return -1;
    key->p = p;
    key->n = (size_t)(k - p);
    p = mj_ws(k, e);
    if (p >= e || *p != ':') return -1;
    p = mj_ws(p + 1, e);
    const char *v = mj_skip(p, e);
    if (v == NULL) return -1;
    val->p = p;
    val->n = (size_t)(v - p);
    p = mj_ws(v, e);
    if (p >= e || (*p != ',' && *p != '}')) return -1;
    *it = p;
    return 1;
}

/* Whether a key (a string span, quotes included) is `name` (no escapes). */
static inline int mj_is(mj_span key, const char *name) {
    size_t n = strlen(name);
    return key.n == n + 2 && memcmp(key.p + 1, name, n) == 0;
}

static inline int mj_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline int mj_u4(const char *p, const char *e) {
    if (e - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = mj_hex(p[i]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Decodes a JSON string span into a malloc'd, NUL-terminated buffer (free
 * it); *len gets its length (it may contain NUL bytes). NULL when the span
 * is not a string. */
static inline char *mj_string(mj_span s, size_t *len) {
    if (s.n < 2 || s.p[0] != '"') return NULL;
    const char *p = s.p + 1, *e = s.p + s.n - 1;
    char *out = malloc(s.n + 1), *o = out;
    if (out == NULL) return NULL;
    while (p < e) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        if (p >= e) break;
        char c = *p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            int cp = mj_u4(p, e);
            if (cp < 0) goto bad;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                int lo = mj_u4(p + 2, e);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | cp >> 12);
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | cp >> 18);
                *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
                *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: *o++ = c; break; /* \" \\ \/ */
        }
    }
    *o = 0;
    if (len) *len = (size_t)(o - out);
    return out;
bad:
    free(out);
    return NULL;
}

/* The member `name` of the object span obj; 1 when found. */
static inline int mj_get(mj_span obj, const char *name, mj_span *val) {
    const char *it = obj.p, *e = obj.p + obj.n;
    mj_span k, v;
    int r;
    while ((r = mj_next(&it, e, &k, &v)) == 1) {
        if (mj_is(k, name)) {
            *val = v;
            return 1;
        }
    }
    return 0;
}

/* Element iteration: set *it to the array's first byte ('['), then call
 * mj_next_elem until it returns 0 (end) or -1 (malformed). */
static inline int mj_next_elem(const char **it, const char *e, mj_span *val) {
    const char *p = mj_ws(*it, e);
    if (p >= e) return -1;
    if (*p == '[' || *p == ',') p = mj_ws(p + 1, e);
    if (p < e && *p == ']') return 0;
    const char *v = mj_skip(p, e);
    if (v == NULL) return -1;
    val->p = p;
    val->n = (size_t)(v - p);
    p = mj_ws(v, e);
    if (p >= e || (*p != ',' && *p != ']')) return -1;
    *it = p;
    return 1;
}

/* Whether a key span (quotes included) decodes to the n bytes of name. */
static inline int mj_key_eq(mj_span key, const char *name, size_t n) {
    if (memchr(key.p, '\\', key.n) == NULL) return key.n == n + 2 && memcmp(key.p + 1, name, n) == 0;
    size_t l;
    char *k = mj_string(key, &l);
    int eq = k != NULL && l == n && memcmp(k, name, n) == 0;
    free(k);
    return eq;
}

/* The value at a JSON pointer (RFC 6901) in doc; 1 when found. */
static inline int mj_pointer(mj_span doc, const char *ptr, mj_span *out) {
    const char *e = doc.p + doc.n;
    mj_span cur = {mj_ws(doc.p, e), 0};
    const char *end = mj_skip(cur.p, e);
    if (end == NULL) return 0;
    cur.n = (size_t)(end - cur.p);
    if (*ptr == 0) {
        *out = cur;
        return 1;
    }
    if (*ptr != '/') return 0;
    const char *p = ptr + 1;
    for (;;) {
        char tok[256];
        size_t tl = 0;
        while (*p && *p != '/') {
            if (tl >= sizeof tok - 1) return 0;
            if (p[0] == '~' && p[1] == '1') tok[tl++] = '/', p += 2;
            else if (p[0] == '~' && p[1] == '0') tok[tl++] = '~', p += 2;
            else tok[tl++] = *p++;
        }
        tok[tl] = 0;
        const char *it = cur.p, *ce = cur.p + cur.n;
        mj_span k, v;
        int found = 0;
        if (*cur.p == '{') {
            while (mj_next(&it, ce, &k, &v) == 1)
                if (mj_key_eq(k, tok, tl)) {
                    found = 1;
                    break;
                }
        } else if (*cur.p == '[') {
            char *num_end;
            long idx = strtol(tok, &num_end, 10);
            if (tl == 0 || *num_end != 0 || idx < 0) return 0;
            while (mj_next_elem(&it, ce, &v) == 1)
                if (idx-- == 0) {
                    found = 1;
                    break;
                }
        }
        if (!found) return 0;
        cur = v;
        if (*p == 0) {
            *out = cur;
            return 1;
        }
        p++;
    }
}

/* Whether span is the literal `lit` ("true", "null", ...). */
static inline int mj_lit(mj_span v, const char *lit) { return v.n == strlen(lit) && memcmp(v.p, lit, v.n) == 0; }

/* A JSON integer, or def. */
static inline long long mj_int(mj_span v, long long def) {
    if (v.n == 0 || v.n > 20) return def;
    char buf[24];
    memcpy(buf, v.p, v.n);
    buf[v.n] = 0;
    char *end;
    long long x = strtoll(buf, &end, 10);
    return *end == 0 ? x : def;
}

#endif
