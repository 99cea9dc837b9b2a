/*
 * sandns native helper: rtnetlink sendmsg(2) off the main thread.
 *
 * The kernel does an rtnetlink request's work inside the sender's sendmsg(2),
 * under the RTNL lock (rtnetlink(7)): creating a veth pair costs ~1 ms there,
 * deleting or moving one ~15-30 ms (the unregister path waits for RCU
 * grace periods). The `netlink` package sends synchronously on the calling
 * thread, so each of those blocked the daemon's event loop, and with it every
 * sandbox's DNS answers. Here each adopted socket gets a sender thread of
 * its own (a "lane"): its requests queue in order and that thread sends them;
 * the completion comes back to JavaScript through a thread-safe function.
 * Lanes of different sockets overlap: the kernel holds the RTNL lock only for
 * part of a request (a deletion's RCU wait runs after the lock is dropped),
 * so one socket's slow deletion does not hold up another socket's requests.
 * Replies are not read here: the kernel queues them on the socket, whose
 * owner (the package's poll handler on the main thread) reads them as before.
 *
 * lowestFreeFd() -> the lowest descriptor number not in use now
 *   Taken just before the package creates its socket: socket(2) returns the
 *   lowest free number, so that is where adopt looks first.
 * adopt(portId, hint?, nsPath?) -> lane id (>= 0) or -errno
 *   A lane over a private duplicate (F_DUPFD_CLOEXEC) of this process's
 *   rtnetlink socket bound to portId (its nl_pid) in the namespace at nsPath
 *   (absent: the calling thread's): descriptor `hint` when it is that socket,
 *   else found over /proc/self/fd (the package does not expose its
 *   descriptor; a daemon with a thousand sandboxes has thousands of
 *   descriptors to look through). A port id is unique only per namespace and
 *   protocol, so both are matched too (netlink_find.h). The duplicate
 *   is ours: the package closing its descriptor cannot make a queued send hit
 *   a reused fd number. -ENOENT when no socket matches, -EMFILE when
 *   MAX_LANES lanes are open; throws (code ENOTUNIQ) when two do.
 *   A lane id is the slot (0..MAX_LANES-1) plus a generation of that slot
 *   times MAX_LANES: the id of a released lane never names a later lane in
 *   the same slot (the package's socket keeps calling the `send` it was given
 *   after its close, and that must not reach another socket).
 * send(lane, port, groups, data: Buffer | Buffer[], callback(error?))
 *   Queue one sendmsg(2) of data to the netlink address (port, groups) on the
 *   lane's socket. callback runs on the main thread with undefined, or an
 *   Error whose `code` is the errno name ("EPERM") and `errno` its number.
 *   A released lane's id throws (code EBADF).
 * release(lane)
 *   End the lane once every send queued before this call is done, and return
 *   at once: the lane's thread sends what is queued (a veth deletion takes
 *   15-40 ms in the kernel), closes its descriptor and exits, then tells the
 *   main thread (through the thread-safe function), which joins it (it has
 *   returned or is returning) and frees the lane. The main thread never waits
 *   for the queue: it serves every sandbox's DNS.
 * pending() -> number of sends queued or in flight, over all lanes.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include "addon.h"
#include "netlink_find.h"

/* Lanes open at once per Node environment: the host socket pool holds 8. */
#define MAX_LANES 64

typedef struct lane lane_t;

typedef struct job {
  struct job *next;
  lane_t *ended; /* not NULL: no send, but the news that this lane's thread is done */
  uint32_t port, groups;
  size_t len;    /* bytes of the message, copied after this struct (bytes[]): the thread never reads JS memory */
  napi_ref callback;
  int status;    /* 0 or -errno */
  unsigned char bytes[];
} job_t;

struct sender;

/* One adopted socket: its descriptor, its queue and the thread that sends it. */
struct lane {
  struct sender *owner;
  struct lane *prev, *next; /* sender_t.running */
  int fd;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *head, *tail;
  int stop;
  pthread_t thread;
};

