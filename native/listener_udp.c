/*
 * sandns native helper: a sandbox's UDP listener (127.0.0.11:53), read in
 * batches with recvmmsg(2) and answered in batches with sendmmsg(2).
 *
 * Node's dgram costs, per datagram, one recvmsg, a 64 KiB allocation cut
 * down to size, a remote-info object and one callback with its own callback
 * scope (a microtask checkpoint each). Here one readiness wake-up reads up
 * to RECV_BATCH datagrams in one system call, hands each to JavaScript
 * inside one callback scope for the whole wake-up (promise jobs run once,
 * after all of them), and replies queued during a turn of the event loop leave together
 * in one sendmmsg after the poll phase (a uv_check handle; a uv_idle handle
 * keeps the loop from blocking while replies wait).
 *
 * listen(fd, maxDatagram, fn) -> handle
 *   Take over the bound UDP socket `fd` (non-blocking from here on; closed by
 *   close(handle)). fn(area, offset, length, peer) is called for each
 *   datagram: its bytes are area[offset, offset + length), cut to
 *   maxDatagram (12..4096) bytes (a longer one arrives cut, as the kernel
 *   trim filter of netns_socket.c does). `area` is the receive area itself
 *   (one ArrayBuffer of RECV_BATCH slots of SLOT bytes that every listener
 *   of this Node environment reads into, always the same object; a worker
 *   thread that loads the addon has its own): the bytes are
 *   valid only until fn returns, as the next read overwrites them, so fn
 *   copies whatever it keeps. Nothing is allocated or copied per datagram:
 *   with a copy into a fresh buffer each (slab.h), a 4 s flood of 60 KB
 *   queries (cut to 1,233 bytes) left ~35 MB of garbage buffers that only
 *   V8's external-memory limit (64 MiB) reclaims: +47-50 MB of RSS. peer is the
 *   sender, to give back to send(): a number for IPv4 (address * 65536 +
 *   port), a string "[address]:port" for IPv6. fn(undefined, errno)
 *   reports a failed receive or a reply the kernel refused (EPERM,
 *   ENETUNREACH ...); the listener goes on.
 *
 * send(handle, reply, peer) -> 0 | -errno
 *   Queue `reply` (copied) to `peer`; it leaves with the others of this turn.
 *   A full socket buffer (EAGAIN) keeps the queue and waits until the socket
 *   is writable again (no spinning, nothing dropped); past MAX_QUEUED replies
 *   or MAX_QUEUED_BYTES bytes waiting, a new reply is refused (-ENOBUFS), so
 *   the caller knows. -EBADF once closed, -EINVAL for a bad peer.
 *
 * close(handle) -> undefined
 *   Stop reading, drop the queued replies, close the socket. Safe from
 *   inside fn: the rest of that batch is not delivered. Idempotent.
 *
 * stats(handle) -> [queued, refused, sendErrors, received]
 *
 * A socket error (EPOLLERR: an ICMP error on an IP_RECVERR socket, ...) is
 * taken off the socket, reported as fn(undefined, errno), and the listener
 * goes on reading (libuv stops a poll handle on EPOLLERR; it is started
 * again). recvErrForTest(fd): tests only, sets IP_RECVERR.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/errqueue.h>
#include <unistd.h>
#include "addon.h"

#define BATCH 64            /* replies per sendmmsg */
/*
 * Datagrams per wake-up: one recvmmsg of at most RECV_BATCH, then the loop
 * serves the other handles (upstream replies, the reply flush) before it
 * reads again. Measured at 2,000 QPS of uncached forwarding: reading up to
 * 4 x 64 per wake-up made p99 3-15 ms (the forwarded replies of earlier
 * queries wait behind a whole burst), 16 kept it at the dgram listener's
 * 3-4 ms with the same CPU per query at saturation (46 us); 1 per wake-up
 * cost 57-79 us.
 */
#define RECV_BATCH 16
#define SLOT 4096           /* receive slot per datagram: the largest maxDatagram */
#define MAX_QUEUED 4096     /* replies waiting to be sent, per listener */
#define MAX_QUEUED_BYTES (4u << 20)

