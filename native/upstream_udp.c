/*
 * sandns native helper: upstream UDP queries, each on a connect()ed socket
 * with a fresh random source port (RFC 5452 §9.1, RFC 6056), at the fewest
 * system calls. Socket objects are recycled after a disconnect; ports never.
 *
 * Node's dgram spends about fifteen system calls and several event-loop
 * ticks on a socket used for one query (wrap checks, a lookup, deferred
 * connect and close). Here a query is one call (connect + send on a recycled
 * socket, or socket + SO_BINDTODEVICE + connect + send + one epoll
 * registration on a new one), the reply one recvmsg: the sockets live in a
 * private epoll set whose own fd is the only thing libuv polls, and one
 * wake-up collects every reply that is ready.
 *
 * Recycling (issue 10 §1). close(id) does not close(2) the socket: it
 * disconnects it (connect(AF_UNSPEC); Linux __udp_disconnect: the socket was
 * autobound, not bind()-locked, so it is unhashed and its source port zeroed:
 * from then on no datagram or ICMP error for the old port can find it), then
 * reads its receive queue empty (recv MSG_DONTWAIT until EAGAIN: the datagrams
 * of the ended query and a pending socket error, ECONNREFUSED from an ICMP
 * port unreachable, which connect() does not clear) and keeps it in a free
 * list keyed by (namespace dev + inode: stat(2) of the path to find an idle
 * socket, fstat(2) of the descriptor a new socket is made through), at most
 * POOL_MAX per key and IDLE_MAX in all; beyond that, or when any step fails,
 * it is closed. The next open() with that key takes it: SO_BINDTODEVICE again
 * (the disconnect resets sk_bound_dev_if), connect() (the kernel autobinds a
 * new random port of its ephemeral range, as for a new socket; measured on
 * 6.18: every use a different, unordered port), getsockname (that port),
 * send. No setns: a socket keeps the namespace it was made in, so reuse
 * inside a sandbox's namespace costs what reuse on the host does.
 *   What the old use leaves cannot reach the new one: a datagram for the old
 *   port that a receive path (another CPU) had already matched to the socket
 *   before the disconnect can still be queued after the drain; so every
 *   datagram of a recycled socket is read with its destination port
 *   (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR) and dropped unless it is the port of
 *   the current use. An ICMP error in that same window is taken only while
 *   the socket is connected (__udp4_lib_err: hard errors need
 *   TCP_ESTABLISHED), so it could reach the next use only if that receive
 *   path stalls across our disconnect, drain and next connect; it would fail
 *   that one query over to the next server, as a forged ICMP can do anyway.
 *   Idle sockets stay in the epoll set (no epoll_ctl per use); an event for
 *   one is drained and ignored. The namespace key is the namespace's inode,
 *   not its path: a path deleted and made again names another namespace, and
 *   an idle socket holds its namespace alive, so its inode is never reused
 *   while the socket waits. flush(nsPath) closes a namespace's idle sockets
 *   (the sandbox calls it when it lets go of the namespace).
 *
 * open(nsPath, family, address, port, device, query) -> id (> 0) | -errno
 *   A UDP socket inside nsPath ("" = the calling namespace; a new one is made
 *   by setns(2) on this thread and back, as netns_socket.c does), bound to
 *   `device` when it is not "" (SO_BINDTODEVICE), connect()ed to
 *   address:port (the kernel binds a random port of its ephemeral range and
 *   the route's source address, and from then on delivers only datagrams
 *   from address:port), then `query` is sent on it. The id names this use of
 *   the socket until close(id); a recycled socket gets a new id.
 *
 * close(id) -> undefined
 *   End the use now (recycle or close, above); nothing more is reported for
 *   it. Unknown or already closed ids are ignored.
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
 * pending() -> number of sockets in use; idle() -> number of idle (recycled)
 *   sockets; flush(nsPath?) -> number closed: the idle sockets of the
 *   namespace at nsPath (matched by inode, or by the path the pool was made
 *   with when the path is gone), every idle socket when nsPath is undefined.
 *   keepQueueForTest(on): tests only; recycling skips emptying the queue, so
 *   a test can show that read_use drops what an earlier use left.
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
#include <sys/stat.h>
#include <unistd.h>
#include "slab.h"
#include "addon.h"

#define MAX_DATAGRAM 65536
#define MAX_EVENTS 256
#define POOL_MAX 64     /* idle sockets per (namespace, family, device) */
#define IDLE_MAX 1024   /* idle sockets in all */
#define MAX_POOLS 256   /* keys with a free list */
#define MAX_DRAIN 64    /* datagrams read off a socket being recycled before it is closed instead */