/* Per Node environment (the daemon has one; a test runner may load the addon in several worker threads). */
typedef struct sender {
  napi_threadsafe_function tsfn;
  int started;
  uint32_t pending; /* main thread only */
  lane_t *lanes[MAX_LANES];  /* by slot: the lanes not released */
  uint32_t gens[MAX_LANES];  /* by slot: the generation of its current (or next) lane, 1..GEN_MAX */
  lane_t *running;           /* every lane whose thread is not joined yet, released or not (main thread only) */
} sender_t;

/* A lane id = slot + gen * MAX_LANES, below 2^30: a positive int32. */
#define GEN_MAX ((1u << 24) - 1)

/*
 * One sendmsg, retried on EINTR, and 3 times on EAGAIN/ENOBUFS after 1, 10 and 100 ms (on this lane's thread).
 * Those come from a full receive queue of a user-space destination or a failed allocation; waiting for POLLOUT
 * would not help: a netlink socket reports itself writable whenever its own send buffer has room, which says
 * nothing about either (datagram_poll), so such a wait returned at once.
 */
static int send_one(int fd, job_t *j) {
  static const long backoff_ms[] = { 1, 10, 100 };
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = j->port;
  addr.nl_groups = j->groups;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof addr;
  struct iovec iov = { j->bytes, j->len };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  for (int tries = 0;; tries++) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && tries < 3) {
      struct timespec pause = { .tv_sec = 0, .tv_nsec = backoff_ms[tries] * 1000000L };
      while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {}
      continue;
    }
    return -errno;
  }
}

static void *run(void *arg) {
  lane_t *l = arg;
  for (;;) {
    pthread_mutex_lock(&l->mu);
    while (l->head == NULL && !l->stop) pthread_cond_wait(&l->cv, &l->mu);
    job_t *j = l->head;
    if (j == NULL) { /* released and drained */
      pthread_mutex_unlock(&l->mu);
      break;
    }
    l->head = j->next;
    if (l->head == NULL) l->tail = NULL;
    pthread_mutex_unlock(&l->mu);
    j->status = send_one(l->fd, j);
    if (napi_call_threadsafe_function(l->owner->tsfn, j, napi_tsfn_blocking) != napi_ok) {
      /* The environment is going away: its references die with it. */
      free(j);
    }
  }
  close(l->fd);
  /* Tell the main thread it may join this thread and free the lane. When that cannot be told (no memory, or the
   * environment going away), the lane stays on sender_t.running and the cleanup hook joins it. */
  job_t *done = calloc(1, sizeof *done);
  if (done != NULL) {
    done->ended = l;
    if (napi_call_threadsafe_function(l->owner->tsfn, done, napi_tsfn_blocking) != napi_ok) free(done);
  }
  return NULL;
}

/* Ask a lane's thread to stop once its queue is empty (it then closes its descriptor). */
static void stop_lane(lane_t *l) {
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

/* Join a lane's thread (it has stopped, or is stopping) and free the lane. Main thread. */
static void join_lane(sender_t *s, lane_t *l) {
  pthread_join(l->thread, NULL);
  if (l->prev != NULL) l->prev->next = l->next;
  else s->running = l->next;
  if (l->next != NULL) l->next->prev = l->prev;
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv);
  free(l);
}

static napi_value errno_error(napi_env env, int err) {
  char text[160];
  const char *name = strerrorname_np(err);
  snprintf(text, sizeof text, "sendmsg: %s", strerror(err));
  napi_value msg, code, error, num;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_string_utf8(env, name != NULL ? name : "", NAPI_AUTO_LENGTH, &code);
  napi_set_named_property(env, error, "code", code);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  return error;
}

/* On the main thread: the send is done; call its callback and let go of its buffers. */
static void call_js(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused;
  sender_t *s = context;
  job_t *j = data;
  if (j->ended != NULL) {
    /* The thread posted this as its last act: the join waits at most for its return. env NULL: the environment is
     * going away, and its cleanup hook joins and frees the lanes still running. */
    if (env != NULL) join_lane(s, j->ended);
    free(j);
    return;
  }
  if (env != NULL) {
    napi_value cb, recv, arg;
    napi_get_undefined(env, &recv);
    arg = recv;
    if (j->status != 0) arg = errno_error(env, -j->status);
    if (napi_get_reference_value(env, j->callback, &cb) == napi_ok && cb != NULL) napi_call_function(env, recv, cb, 1, &arg, NULL);
    napi_delete_reference(env, j->callback);
    if (--s->pending == 0) napi_unref_threadsafe_function(env, s->tsfn);
  }
  free(j);
}