typedef struct {
  struct sockaddr_storage peer;
  socklen_t peerlen;
  uint32_t off, len;        /* in the arena */
} out_t;

typedef struct listener listener_t;

typedef struct {
  napi_env env;
  uv_check_t check;
  uv_idle_t idle;
  int active;               /* check + idle running */
  listener_t *dirty;        /* listeners with replies to send now */
  listener_t *all;          /* open listeners (closed at environment teardown) */
  napi_ref resource;
  napi_async_context ctx;
  /*
   * One receive area for every listener of this environment (they are read
   * one at a time, on its thread): RECV_BATCH slots of SLOT bytes, seen from JavaScript as
   * the ArrayBuffer `area` (external: it views rbuf, which lives as long as
   * the module).
   */
  unsigned char *rbuf;
  napi_ref area;
  struct mmsghdr rmsg[RECV_BATCH];
  struct iovec riov[RECV_BATCH];
  struct sockaddr_storage raddr[RECV_BATCH];
} module_t;

struct listener {
  module_t *m;
  int fd;
  int closed;               /* close() called */
  int handle_closed;        /* uv_close done: the poll handle is gone */
  int js_gone;              /* the JS handle was collected */
  int events;               /* what the poll handle waits for */
  int blocked;              /* EAGAIN: waiting for UV_WRITABLE */
  int in_dirty;
  listener_t *next_dirty;
  listener_t *prev, *next;  /* module_t.all */
  uv_poll_t poll;
  napi_ref fn;
  size_t maxdgram;
  out_t *q;                 /* queued replies [qhead, qn) */
  size_t qhead, qn, qcap;
  unsigned char *arena;     /* their bytes [0, alen) */
  size_t alen, acap;
  double refused, send_errors, received;
};

static void free_listener(listener_t *l) {
  free(l->q);
  free(l->arena);
  free(l);
}

static void on_handle_closed(uv_handle_t *h) {
  listener_t *l = h->data;
  l->handle_closed = 1;
  if (l->js_gone) free_listener(l);
}

static void close_listener(listener_t *l);

/*
 * The JS handle was collected. Without close() before, the listener is closed here (stops reading, its socket
 * closed): nothing could reach it any more, and its descriptor and poll handle would otherwise stay for good.
 */
static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  listener_t *l = data;
  if (l->fn != NULL) napi_delete_reference(env, l->fn);
  l->fn = NULL;
  l->js_gone = 1;
  if (!l->closed) close_listener(l); /* its uv_close callback frees it */
  else if (l->handle_closed) free_listener(l);
}