/* Which sockets may serve a query: same namespace (nsfs dev + inode; 0, 0 =
 * the calling namespace), family and device. */
typedef struct {
  dev_t dev;
  ino_t ino;
  int family;
  char device[32];
} key_t_;

typedef struct {
  key_t_ key;
  char *path;        /* the nsPath the list was made with ("" = ours), for flush after the path is gone */
  int n;
  int fds[POOL_MAX];
} pool_t;

typedef struct {
  uint32_t gen;      /* generation of the use now open on this fd; 0 = none */
  uint16_t port;     /* local port of this use (network order) when the socket was recycled; 0 = never had another */
  uint8_t idle;      /* in a free list */
  key_t_ key;
} slot_t;

typedef struct {
  napi_env env;
  uv_loop_t *loop;
  uv_poll_t *poll;
  int epfd;
  int open;          /* sockets in use */
  int idle;          /* sockets in free lists */
  uint32_t next_gen;
  slot_t *slots;     /* indexed by fd */
  size_t nslots;
  pool_t *pools;
  int npools;
  bool keep_queue;   /* tests only: recycle without emptying the queue, to show read_use's port check */
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

/* An id carries the fd and the generation of the use, so an id kept after
 * close never names a later use of the same socket or fd number. */
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

static bool same_key(const key_t_ *a, const key_t_ *b) {
  return a->dev == b->dev && a->ino == b->ino && a->family == b->family && strcmp(a->device, b->device) == 0;
}

static pool_t *find_pool(state_t *st, const key_t_ *key) {
  for (int i = 0; i < st->npools; i++) {
    if (same_key(&st->pools[i].key, key)) return &st->pools[i];
  }
  return NULL;
}

/* The free list for `key`, made when missing (past MAX_POOLS an empty one is taken over); NULL when none can be had. */
static pool_t *pool_for(state_t *st, const key_t_ *key, const char *path) {
  pool_t *p = find_pool(st, key);
  if (p != NULL) return p;
  /* The path is copied first: a list is counted in npools only once it has one (flush compares it). */
  char *copy = strdup(path);
  if (copy == NULL) return NULL;
  if (st->npools < MAX_POOLS) {
    if (st->pools == NULL && (st->pools = calloc(MAX_POOLS, sizeof *st->pools)) == NULL) {
      free(copy);
      return NULL;
    }
    p = &st->pools[st->npools++];
  } else {
    /* all taken: an empty list changes hands (its key's sockets in use are closed at their end) */
    for (int i = 0; i < st->npools && p == NULL; i++) {
      if (st->pools[i].n == 0) p = &st->pools[i];
    }
    if (p == NULL) {
      free(copy);
      return NULL;
    }
  }
  free(p->path);
  p->path = copy;
  p->key = *key;
  p->n = 0;
  return p;
}

/* Close an idle socket (it leaves the epoll set with its last reference, epoll(7)). */
static void close_idle(state_t *st, int fd) {
  st->slots[fd].idle = 0;
  st->idle--;
  close(fd);
}

/* Disconnect, empty the receive queue and the pending error; 0 when the socket is clean and portless. */
static int disconnect(state_t *st, int fd) {
  struct sockaddr unspec;
  memset(&unspec, 0, sizeof unspec);
  unspec.sa_family = AF_UNSPEC;
  if (connect(fd, &unspec, sizeof unspec) < 0) return -1;
  if (st->keep_queue) return 0;
  for (int i = 0; i < MAX_DRAIN; i++) {
    if (recv(fd, st->buf, MAX_DATAGRAM, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  }
  return -1;
}

/* The end of a use: back to its free list when there is room and it disconnects cleanly, else closed. */
static void release(state_t *st, int fd) {
  slot_t *s = &st->slots[fd];
  s->gen = 0;
  if (--st->open == 0) uv_unref((uv_handle_t *)st->poll);
  pool_t *p = st->idle < IDLE_MAX ? find_pool(st, &s->key) : NULL;
  if (p == NULL || p->n >= POOL_MAX || disconnect(st, fd) != 0) {
    close(fd); /* also leaves the epoll set */
    return;
  }
  s->idle = 1;
  st->idle++;
  p->fds[p->n++] = fd;
}

/* Read what sits on an idle socket (a datagram or error that raced the disconnect): nobody hears it. */
static void drain_idle(state_t *st, int fd) {
  for (int i = 0; i < MAX_DRAIN; i++) {
    if (recv(fd, st->buf, MAX_DATAGRAM, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  }
}

/* The destination port of a datagram read by recvmsg (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR), network order; 0 when absent. */
static uint16_t dest_port(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
      struct sockaddr_in a;
      memcpy(&a, CMSG_DATA(c), sizeof a);
      return a.sin_port;
    }
    if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR) {
      struct sockaddr_in6 a;
      memcpy(&a, CMSG_DATA(c), sizeof a);
      return a.sin6_port;
    }
  }
  return 0;
}

/* One datagram of the current use: its length, or -1 with errno (EAGAIN once nothing of this use is queued). */
static ssize_t read_use(state_t *st, int fd) {
  uint16_t port = st->slots[fd].port;
  for (int i = 0; i < MAX_DRAIN; i++) {
    if (port == 0) return recv(fd, st->buf, MAX_DATAGRAM, MSG_DONTWAIT);
    union {
      struct cmsghdr align;
      char space[CMSG_SPACE(sizeof(struct sockaddr_in6))];
    } control;
    struct iovec iov = { st->buf, MAX_DATAGRAM };
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof control.space;
    ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (len < 0 || dest_port(&mh) == port) return len;
    /* queued for an earlier use's port: dropped */
  }
  errno = EAGAIN;
  return -1;
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
    for (int i = 0; i < n; i++) drain_idle(st, (int)ev[i].data.u64);
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
    int fd = (int)ev[i].data.u64;
    if ((size_t)fd >= st->nslots) continue;
    if (st->slots[fd].idle) {
      drain_idle(st, fd);
      continue;
    }
    /* Ended by an earlier call of this wake-up (the fd closed, or recycled and
     * perhaps in use again: then read_use answers for the new use only). */
    uint32_t gen = st->slots[fd].gen;
    if (gen == 0) continue;
    ssize_t len = read_use(st, fd);
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
  int err = 0, one = 1;
  /* Every datagram of a later use is checked against that use's port (read_use). */
  if (family == 6 ? setsockopt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, &one, sizeof one) : setsockopt(fd, SOL_IP, IP_RECVORIGDSTADDR, &one, sizeof one)) err = errno;
  if (!err && device[0] != '\0' && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0) err = errno;
  if (!err && connect(fd, (const struct sockaddr *)sa, salen) < 0) err = errno;
  if (err) {
    close(fd);
    return -err;
  }
  return fd;
}

/* open_connected inside the namespace of the descriptor `target` (left open), this thread switched there and back. */
static int open_in_netns(int target, int family, const struct sockaddr_storage *sa, socklen_t salen, const char *device) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return -errno;
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(self);
    return -e;
  }
  int fd = open_connected(family, sa, salen, device);
  int back = setns(self, CLONE_NEWNET);
  int back_err = errno;
  close(self);
  if (back < 0) {
    /* The thread is in the wrong namespace: nothing safe can follow. */
    fprintf(stderr, "sandns: setns back to the original namespace failed: %s\n", strerror(back_err));
    abort();
  }
  return fd;
}