static void cleanup(void *arg) {
  sender_t *s = arg;
  /* The environment is going away (process exit, worker end): here, and only here, the main thread waits for the
   * lanes' queues to drain (nothing of it serves DNS any more). */
  for (int i = 0; i < MAX_LANES; i++) s->lanes[i] = NULL;
  for (lane_t *l = s->running; l != NULL; l = l->next) stop_lane(l);
  while (s->running != NULL) join_lane(s, s->running);
  if (s->started) napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  free(s);
}

static int start(napi_env env, sender_t *s) {
  if (s->started) return 0;
  napi_value name;
  napi_create_string_utf8(env, "sandns.netlinkSend", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, s, call_js, &s->tsfn) != napi_ok) return -1;
  napi_unref_threadsafe_function(env, s->tsfn);
  s->started = 1;
  return 0;
}

static sender_t *state_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, NULL, &data);
  return data;
}

/* The lane `v` names, or NULL: a TypeError is thrown for a value that is no lane id, an Error (code EBADF) for the
 * id of a lane released since (or never adopted). */
static lane_t *lane_arg(napi_env env, sender_t *s, napi_value v, const char *usage) {
  int32_t id = -1;
  if (napi_get_value_int32(env, v, &id) != napi_ok || id < MAX_LANES) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  uint32_t slot = (uint32_t)id % MAX_LANES, gen = (uint32_t)id / MAX_LANES;
  if (s->lanes[slot] == NULL || s->gens[slot] != gen) {
    napi_throw_error(env, "EBADF", "netlink lane released (its socket was closed)");
    return NULL;
  }
  return s->lanes[slot];
}

/*
 * A duplicate of this process's rtnetlink socket bound to `port` in the namespace at nsPath ("" = this thread's),
 * descriptor `hint` tried first; -errno when there is none (-ENOENT) or more than one (-ENOTUNIQ). netlink_find.h
 * says why the protocol and the namespace are part of the match.
 */
static int dup_netlink(uint32_t port, const char *nsPath, int hint) {
  int found = find_netlink(port, NETLINK_ROUTE, nsPath, hint);
  if (found < 0) return found;
  int fd = fcntl(found, F_DUPFD_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

static napi_value LowestFreeFd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  state_of(env, info, &argc, NULL);
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 0); /* the lowest free number (stderr is always open in Node) */
  if (fd < 0) return int_value(env, -1);
  close(fd);
  return int_value(env, fd);
}