/* Call fn(args) inside the open callback scope; an exception is the process's (as a throw from any I/O callback). */
static void call_js(napi_env env, napi_value fn, napi_value argv[4]) {
  napi_value global, result;
  napi_get_global(env, &global);
  if (napi_call_function(env, global, fn, 4, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void report(listener_t *l, int err) {
  napi_env env = l->m->env;
  if (l->fn == NULL) return;
  napi_handle_scope hs;
  napi_open_handle_scope(env, &hs);
  napi_value resource, fn, argv[4];
  napi_get_reference_value(env, l->m->resource, &resource);
  napi_get_reference_value(env, l->fn, &fn);
  napi_callback_scope cs;
  napi_open_callback_scope(env, resource, l->m->ctx, &cs);
  napi_get_undefined(env, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  argv[2] = argv[3] = argv[0];
  call_js(env, fn, argv);
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
}

static napi_value peer_value(napi_env env, const struct sockaddr_storage *sa) {
  napi_value v;
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    napi_create_double(env, (double)ntohl(s4->sin_addr.s_addr) * 65536.0 + ntohs(s4->sin_port), &v);
    return v;
  }
  const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
  char text[INET6_ADDRSTRLEN + 16] = "[";
  inet_ntop(AF_INET6, &s6->sin6_addr, text + 1, INET6_ADDRSTRLEN);
  size_t n = strlen(text);
  snprintf(text + n, sizeof text - n, "]:%u", ntohs(s6->sin6_port));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* peer_value's inverse; 0 or EINVAL */
static int peer_addr(napi_env env, napi_value v, struct sockaddr_storage *sa, socklen_t *salen) {
  napi_valuetype t;
  memset(sa, 0, sizeof *sa);
  if (napi_typeof(env, v, &t) != napi_ok) return EINVAL;
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (!(d >= 1 && d < 281474976710656.0)) return EINVAL;
    uint64_t x = (uint64_t)d;
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl((uint32_t)(x >> 16));
    s4->sin_port = htons((uint16_t)(x & 0xffff));
    *salen = sizeof *s4;
    return s4->sin_port == 0 ? EINVAL : 0;
  }
  if (t != napi_string) return EINVAL;
  char text[INET6_ADDRSTRLEN + 16];
  size_t len;
  napi_get_value_string_utf8(env, v, text, sizeof text, &len);
  char *close_br = strchr(text, ']');
  if (text[0] != '[' || close_br == NULL || close_br[1] != ':') return EINVAL;
  *close_br = '\0';
  char *end;
  unsigned long port = strtoul(close_br + 2, &end, 10);
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
  s6->sin6_family = AF_INET6;
  if (*end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET6, text + 1, &s6->sin6_addr) != 1) return EINVAL;
  s6->sin6_port = htons((uint16_t)port);
  *salen = sizeof *s6;
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Make the poll handle wait for `events`; 0 or a libuv error (then it waits for nothing, and l->events says so). */
static int watch(listener_t *l, int events) {
  if (l->closed || l->events == events) return 0;
  int rc = uv_poll_start(&l->poll, events, on_poll);
  l->events = rc == 0 ? events : 0;
  return rc;
}

static void drop_queue(listener_t *l) {
  l->qhead = l->qn = 0;
  l->alen = 0;
}

static void on_check(uv_check_t *h);
static void on_idle(uv_idle_t *h) { (void)h; /* only keeps uv_run from blocking while replies wait */ }

static void mark_dirty(listener_t *l) {
  module_t *m = l->m;
  if (l->in_dirty || l->blocked || l->closed) return;
  l->in_dirty = 1;
  l->next_dirty = m->dirty;
  m->dirty = l;
  if (!m->active) {
    m->active = 1;
    uv_check_start(&m->check, on_check);
    uv_idle_start(&m->idle, on_idle);
  }
}

static void unmark_dirty(listener_t *l) {
  if (!l->in_dirty) return;
  for (listener_t **p = &l->m->dirty; *p != NULL; p = &(*p)->next_dirty) {
    if (*p == l) {
      *p = l->next_dirty;
      break;
    }
  }
  l->in_dirty = 0;
}

/*
 * Send what is queued, BATCH replies per sendmmsg. EAGAIN: keep the rest and
 * wait for UV_WRITABLE. Any other error is the first reply's own (sendmmsg
 * stops there): that reply is dropped and counted, the rest go on.
 */
static int flush(listener_t *l) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int errs = 0, last = 0;
  while (l->qhead < l->qn && !l->closed) {
    unsigned n = (unsigned)(l->qn - l->qhead < BATCH ? l->qn - l->qhead : BATCH);
    for (unsigned i = 0; i < n; i++) {
      out_t *o = &l->q[l->qhead + i];
      iov[i].iov_base = l->arena + o->off;
      iov[i].iov_len = o->len;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &o->peer;
      msgs[i].msg_hdr.msg_namelen = o->peerlen;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(l->fd, msgs, n, MSG_DONTWAIT);
    if (r > 0) {
      l->qhead += (size_t)r;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      l->blocked = 1;
      int rc = watch(l, UV_READABLE | UV_WRITABLE);
      if (rc != 0) {
        last = -rc;
        errs++;
      }
      break;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      last = r < 0 ? errno : EIO;
      errs++;
      l->send_errors++;
      l->qhead++;
    }
  }
  if (l->qhead == l->qn) {
    drop_queue(l);
    if (l->acap > 65536) { /* a burst grew it: give it back (a sandbox idles most of its life) */
      free(l->arena);
      free(l->q);
      l->arena = NULL;
      l->q = NULL;
      l->acap = l->qcap = 0;
    }
  } else if (l->qhead > 0 && l->qhead * 2 >= l->qn) {
    /* compact: the waiting replies move to the front (rare: only after EAGAIN) */
    size_t base = l->q[l->qhead].off;
    memmove(l->arena, l->arena + base, l->alen - base);
    l->alen -= base;
    memmove(l->q, l->q + l->qhead, (l->qn - l->qhead) * sizeof *l->q);
    l->qn -= l->qhead;
    l->qhead = 0;
    for (size_t i = 0; i < l->qn; i++) l->q[i].off -= (uint32_t)base;
  }
  return errs ? last : 0;
}

static void on_check(uv_check_t *h) {
  module_t *m = h->data;
  while (m->dirty != NULL) {
    listener_t *l = m->dirty;
    m->dirty = l->next_dirty;
    l->in_dirty = 0;
    int err = flush(l);
    if (err) report(l, err);
  }
  if (m->active) {
    m->active = 0;
    uv_check_stop(&m->check);
    uv_idle_stop(&m->idle);
  }
}

static void receive(listener_t *l) {
  module_t *m = l->m;
  napi_env env = m->env;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value fn = NULL, area = NULL;
  int opened = 0;
  do {
    for (int i = 0; i < RECV_BATCH; i++) {
      m->rmsg[i].msg_hdr.msg_name = &m->raddr[i];
      m->rmsg[i].msg_hdr.msg_namelen = sizeof m->raddr[i];
      m->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(l->fd, m->rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      /* EINTR, EAGAIN: the next wake-up reads again; another error is reported (the listener goes on) */
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) report(l, errno);
      break;
    }
    if (!opened && l->fn != NULL) {
      opened = 1;
      napi_value resource;
      napi_open_handle_scope(env, &hs);
      napi_get_reference_value(env, l->m->resource, &resource);
      napi_get_reference_value(env, l->fn, &fn);
      if (napi_get_reference_value(env, m->area, &area) != napi_ok || area == NULL) fn = NULL;
      napi_open_callback_scope(env, resource, l->m->ctx, &cs);
    }
    for (int i = 0; i < n && !l->closed && fn != NULL; i++) {
      size_t len = m->rmsg[i].msg_len;
      if (len > l->maxdgram) len = l->maxdgram;
      napi_value argv[4];
      napi_handle_scope inner;
      napi_open_handle_scope(env, &inner);
      argv[0] = area;
      napi_create_uint32(env, (uint32_t)(i * SLOT), &argv[1]);
      napi_create_uint32(env, (uint32_t)len, &argv[2]);
      argv[3] = peer_value(env, &m->raddr[i]);
      l->received++;
      call_js(env, fn, argv);
      napi_close_handle_scope(env, inner);
    }
  } while (0); /* one recvmmsg per wake-up (see RECV_BATCH); level-triggered polling brings the rest */
  if (opened) {
    napi_close_callback_scope(env, cs); /* promise jobs of the whole batch run here */
    napi_close_handle_scope(env, hs);
  }
}

/*
 * Take what keeps EPOLLERR raised on the socket: its pending error (SO_ERROR, read and cleared) and its error
 * queue (IP_RECVERR / IPV6_RECVERR: ICMP errors queued as messages, read with MSG_ERRQUEUE). Returns the pending
 * error, else the first queued one's errno (0 when none could be read).
 */
static int take_errors(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = 0;
  for (int i = 0; i < RECV_BATCH; i++) {
    unsigned char data[64];
    union {
      struct cmsghdr align;
      char space[512];
    } control;
    struct iovec iov = { data, sizeof data };
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof control.space;
    if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL && err == 0; c = CMSG_NXTHDR(&mh, c)) {
      if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) || (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        err = (int)ee.ee_errno;
      }
    }
  }
  return err;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  listener_t *l = h->data;
  if (l->closed) return;
  if (status < 0) {
    /*
     * EPOLLERR: libuv has stopped the handle and says UV_EBADF. The error is the socket's (an ICMP error taken by
     * an IP_RECVERR socket, say), not the end of it: take it off the socket (else EPOLLERR stays raised), report
     * it, and watch again, else the sandbox's UDP DNS would stay silent for good. When the handle cannot be
     * started again, that failure is reported too.
     */
    int err = take_errors(l->fd);
    report(l, err != 0 ? err : -status);
    if (l->closed) return; /* closed by the report's callback */
    int want = l->events != 0 ? l->events : UV_READABLE;
    l->events = 0;
    int rc = watch(l, want);
    if (rc != 0) report(l, -rc);
    return;
  }
  if ((events & UV_WRITABLE) && l->blocked) {
    l->blocked = 0;
    int rc = watch(l, UV_READABLE);
    if (rc != 0) report(l, -rc);
    int err = flush(l);
    if (err) report(l, err);
  }
  if ((events & UV_READABLE) && !l->closed) receive(l);
}

static listener_t *unwrap(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static napi_value Listen(napi_env env, napi_callback_info info) {
  module_t *m;
  napi_get_instance_data(env, (void **)&m);
  size_t argc = 3;
  napi_value argv[3], ext;
  int32_t fd = -1, maxdgram = 0;
  napi_valuetype vt;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &maxdgram) != napi_ok ||
      napi_typeof(env, argv[2], &vt) != napi_ok || vt != napi_function || fd < 0 || maxdgram < 12 || maxdgram > SLOT) {
    napi_throw_type_error(env, NULL, "listen(fd, maxDatagram: 12..4096, fn)");
    return NULL;
  }
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM) {
    napi_throw_error(env, "ERR_LISTENER_UDP", "listen: not a UDP socket");
    return NULL;
  }
  listener_t *l = calloc(1, sizeof *l);
  if (l == NULL) {
    napi_throw_error(env, "ERR_LISTENER_UDP", "listen: out of memory");
    return NULL;
  }
  l->m = m;
  l->fd = fd;
  l->maxdgram = (size_t)maxdgram;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &l->poll, fd);
  if (rc != 0) {
    free_listener(l);
    char msg[128];
    snprintf(msg, sizeof msg, "listen: %s", uv_strerror(rc));
    napi_throw_error(env, "ERR_LISTENER_UDP", msg);
    return NULL;
  }
  l->poll.data = l;
  napi_create_reference(env, argv[2], 1, &l->fn);
  napi_create_external(env, l, finalize, NULL, &ext);
  l->next = m->all;
  if (m->all != NULL) m->all->prev = l;
  m->all = l;
  rc = watch(l, UV_READABLE);
  if (rc != 0) {
    /* Undone but the descriptor, which stays the caller's as when listen throws earlier. */
    m->all = l->next;
    if (l->next != NULL) l->next->prev = NULL;
    l->closed = 1;
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    char msg[128];
    snprintf(msg, sizeof msg, "listen: %s", uv_strerror(rc));
    napi_throw_error(env, "ERR_LISTENER_UDP", msg);
    return NULL;
  }
  return ext;
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  listener_t *l = argc < 3 ? NULL : unwrap(env, argv[0]);
  void *data = NULL;
  size_t dlen = 0;
  bool is_buffer = false;
  if (l == NULL || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &data, &dlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(handle, reply: Buffer, peer)");
    return NULL;
  }
  if (l->closed) return int_value(env, -EBADF);
  struct sockaddr_storage sa;
  socklen_t salen = 0;
  if (peer_addr(env, argv[2], &sa, &salen) != 0) return int_value(env, -EINVAL);
  if (l->qn - l->qhead >= MAX_QUEUED || l->alen + dlen > MAX_QUEUED_BYTES) {
    l->refused++;
    return int_value(env, -ENOBUFS);
  }
  if (l->qn == l->qcap) {
    size_t n = l->qcap ? l->qcap * 2 : 64;
    out_t *q = realloc(l->q, n * sizeof *q);
    if (q == NULL) return int_value(env, -ENOMEM);
    l->q = q;
    l->qcap = n;
  }
  if (l->alen + dlen > l->acap) {
    size_t n = l->acap ? l->acap : 16384;
    while (n < l->alen + dlen) n *= 2;
    unsigned char *a = realloc(l->arena, n);
    if (a == NULL) return int_value(env, -ENOMEM);
    l->arena = a;
    l->acap = n;
  }
  out_t *o = &l->q[l->qn++];
  memcpy(&o->peer, &sa, salen);
  o->peerlen = salen;
  o->off = (uint32_t)l->alen;
  o->len = (uint32_t)dlen;
  memcpy(l->arena + l->alen, data, dlen);
  l->alen += dlen;
  mark_dirty(l);
  return int_value(env, 0);
}

