/*
 * Stand-in for klib's khash.h, which <h2o/http2_internal.h> includes but Debian's libh2o-dev-common does not
 * ship. h2o_compat.c needs that header only for h2o_http2_conn_t's layout (state, stream ids, write buffer) to
 * send GOAWAY ENHANCE_YOUR_CALM; the stream table is a pointer there, so an opaque type keeps the layout,
 * and the one inline lookup the header defines (never called here) gets lookups that find nothing.
 */
#ifndef NEARJS_COMMON_H2O_PRIVATE_KHASH_H
#define NEARJS_COMMON_H2O_PRIVATE_KHASH_H

typedef unsigned khiter_t;
#define KHASH_MAP_INIT_INT64(name, khval_t) typedef struct kh_##name##_s kh_##name##_t;
#define khash_t(name) kh_##name##_t
#define kh_get(name, h, key) ((void)(h), (void)(key), (khiter_t)0)
#define kh_end(h) ((void)(h), (khiter_t)0)
#define kh_val(h, x) ((void)(h), (void)(x), (void *)0)

#endif
