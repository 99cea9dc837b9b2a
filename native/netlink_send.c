/*
 * sandns native helper: rtnetlink sendmsg(2) off the main thread.
 *
 * The kernel does an rtnetlink request's work inside the sender's sendmsg(2),
 * under the RTNL lock (rtnetlink(7)): creating a veth pair costs ~1 ms there,
 * deleting or moving one ~15-30 ms (the unregister path waits for RCU
 * grace periods). The `netlink` package sends synchronously on the calling
 * thread, so each of those blocked the daemon's event loop, and with it every
 * sandbox's DNS answers. This addon owns one sender thread per Node
 * environment: requests queue in order (per socket and overall: the RTNL lock
 * serialises them in the kernel anyway), the thread sends each one, and the
 * completion comes back to JavaScript through a thread-safe function. Replies
 * are not read here: the kernel queues them on the socket, whose owner (the
 * package's poll handler on the main thread) reads them as before.
 *
 * adopt(portId) -> fd (>= 0) or -errno
 *   A private duplicate (F_DUPFD_CLOEXEC) of this process's netlink socket
 *   bound to portId (its nl_pid), found by getsockname over /proc/self/fd
 *   (the package does not expose its descriptor). The duplicate is ours: the
 *   package closing its descriptor cannot make a queued send hit a reused fd
 *   number. -ENOENT when no socket has that port.
 * send(fd, port, groups, data: Buffer | Buffer[], callback(error?))
 *   Queue one sendmsg(2) of data to the netlink address (port, groups) on fd.
 *   callback runs on the main thread with undefined, or an Error whose `code`
 *   is the errno name ("EPERM") and `errno` its number.
 * release(fd)
 *   Close fd once every send queued before this call is done.
 * pending() -> number of sends queued or in flight.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/netlink.h>

typedef struct job {
  struct job *next;
  int fd;
  int close_only; /* release(): close fd, no callback */
  uint32_t port, groups;
  struct iovec *iov;
  size_t niov;
  napi_ref data; /* keeps the buffers alive until the send is done */
  napi_ref callback;
  int status;    /* 0 or -errno */
} job_t;

/* Per Node environment (the daemon has one; a test runner may load the addon in several worker threads). */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *head, *tail;
  int stop;
  int started;
  pthread_t thread;
  napi_threadsafe_function tsfn;
  uint32_t pending; /* main thread only */
} sender_t;

static void enqueue(sender_t *s, job_t *j) {
  pthread_mutex_lock(&s->mu);
  if (s->tail) s->tail->next = j;
  else s->head = j;
  s->tail = j;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* One sendmsg, retried on EINTR, and on EAGAIN/ENOBUFS (a full socket buffer) after waiting up to 1 s for room. */
static int send_one(job_t *j) {
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = j->port;
  addr.nl_groups = j->groups;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof addr;
  msg.msg_iov = j->iov;
  msg.msg_iovlen = j->niov;
  for (int tries = 0;; tries++) {
    ssize_t n = sendmsg(j->fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && tries < 3) {
      struct pollfd p = { .fd = j->fd, .events = POLLOUT, .revents = 0 };
      poll(&p, 1, 1000);
      continue;
    }
    return -errno;
  }
}

static void *run(void *arg) {
  sender_t *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    while (s->head == NULL && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    job_t *j = s->head;
    if (j == NULL) { /* stopping and drained */
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    s->head = j->next;
    if (s->head == NULL) s->tail = NULL;
    pthread_mutex_unlock(&s->mu);
    if (j->close_only) {
      close(j->fd);
      free(j);
      continue;
    }
    j->status = send_one(j);
    if (napi_call_threadsafe_function(s->tsfn, j, napi_tsfn_blocking) != napi_ok) {
      /* The environment is going away: its references die with it. */
      free(j->iov);
      free(j);
    }
  }
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
  if (env != NULL) {
    napi_value cb, recv, arg;
    napi_get_undefined(env, &recv);
    arg = recv;
    if (j->status != 0) arg = errno_error(env, -j->status);
    if (napi_get_reference_value(env, j->callback, &cb) == napi_ok && cb != NULL) napi_call_function(env, recv, cb, 1, &arg, NULL);
    napi_delete_reference(env, j->callback);
    napi_delete_reference(env, j->data);
    if (--s->pending == 0) napi_unref_threadsafe_function(env, s->tsfn);
  }
  free(j->iov);
  free(j);
}

static void cleanup(void *arg) {
  sender_t *s = arg;
  if (s->started) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  }
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
}

static int start(napi_env env, sender_t *s) {
  if (s->started) return 0;
  napi_value name;
  napi_create_string_utf8(env, "sandns.netlinkSend", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, s, call_js, &s->tsfn) != napi_ok) return -1;
  napi_unref_threadsafe_function(env, s->tsfn);
  if (pthread_create(&s->thread, NULL, run, s) != 0) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    return -1;
  }
  s->started = 1;
  return 0;
}

