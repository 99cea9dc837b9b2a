/*
 * What every sandns addon shares: export_all publishes a table of names and
 * callbacks, each made a JavaScript function on `exports` with `data` (the
 * addon's per-environment state, or NULL) as its callback data; int_value
 * makes a JavaScript number of an integer (a result, a descriptor, -errno);
 * async_resource makes the async context (and the object it is kept with)
 * under which an addon calls into JavaScript from its libuv callbacks.
 */
#ifndef SANDNS_ADDON_H
#define SANDNS_ADDON_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *name;
  napi_callback fn;
} export_t;

static inline void export_all(napi_env env, napi_value exports, const export_t *table, size_t count, void *data) {
  for (size_t i = 0; i < count; i++) {
    napi_value fn;
    napi_create_function(env, table[i].name, NAPI_AUTO_LENGTH, table[i].fn, data, &fn);
    napi_set_named_property(env, exports, table[i].name, fn);
  }
}

static inline napi_value int_value(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static inline void async_resource(napi_env env, const char *name, napi_ref *resource, napi_async_context *ctx) {
  napi_value object, text;
  napi_create_object(env, &object);
  napi_create_reference(env, object, 1, resource);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &text);
  napi_async_init(env, object, text, ctx);
}

#define EXPORT_ALL(env, exports, table, data) export_all((env), (exports), (table), sizeof(table) / sizeof((table)[0]), (data))

#endif
