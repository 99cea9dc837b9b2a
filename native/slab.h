/*
 * Datagrams handed to JavaScript without an ArrayBuffer each: they are copied
 * one after the other into a shared slab (an ArrayBuffer of SLAB_SIZE bytes,
 * as Node's own Buffer pool) and JavaScript views them with
 * Buffer.from(slab, offset, length). A new slab is made when the next
 * datagram does not fit, or when JavaScript has detached the current one
 * (transferred it); an old one lives while a view of it does, so a
 * kept view pins at most one slab (as a pooled Buffer pins its pool).
 */
#ifndef SANDNS_SLAB_H
#define SANDNS_SLAB_H
#include <node_api.h>
#include <stdbool.h>
#include <string.h>

#define SLAB_SIZE 8192

typedef struct {
  napi_ref ref;
  unsigned char *data;
  size_t len, used;
} slab_t;

/*
 * Whether the slab's ArrayBuffer `ab` still owns the memory s->data points at. JavaScript may have detached it
 * (transferred by structuredClone or postMessage): the memory then belongs to another ArrayBuffer, maybe in
 * another thread, and writing there would change that buffer's bytes under its owner.
 */
static inline bool slab_intact(napi_env env, const slab_t *s, napi_value ab) {
  bool detached = true;
  void *data = NULL;
  size_t len = 0;
  return ab != NULL && napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached &&
         napi_get_arraybuffer_info(env, ab, &data, &len) == napi_ok && data == s->data && len == s->len;
}

/* Copy `len` bytes of `src` into the slab; *ab and *off name where. Call inside a handle scope. */
static inline napi_status slab_put(napi_env env, slab_t *s, const void *src, size_t len, napi_value *ab, size_t *off) {
  napi_status st;
  if (s->ref != NULL && s->used + len <= s->len) {
    if ((st = napi_get_reference_value(env, s->ref, ab)) != napi_ok) return st;
    if (!slab_intact(env, s, *ab)) s->used = s->len; /* a new slab below */
  }
  if (s->ref == NULL || s->used + len > s->len) {
    size_t n = len > SLAB_SIZE ? len : SLAB_SIZE;
    void *data;
    if ((st = napi_create_arraybuffer(env, n, &data, ab)) != napi_ok) return st;
    if (s->ref != NULL) napi_delete_reference(env, s->ref);
    if ((st = napi_create_reference(env, *ab, 1, &s->ref)) != napi_ok) {
      s->ref = NULL;
      return st;
    }
    s->data = data;
    s->len = n;
    s->used = 0;
  }
  if (len > 0) memcpy(s->data + s->used, src, len);
  *off = s->used;
  s->used += len;
  return napi_ok;
}

/* Forget the slab (its views stay valid). */
static inline void slab_release(napi_env env, slab_t *s) {
  if (s->ref != NULL) napi_delete_reference(env, s->ref);
  s->ref = NULL;
}
#endif