static sender_t *state_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, NULL, &data);
  return data;
}

static napi_value int_value(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value Adopt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  state_of(env, info, &argc, argv);
  uint32_t port = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port == 0) {
    napi_throw_type_error(env, NULL, "adopt(portId)");
    return NULL;
  }
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return int_value(env, -errno);
  int found = -ENOENT;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    char *end = NULL;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct sockaddr_nl sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    if (getsockname((int)fd, (struct sockaddr *)&sa, &len) < 0 || sa.nl_family != AF_NETLINK || sa.nl_pid != port) continue;
    found = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
    if (found < 0) found = -errno;
    break;
  }
  closedir(dir);
  return int_value(env, found);
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  sender_t *s = state_of(env, info, &argc, argv);
  int32_t fd = -1;
  uint32_t port = 0, groups = 0;
  napi_valuetype cbtype = napi_undefined;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &groups) != napi_ok || napi_typeof(env, argv[4], &cbtype) != napi_ok || cbtype != napi_function) {
    napi_throw_type_error(env, NULL, "send(fd, port, groups, data, callback)");
    return NULL;
  }
  bool is_buffer = false, is_array = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (!is_buffer) napi_is_array(env, argv[3], &is_array);
  uint32_t count = 1;
  if (is_array) napi_get_array_length(env, argv[3], &count);
  else if (!is_buffer) {
    napi_throw_type_error(env, NULL, "send: data must be a Buffer or an array of Buffers");
    return NULL;
  }
  struct iovec *iov = calloc(count == 0 ? 1 : count, sizeof *iov);
  if (iov == NULL) {
    napi_throw_error(env, NULL, "send: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item = argv[3];
    if (is_array) napi_get_element(env, argv[3], i, &item);
    bool ok = false;
    napi_is_buffer(env, item, &ok);
    if (!ok || napi_get_buffer_info(env, item, &iov[i].iov_base, &iov[i].iov_len) != napi_ok) {
      free(iov);
      napi_throw_type_error(env, NULL, "send: data must be a Buffer or an array of Buffers");
      return NULL;
    }
  }
  if (start(env, s) != 0) {
    free(iov);
    napi_throw_error(env, NULL, "send: cannot start the sender thread");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    free(iov);
    napi_throw_error(env, NULL, "send: out of memory");
    return NULL;
  }
  j->fd = fd;
  j->port = port;
  j->groups = groups;
  j->iov = iov;
  j->niov = count;
  napi_create_reference(env, argv[3], 1, &j->data);
  napi_create_reference(env, argv[4], 1, &j->callback);
  if (s->pending++ == 0) napi_ref_threadsafe_function(env, s->tsfn);
  enqueue(s, j);
  return NULL;
}

static napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sender_t *s = state_of(env, info, &argc, argv);
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "release(fd)");
    return NULL;
  }
  if (!s->started) {
    close(fd);
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    close(fd); /* nothing queued can still need it only if sends are pending; they fail with EBADF then */
    return NULL;
  }
  j->fd = fd;
  j->close_only = 1;
  enqueue(s, j);
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
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  napi_add_env_cleanup_hook(env, cleanup, s);
  const char *names[] = { "adopt", "send", "release", "pending" };
  napi_callback fns[] = { Adopt, Send, Release, Pending };
  for (int i = 0; i < 4; i++) {
    napi_value fn;
    napi_create_function(env, names[i], NAPI_AUTO_LENGTH, fns[i], s, &fn);
    napi_set_named_property(env, exports, names[i], fn);
  }
  return exports;
}