static void close_listener(listener_t *l) {
  if (l->closed) return;
  drop_queue(l);
  unmark_dirty(l);
  if (l->prev != NULL) l->prev->next = l->next;
  else l->m->all = l->next;
  if (l->next != NULL) l->next->prev = l->prev;
  l->closed = 1;
  uv_poll_stop(&l->poll);
  close(l->fd);
  uv_close((uv_handle_t *)&l->poll, on_handle_closed);
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  listener_t *l = argc < 1 ? NULL : unwrap(env, argv[0]);
  if (l == NULL) {
    napi_throw_type_error(env, NULL, "close(handle)");
    return NULL;
  }
  close_listener(l);
  return NULL;
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  listener_t *l = argc < 1 ? NULL : unwrap(env, argv[0]);
  if (l == NULL) {
    napi_throw_type_error(env, NULL, "stats(handle)");
    return NULL;
  }
  double vals[4] = {(double)(l->qn - l->qhead), l->refused, l->send_errors, l->received};
  napi_create_array_with_length(env, 4, &result);
  for (uint32_t i = 0; i < 4; i++) {
    napi_create_double(env, vals[i], &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

/* recvErrForTest(fd): tests only; IP_RECVERR on, so an ICMP error reaches the socket and raises EPOLLERR. */
static napi_value RecvErrForTest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "recvErrForTest(fd)");
    return NULL;
  }
  int one = 1;
  return int_value(env, setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof one) < 0 ? -errno : 0);
}

