/*
 * sandns native helper: upstream UDP queries, one fresh connect()ed socket
 * each (RFC 5452 §9.1), at the fewest system calls.
 *
 * Node's dgram spends about fifteen system calls and several event-loop
 * ticks on a socket used for one query (wrap checks, a lookup, deferred
 * connect and close). Here a query is socket + SO_BINDTODEVICE + connect +
 * send + one epoll registration in a single call, the reply one recv, and
 * the end one close: the sockets live in a private epoll set whose own fd is
 * the only thing libuv polls, so a close needs no epoll_ctl (closing the
 * last reference removes an fd from every epoll set, epoll(7)) and one
 * wake-up collects every reply that is ready.
 *
 * open(nsPath, family, address, port, device, query) -> id (> 0) | -errno
 *   A UDP socket inside nsPath ("" = the calling namespace; setns(2) on this
 *   thread and back, as netns_socket.c does), bound to `device` when it is
 *   not "" (SO_BINDTODEVICE), connect()ed to address:port (the kernel binds
 *   a random port of its ephemeral range and the route's source address,
 *   and from then on delivers only datagrams from address:port), then
 *   `query` is sent on it. The id names the socket until close(id).
 *
 * close(id) -> undefined
 *   Close the socket now; nothing more is reported for it. Unknown or
 *   already closed ids are ignored.
 *
 * setReceiver(fn) -> undefined
 *   fn(id, slab, offset, length) is called for each datagram read: its bytes
 *   are slab[offset, offset + length) (slab.h); fn(id, undefined, errno, 0)
 *   for each socket error (ECONNREFUSED after an ICMP port unreachable, ...).
 *   The calls of one wake-up share one callback scope, so promise jobs run
 *   once after all of them.
 *
 * ends(id) -> [localAddress, localPort, remoteAddress, remotePort] | undefined
 *   getsockname + getpeername of an open socket (tests, diagnostics).
 *
 * pending() -> number of open sockets.
 *
 * sendTo(fd, datagram, family, address, port) -> 0 | -errno
 *   One sendto(2) on a UDP socket Node already owns (a listener: the reply to
 *   a query goes back to its sender), without dgram's send machinery (a
 *   request object, argument checks and a completion callback per reply).
 *   Never blocks: a full socket buffer drops the reply (-EAGAIN), as UDP may.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "slab.h"
#include "addon.h"

#define MAX_DATAGRAM 65536
#define MAX_EVENTS 256

typedef struct {
  uint32_t gen;  /* generation of the socket now open on this fd; 0 = none */
} slot_t;

typedef struct {
  napi_env env;
  uv_loop_t *loop;
  uv_poll_t *poll;
  int epfd;
  int open;          /* sockets open */
  uint32_t next_gen;
  slot_t *slots;     /* indexed by fd */
  size_t nslots;
  napi_ref receiver;
  napi_ref resource;
  napi_async_context ctx;
  unsigned char *buf;
  slab_t slab;       /* where datagrams go to JavaScript */
} state_t;

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_UPSTREAM_UDP", msg);
}

/* An id carries the fd and the generation of the socket, so an id kept
 * after close never names a later socket that reuses the fd number. */
static int64_t make_id(int fd, uint32_t gen) { return ((int64_t)gen << 20) | (int64_t)fd; }
static int id_fd(int64_t id) { return (int)(id & 0xfffff); }
static uint32_t id_gen(int64_t id) { return (uint32_t)(id >> 20); }

static int ensure_slot(state_t *st, int fd) {
  if ((size_t)fd < st->nslots) return 0;
  size_t n = st->nslots ? st->nslots : 1024;
  while (n <= (size_t)fd) n *= 2;
  slot_t *s = realloc(st->slots, n * sizeof *s);
  if (s == NULL) return ENOMEM;
  memset(s + st->nslots, 0, (n - st->nslots) * sizeof *s);
  st->slots = s;
  st->nslots = n;
  return 0;
}

static void release(state_t *st, int fd) {
  st->slots[fd].gen = 0;
  close(fd); /* also leaves the epoll set */
  if (--st->open == 0) uv_unref((uv_handle_t *)st->poll);
}

static void deliver(state_t *st, napi_value fn, int64_t id, const unsigned char *data, ssize_t len, int err) {
  napi_env env = st->env;
  napi_value argv[4], global, result;
  napi_handle_scope hs;
  napi_open_handle_scope(env, &hs);
  napi_create_int64(env, id, &argv[0]);
  size_t off = 0;
  if (data == NULL || slab_put(env, &st->slab, data, (size_t)len, &argv[1], &off) != napi_ok) {
    napi_get_undefined(env, &argv[1]);
    if (data != NULL) err = ENOMEM;
    len = 0;
  }
  napi_create_uint32(env, data != NULL && err == 0 ? (uint32_t)off : (uint32_t)err, &argv[2]);
  napi_create_uint32(env, (uint32_t)len, &argv[3]);
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 4, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, hs);
}