static napi_value Adopt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  sender_t *s = state_of(env, info, &argc, argv);
  uint32_t port = 0;
  int32_t hint = -1;
  char path[4096] = "";
  napi_valuetype vt = napi_undefined;
  size_t plen = 0;
  if (argc > 2) napi_typeof(env, argv[2], &vt);
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port == 0 ||
      (vt != napi_undefined && (napi_get_value_string_utf8(env, argv[2], path, sizeof path, &plen) != napi_ok || plen >= sizeof path - 1))) {
    napi_throw_type_error(env, NULL, "adopt(portId, hint?, nsPath?)");
    return NULL;
  }
  if (argc > 1 && napi_get_value_int32(env, argv[1], &hint) != napi_ok) hint = -1;
  int id = 0;
  while (id < MAX_LANES && s->lanes[id] != NULL) id++;
  if (id == MAX_LANES) return int_value(env, -EMFILE);
  if (start(env, s) != 0) return int_value(env, -ENOMEM);
  int fd = dup_netlink(port, path, hint);
  if (fd == -ENOTUNIQ) {
    napi_throw_error(env, "ENOTUNIQ", "adopt: two netlink sockets of this process have that port in that namespace; refusing to choose");
    return NULL;
  }
  if (fd < 0) return int_value(env, fd);
  lane_t *l = calloc(1, sizeof *l);
  if (l == NULL) {
    close(fd);
    return int_value(env, -ENOMEM);
  }
  l->owner = s;
  l->fd = fd;
  if (s->gens[id] == 0) s->gens[id] = 1;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  int err = pthread_create(&l->thread, NULL, run, l);
  if (err != 0) {
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
    close(fd);
    return int_value(env, -err);
  }
  s->lanes[id] = l;
  l->next = s->running;
  if (s->running != NULL) s->running->prev = l;
  s->running = l;
  return int_value(env, (int64_t)s->gens[id] * MAX_LANES + id);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  sender_t *s = state_of(env, info, &argc, argv);
  const char *usage = "send(lane, port, groups, data, callback)";
  if (argc < 5) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  lane_t *l = lane_arg(env, s, argv[0], usage);
  if (l == NULL) return NULL;
  uint32_t port = 0, groups = 0;
  napi_valuetype cbtype = napi_undefined;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_uint32(env, argv[2], &groups) != napi_ok ||
      napi_typeof(env, argv[4], &cbtype) != napi_ok || cbtype != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  bool is_buffer = false, is_array = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (!is_buffer) napi_is_array(env, argv[3], &is_array);
  uint32_t count = 1;
  job_t *j = NULL;
  if (is_array) napi_get_array_length(env, argv[3], &count);
  else if (!is_buffer) {
    napi_throw_type_error(env, NULL, "send: data must be a Buffer or an array of Buffers");
    return NULL;
  }
  /*
   * The buffers are copied, one after the other (sendmsg would gather them into one message anyway), into the
   * job's own block: JavaScript may change or drop them as soon as this returns (an array keeps its elements only
   * while nobody replaces them), while the thread sends this later.
   */
  size_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
      napi_value item = argv[3];
      if (is_array) napi_get_element(env, argv[3], i, &item);
      bool ok = false;
      void *data = NULL;
      size_t len = 0;
      napi_is_buffer(env, item, &ok);
      if (!ok || napi_get_buffer_info(env, item, &data, &len) != napi_ok || (pass == 1 && at + len > total)) {
        free(j);
        napi_throw_type_error(env, NULL, "send: data must be a Buffer or an array of Buffers");
        return NULL;
      }
      if (pass == 1 && len > 0) memcpy(j->bytes + at, data, len);
      at += len;
    }
    if (pass == 0) {
      total = at;
      j = calloc(1, sizeof *j + total);
      if (j == NULL) {
        napi_throw_error(env, NULL, "send: out of memory");
        return NULL;
      }
    }
  }
  j->port = port;
  j->groups = groups;
  j->len = total;
  napi_create_reference(env, argv[4], 1, &j->callback);
  if (s->pending++ == 0) napi_ref_threadsafe_function(env, s->tsfn);
  pthread_mutex_lock(&l->mu);
  if (l->tail) l->tail->next = j;
  else l->head = j;
  l->tail = j;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sender_t *s = state_of(env, info, &argc, argv);
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "release(lane)");
    return NULL;
  }
  lane_t *l = lane_arg(env, s, argv[0], "release(lane)");
  if (l == NULL) return NULL;
  for (int i = 0; i < MAX_LANES; i++) {
    if (s->lanes[i] != l) continue;
    s->lanes[i] = NULL;
    s->gens[i] = s->gens[i] == GEN_MAX ? 1 : s->gens[i] + 1; /* this id is dead from now on */
  }
  /* The thread sends what was queued, then exits and tells call_js, which joins it: nothing waits here. */
  stop_lane(l);
  return NULL;
}

static napi_value Pending(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  sender_t *s = state_of(env, info, &argc, NULL);
  return int_value(env, s->pending);
}

NAPI_MODULE_INIT() {
  sender_t *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  napi_add_env_cleanup_hook(env, cleanup, s);
  static const export_t table[] = {
    { "lowestFreeFd", LowestFreeFd }, { "adopt", Adopt }, { "send", Send }, { "release", Release }, { "pending", Pending },
  };
  EXPORT_ALL(env, exports, table, s);
  return exports;
}