/* A recycled socket for a new use: device again, a fresh port by connect(), that port noted; fd or -errno (then closed). */
static int reuse(state_t *st, int fd, const struct sockaddr_storage *sa, socklen_t salen, const char *device) {
  slot_t *s = &st->slots[fd];
  s->idle = 0;
  st->idle--;
  struct sockaddr_storage local;
  socklen_t llen = sizeof local;
  int err = 0;
  if (device[0] != '\0' && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0) err = errno;
  if (!err && connect(fd, (const struct sockaddr *)sa, salen) < 0) err = errno;
  if (!err && getsockname(fd, (struct sockaddr *)&local, &llen) < 0) err = errno;
  if (err) {
    close(fd);
    return -err;
  }
  /* sin_port and sin6_port sit at the same offset */
  s->port = ((const struct sockaddr_in *)&local)->sin_port;
  return s->port == 0 ? (close(fd), -EADDRNOTAVAIL) : fd;
}

/* A new socket in the epoll set, inside the namespace of descriptor nsfd (-1: the calling thread's); fd or -errno. */
static int open_new(state_t *st, int nsfd, int family, const struct sockaddr_storage *sa, socklen_t salen, const char *device) {
  int fd = nsfd < 0 ? open_connected(family, sa, salen, device) : open_in_netns(nsfd, family, sa, salen, device);
  if (fd < 0) return fd;
  int err = 0;
  if (fd > 0xfffff || (err = ensure_slot(st, fd)) != 0) {
    close(fd);
    return -(err ? err : EMFILE);
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = (uint64_t)fd;
  if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    err = errno;
    close(fd);
    return -err;
  }
  st->slots[fd].port = 0;
  st->slots[fd].idle = 0;
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
  key_t_ key;
  memset(&key, 0, sizeof key);
  key.family = family;
  memcpy(key.device, device, strlen(device) + 1);
  if (path[0] != '\0') {
    struct stat ns;
    if (stat(path, &ns) < 0) return int_value(env, -errno);
    key.dev = ns.st_dev;
    key.ino = ns.st_ino;
  }
  pool_t *p = find_pool(st, &key);
  int fd;
  if (p != NULL && p->n > 0) {
    fd = reuse(st, p->fds[--p->n], &sa, salen, device);
  } else {
    /*
     * A new socket is made in the namespace of the descriptor opened here, and filed under that descriptor's
     * identity: the path may name another namespace now than at the stat above (deleted and made again, or
     * re-pointed), and a socket of namespace Y must never wait in X's list.
     */
    int nsfd = -1;
    if (path[0] != '\0') {
      struct stat ns;
      nsfd = open(path, O_RDONLY | O_CLOEXEC);
      if (nsfd < 0) return int_value(env, -errno);
      if (fstat(nsfd, &ns) < 0) {
        err = errno;
        close(nsfd);
        return int_value(env, -err);
      }
      if (ns.st_dev != key.dev || ns.st_ino != key.ino) {
        key.dev = ns.st_dev;
        key.ino = ns.st_ino;
        p = find_pool(st, &key);
      }
    }
    fd = open_new(st, nsfd, family, &sa, salen, device);
    if (nsfd >= 0) close(nsfd);
    if (p == NULL) (void)pool_for(st, &key, path); /* none (MAX_POOLS): the socket is closed at its end */
  }
  if (fd < 0) return int_value(env, fd);
  st->slots[fd].key = key;
  if (send(fd, query, qlen, MSG_DONTWAIT) < 0) {
    err = errno;
    st->slots[fd].gen = 0;
    st->slots[fd].idle = 0;
    close(fd);
    return int_value(env, -err);
  }
  uint32_t gen = st->next_gen++;
  if (st->next_gen > 0x7ffffff) st->next_gen = 1; /* id stays below 2^47: an exact double */
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
  uint32_t gen = id_gen(id);
  /* gen 0 is no use: an id without one (a bare fd number) would match every idle or unused slot */
  if (id <= 0 || gen == 0 || (size_t)fd >= st->nslots || st->slots[fd].gen != gen) {
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

static napi_value Idle(napi_env env, napi_callback_info info) {
  (void)info;
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  return int_value(env, st->idle);
}

static int flush_pool(state_t *st, pool_t *p) {
  int n = p->n;
  while (p->n > 0) close_idle(st, p->fds[--p->n]);
  return n;
}

/* flush(nsPath?): close the idle sockets of one namespace (by inode, or by the path its lists were made with), or all. */
static napi_value Flush(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype vt = napi_undefined;
  char path[4096];
  size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_typeof(env, argv[0], &vt);
  if (vt != napi_undefined && (vt != napi_string || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok)) {
    napi_throw_type_error(env, NULL, "flush(nsPath?: string)");
    return NULL;
  }
  struct stat ns;
  bool by_inode = vt == napi_string && path[0] != '\0' && stat(path, &ns) == 0;
  int closed = 0;
  for (int i = 0; i < st->npools; i++) {
    pool_t *p = &st->pools[i];
    bool hit = vt == napi_undefined || strcmp(p->path, path) == 0 || (by_inode && p->key.dev == ns.st_dev && p->key.ino == ns.st_ino);
    if (hit) closed += flush_pool(st, p);
  }
  return int_value(env, closed);
}

/* keepQueueForTest(on): tests only; recycled sockets keep what is queued (and a pending error). */
static napi_value KeepQueueForTest(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "keepQueueForTest(on: boolean)");
    return NULL;
  }
  st->keep_queue = on;
  return NULL;
}

/* The environment goes away (process exit, worker end): close every socket and the epoll set. */
static void cleanup(void *arg) {
  state_t *st = arg;
  for (size_t fd = 0; fd < st->nslots; fd++) {
    if (st->slots[fd].gen != 0 || st->slots[fd].idle) {
      st->slots[fd].gen = 0;
      st->slots[fd].idle = 0;
      close((int)fd);
    }
  }
  for (int i = 0; i < st->npools; i++) {
    st->pools[i].n = 0;
    free(st->pools[i].path);
    st->pools[i].path = NULL;
  }
  st->npools = 0;
  st->open = 0;
  st->idle = 0;
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
    { "idle", Idle }, { "flush", Flush }, { "keepQueueForTest", KeepQueueForTest },
  };
  EXPORT_ALL(env, exports, table, NULL);
  return exports;
}