static void on_ready(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  state_t *st = handle->data;
  struct epoll_event ev[MAX_EVENTS];
  int n = epoll_wait(st->epfd, ev, MAX_EVENTS, 0);
  if (n <= 0) return;
  if (st->receiver == NULL) {
    for (int i = 0; i < n; i++) (void)recv((int)(ev[i].data.u64 & 0xffffffffu), st->buf, MAX_DATAGRAM, MSG_DONTWAIT);
    return;
  }
  napi_env env = st->env;
  napi_handle_scope hs;
  napi_open_handle_scope(env, &hs);
  napi_value resource, fn;
  napi_get_reference_value(env, st->resource, &resource);
  napi_get_reference_value(env, st->receiver, &fn);
  napi_callback_scope cs;
  napi_open_callback_scope(env, resource, st->ctx, &cs);
  for (int i = 0; i < n; i++) {
    int fd = (int)(ev[i].data.u64 & 0xffffffffu);
    uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
    /* closed (or closed and reopened) by an earlier call of this wake-up */
    if ((size_t)fd >= st->nslots || st->slots[fd].gen != gen) continue;
    ssize_t len = recv(fd, st->buf, MAX_DATAGRAM, MSG_DONTWAIT);
    if (len >= 0) {
      deliver(st, fn, make_id(fd, gen), st->buf, len, 0);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      deliver(st, fn, make_id(fd, gen), NULL, 0, errno);
    }
  }
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
}

static int fill_addr(int family, const char *address, int port, struct sockaddr_storage *sa, socklen_t *salen) {
  memset(sa, 0, sizeof *sa);
  if (family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &s6->sin6_addr) != 1) return EINVAL;
    *salen = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &s4->sin_addr) != 1) return EINVAL;
    *salen = sizeof *s4;
  }
  return 0;
}

/* socket + device + connect in the calling namespace; fd or -errno */
static int open_connected(int family, const struct sockaddr_storage *sa, socklen_t salen, const char *device) {
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  int err = 0;
  if (device[0] != '\0' && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0) err = errno;
  if (!err && connect(fd, (const struct sockaddr *)sa, salen) < 0) err = errno;
  if (err) {
    close(fd);
    return -err;
  }
  return fd;
}

static int open_in_netns(const char *path, int family, const struct sockaddr_storage *sa, socklen_t salen, const char *device) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return -errno;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return -e;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(self);
    close(target);
    return -e;
  }
  int fd = open_connected(family, sa, salen, device);
  int back = setns(self, CLONE_NEWNET);
  int back_err = errno;
  close(self);
  close(target);
  if (back < 0) {
    /* The thread is in the wrong namespace: nothing safe can follow. */
    fprintf(stderr, "sandns: setns back to the original namespace failed: %s\n", strerror(back_err));
    abort();
  }
  return fd;
}

static napi_value Open(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096], address[64], device[32];
  size_t len;
  int32_t family = 4, port = 0;
  void *query = NULL;
  size_t qlen = 0;
  bool is_buffer = false;
  if (argc < 6 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], address, sizeof address, &len) != napi_ok ||
      napi_get_value_int32(env, argv[3], &port) != napi_ok ||
      napi_get_value_string_utf8(env, argv[4], device, sizeof device, &len) != napi_ok ||
      napi_is_buffer(env, argv[5], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[5], &query, &qlen) != napi_ok || port < 1 || port > 65535) {
    napi_throw_type_error(env, NULL, "open(nsPath, family, address, port, device, query: Buffer)");
    return NULL;
  }
  if (st->epfd < 0) return int_value(env, -EBADF);
  struct sockaddr_storage sa;
  socklen_t salen;
  int err = fill_addr(family, address, port, &sa, &salen);
  if (err) return int_value(env, -err);
  int fd = path[0] == '\0' ? open_connected(family, &sa, salen, device) : open_in_netns(path, family, &sa, salen, device);
  if (fd < 0) return int_value(env, fd);
  if (fd > 0xfffff || (err = ensure_slot(st, fd)) != 0) {
    close(fd);
    return int_value(env, -(err ? err : EMFILE));
  }
  if (send(fd, query, qlen, MSG_DONTWAIT) < 0) {
    err = errno;
    close(fd);
    return int_value(env, -err);
  }
  uint32_t gen = st->next_gen++;
  if (st->next_gen > 0x7ffffff) st->next_gen = 1; /* id stays below 2^47: an exact double */
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd;
  if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    err = errno;
    close(fd);
    return int_value(env, -err);
  }
  st->slots[fd].gen = gen;
  if (st->open++ == 0) uv_ref((uv_handle_t *)st->poll);
  return int_value(env, make_id(fd, gen));
}

static napi_value Close(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 1;
  napi_value argv[1];
  int64_t id = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int64(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "close(id)");
    return NULL;
  }
  int fd = id_fd(id);
  uint32_t gen = id_gen(id);
  if (id > 0 && gen != 0 && (size_t)fd < st->nslots && st->slots[fd].gen == gen) release(st, fd);
  return NULL;
}