static void cleanup(void *arg) {
  module_t *m = arg;
  while (m->all != NULL) close_listener(m->all);
  uv_check_stop(&m->check);
  uv_idle_stop(&m->idle);
  uv_close((uv_handle_t *)&m->check, NULL);
  uv_close((uv_handle_t *)&m->idle, NULL);
}

NAPI_MODULE_INIT() {
  module_t *m = calloc(1, sizeof *m);
  if (m == NULL) {
    napi_throw_error(env, "ERR_LISTENER_UDP", "listener_udp: out of memory");
    return NULL;
  }
  m->env = env;
  m->rbuf = malloc((size_t)SLOT * RECV_BATCH);
  if (m->rbuf == NULL) {
    napi_throw_error(env, "ERR_LISTENER_UDP", "listener_udp: out of memory");
    return NULL;
  }
  napi_value area;
  if (napi_create_external_arraybuffer(env, m->rbuf, (size_t)SLOT * RECV_BATCH, NULL, NULL, &area) != napi_ok ||
      napi_create_reference(env, area, 1, &m->area) != napi_ok) {
    napi_throw_error(env, "ERR_LISTENER_UDP", "listener_udp: cannot make the receive area's ArrayBuffer");
    return NULL;
  }
  for (int i = 0; i < RECV_BATCH; i++) {
    m->riov[i].iov_base = m->rbuf + (size_t)i * SLOT;
    m->riov[i].iov_len = SLOT;
    m->rmsg[i].msg_hdr.msg_iov = &m->riov[i];
    m->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_check_init(loop, &m->check);
  uv_idle_init(loop, &m->idle);
  m->check.data = m;
  m->idle.data = m;
  uv_unref((uv_handle_t *)&m->check);
  uv_unref((uv_handle_t *)&m->idle);
  async_resource(env, "sandns.listenerUdp", &m->resource, &m->ctx);
  napi_set_instance_data(env, m, NULL, NULL);
  napi_add_env_cleanup_hook(env, cleanup, m);

  static const export_t table[] = { { "listen", Listen }, { "send", Send }, { "close", Close }, { "stats", Stats },
                                          { "recvErrForTest", RecvErrForTest } };
  EXPORT_ALL(env, exports, table, NULL);
  return exports;
}