static napi_value SetReceiver(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype vt;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_typeof(env, argv[0], &vt) != napi_ok || vt != napi_function) {
    napi_throw_type_error(env, NULL, "setReceiver(fn)");
    return NULL;
  }
  if (st->receiver != NULL) napi_delete_reference(env, st->receiver);
  napi_create_reference(env, argv[0], 1, &st->receiver);
  return NULL;
}

static int name_of(const struct sockaddr_storage *sa, char *text, size_t n) {
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, text, (socklen_t)n);
    return ntohs(s6->sin6_port);
  }
  const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
  inet_ntop(AF_INET, &s4->sin_addr, text, (socklen_t)n);
  return ntohs(s4->sin_port);
}

static napi_value Ends(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 1;
  napi_value argv[1], result, v;
  int64_t id = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int64(env, argv[0], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "ends(id)");
    return NULL;
  }
  int fd = id_fd(id);
  if (id <= 0 || (size_t)fd >= st->nslots || st->slots[fd].gen != id_gen(id)) {
    napi_get_undefined(env, &result);
    return result;
  }
  struct sockaddr_storage local, remote;
  socklen_t ll = sizeof local, rl = sizeof remote;
  memset(&local, 0, sizeof local);
  memset(&remote, 0, sizeof remote);
  getsockname(fd, (struct sockaddr *)&local, &ll);
  getpeername(fd, (struct sockaddr *)&remote, &rl);
  char text[INET6_ADDRSTRLEN];
  napi_create_array_with_length(env, 4, &result);
  int port = name_of(&local, text, sizeof text);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, port, &v);
  napi_set_element(env, result, 1, v);
  port = name_of(&remote, text, sizeof text);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_element(env, result, 2, v);
  napi_create_int32(env, port, &v);
  napi_set_element(env, result, 3, v);
  return result;
}

static napi_value SendTo(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, family = 4, port = 0;
  char address[64];
  size_t len;
  void *data = NULL;
  size_t dlen = 0;
  bool is_buffer = false;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &dlen) != napi_ok || napi_get_value_int32(env, argv[2], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], address, sizeof address, &len) != napi_ok ||
      napi_get_value_int32(env, argv[4], &port) != napi_ok || fd < 0 || port < 1 || port > 65535) {
    napi_throw_type_error(env, NULL, "sendTo(fd, datagram: Buffer, family, address, port)");
    return NULL;
  }
  struct sockaddr_storage sa;
  socklen_t salen;
  int err = fill_addr(family, address, port, &sa, &salen);
  if (err) return int_value(env, -err);
  if (sendto(fd, data, dlen, MSG_DONTWAIT, (const struct sockaddr *)&sa, salen) < 0) return int_value(env, -errno);
  return int_value(env, 0);
}

static napi_value Pending(napi_env env, napi_callback_info info) {
  (void)info;
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  return int_value(env, st->open);
}

/* The environment goes away (process exit, worker end): close every socket and the epoll set. */
static void cleanup(void *arg) {
  state_t *st = arg;
  for (size_t fd = 0; fd < st->nslots; fd++) {
    if (st->slots[fd].gen != 0) {
      st->slots[fd].gen = 0;
      close((int)fd);
    }
  }
  st->open = 0;
  if (st->epfd >= 0) {
    uv_poll_stop(st->poll);
    uv_close((uv_handle_t *)st->poll, (uv_close_cb)free);
    close(st->epfd);
    st->epfd = -1;
  }
}

NAPI_MODULE_INIT() {
  state_t *st = calloc(1, sizeof *st);
  if (st == NULL) {
    throw_errno(env, "upstream_udp", ENOMEM);
    return NULL;
  }
  st->env = env;
  st->next_gen = 1;
  st->buf = malloc(MAX_DATAGRAM);
  st->poll = calloc(1, sizeof *st->poll);
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->buf == NULL || st->poll == NULL || st->epfd < 0) {
    throw_errno(env, "upstream_udp: epoll_create1", st->epfd < 0 ? errno : ENOMEM);
    return NULL;
  }
  napi_get_uv_event_loop(env, &st->loop);
  int rc = uv_poll_init(st->loop, st->poll, st->epfd);
  if (rc != 0) {
    throw_errno(env, "upstream_udp: uv_poll_init", -rc);
    return NULL;
  }
  st->poll->data = st;
  uv_poll_start(st->poll, UV_READABLE, on_ready);
  uv_unref((uv_handle_t *)st->poll); /* only open sockets keep the loop alive */
  async_resource(env, "sandns.upstreamUdp", &st->resource, &st->ctx);
  napi_set_instance_data(env, st, NULL, NULL);
  napi_add_env_cleanup_hook(env, cleanup, st);

  static const export_t table[] = {
    { "open", Open }, { "close", Close }, { "setReceiver", SetReceiver }, { "ends", Ends }, { "sendTo", SendTo }, { "pending", Pending },
  };
  EXPORT_ALL(env, exports, table, NULL);
  return exports;
}
