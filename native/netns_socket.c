/*
 * sandns native helper: create a socket inside another network namespace.
 *
 * setns(2) changes the namespace of the calling thread only. We switch this
 * thread into the target namespace, create (and optionally bind/listen) one
 * socket, and switch back before returning, so the Node main thread never
 * runs JavaScript in a foreign namespace. The socket keeps the namespace it
 * was created in (socket(7)); Node wraps the returned fd.
 *
 * socketInNetns(nsPath, family, type, address?, port?, listen?) -> fd
 *   family: 4 | 6; type: "udp" | "tcp"; address/port: bind when address is a string.
 * listenersInNetns(nsPath, family, address, port) -> [udpFd, tcpFd]
 *   A sandbox's two DNS listener sockets (UDP bound, TCP bound and
 *   listening) made with one switch into the namespace and one back: a
 *   restore opens them for every sandbox, so the switches count.
 * callInNetns(nsPath, fn) -> fn()
 *   Calls fn synchronously with this thread inside nsPath's namespace, then
 *   switches back (even when fn throws). Used to construct the `netlink`
 *   package's rtnetlink socket there: that package always calls socket(2)
 *   itself and cannot adopt an fd, so the thread must be in the namespace when
 *   it does. fn must be short and synchronous: only sockets it creates keep
 *   the namespace.
 * createNetns(path, loMark?) / removeNetns(path)
 *   What `ip netns add` / `ip netns del` do, in-process: /run/netns made a
 *   shared mount point, an empty file pinned by a bind mount of a fresh
 *   namespace (unshare(CLONE_NEWNET) on this thread only), then back. With
 *   loMark, before switching back: `lo` up with the ifalias loMark (one
 *   RTM_SETLINK on a netlink socket made there and closed again; as `ip -n X
 *   link set lo up alias M`). On any failure nothing is left: the pin is
 *   unmounted and its file removed.
 *
 * trimDatagrams(fd, maxPayload) -> undefined
 *   Attach a classic BPF socket filter that cuts every datagram to at most
 *   maxPayload bytes of UDP payload in the kernel (a socket filter's return
 *   value is the number of bytes kept; the UDP header is 8 of them), so an
 *   oversized query costs the process a small read, not a 64 KiB one.
 *
 * netlinkNoEnobufs(portId, nsPath?) -> number of sockets changed (0 or 1)
 *   Set NETLINK_NO_ENOBUFS (netlink(7)) on this process's rtnetlink socket
 *   bound to portId in the namespace at nsPath (absent: the calling thread's),
 *   found over /proc/self/fd by port, protocol and namespace (netlink_find.h:
 *   a port alone can name a socket of another namespace); two matches throw
 *   (errno ENOTUNIQ) and change nothing. Without it, a multicast socket
 *   whose receive queue overflows gets a pending ENOBUFS, epoll reports
 *   EPOLLERR, libuv hands the poll callback UV_EBADF, and netlink@0.3.0's
 *   handler then throws a C++ exception from a libuv callback: the process
 *   aborts. With it the kernel drops the events that do not fit, silently.
 *
 * netlinkOnlyType(portId, nlmsgType, nsPath?) -> number of sockets changed
 *   Attach a classic BPF filter to that socket (found as above) that keeps
 *   only messages of one type: a link watch that needs RTM_DELLINK alone is
 *   not woken, nor its queue filled, by the RTM_NEWLINK storm of a busy
 *   bridge (adding one port to a bridge of N ports notifies about 2N links).
 *   The kernel runs the filter on each multicast message before queueing it.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#ifndef IFALIASZ
#define IFALIASZ 256 /* linux/if.h, which clashes with net/if.h */
#endif
#include "addon.h"
#include "netlink_find.h"

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[320];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, "ERR_NETNS_SOCKET", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static int bind_and_listen(int fd, int family, const char *address, int port, int tcp, int do_listen) {
  int one = 1;
  if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == 6) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &sa.sin6_addr) != 1) return EINVAL;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return errno;
  } else {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) return EINVAL;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return errno;
  }
  if (tcp && do_listen && listen(fd, 511) < 0) return errno;
  return 0;
}

/* Switch back to `self` or stop: a thread left in a foreign namespace would run JavaScript there. */
static void switch_back(int self) {
  if (setns(self, CLONE_NEWNET) < 0) {
    fprintf(stderr, "sandns: setns back to the original namespace failed: %s\n", strerror(errno));
    abort();
  }
  close(self);
}

/*
 * Move this thread into the namespace at `path`; returns an fd of the namespace it came from (give it to
 * switch_back), or -1 with a JavaScript exception pending.
 */
static int enter_netns(napi_env env, const char *path) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    throw_errno(env, "open /proc/thread-self/ns/net", errno);
    return -1;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    throw_errno(env, "open namespace", e);
    return -1;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(self);
    close(target);
    throw_errno(env, "setns", e);
    return -1;
  }
  close(target);
  return self;
}

static napi_value SocketInNetns(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "socketInNetns(nsPath, family, type, address?, port?, listen?)");
    return NULL;
  }
  char path[4096], type[8], address[64] = "";
  size_t len;
  int32_t family = 4, port = 0;
  bool do_listen = false, bind_it = false;
  napi_valuetype vt;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) return throw_errno(env, "nsPath", EINVAL);
  napi_get_value_int32(env, argv[1], &family);
  if (napi_get_value_string_utf8(env, argv[2], type, sizeof type, &len) != napi_ok) return throw_errno(env, "type", EINVAL);
  if (argc > 3 && napi_typeof(env, argv[3], &vt) == napi_ok && vt == napi_string) {
    napi_get_value_string_utf8(env, argv[3], address, sizeof address, &len);
    bind_it = true;
  }
  if (argc > 4) napi_get_value_int32(env, argv[4], &port);
  if (argc > 5) napi_get_value_bool(env, argv[5], &do_listen);
  int tcp = strcmp(type, "tcp") == 0;

  int self = enter_netns(env, path);
  if (self < 0) return NULL;
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int err = fd < 0 ? errno : 0;
  if (!err && bind_it) {
    err = bind_and_listen(fd, family, address, port, tcp, do_listen);
    if (err) close(fd);
  }
  switch_back(self);
  if (err) return throw_errno(env, "socket", err);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value ListenersInNetns(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096], address[64];
  size_t len;
  int32_t family = 4, port = 0;
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || napi_get_value_int32(env, argv[1], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], address, sizeof address, &len) != napi_ok || napi_get_value_int32(env, argv[3], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "listenersInNetns(nsPath, family, address, port)");
    return NULL;
  }
  int af = family == 6 ? AF_INET6 : AF_INET;
  int self = enter_netns(env, path);
  if (self < 0) return NULL;
  int err = 0, udp = -1, tcp = -1;
  const char *what = "udp socket";
  udp = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (udp < 0) err = errno;
  if (!err) err = bind_and_listen(udp, family, address, port, 0, 0);
  if (!err) {
    what = "tcp socket";
    tcp = socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (tcp < 0) err = errno;
    if (!err) err = bind_and_listen(tcp, family, address, port, 1, 1);
  }
  switch_back(self);
  if (err) {
    if (udp >= 0) close(udp);
    if (tcp >= 0) close(tcp);
    return throw_errno(env, what, err);
  }
  napi_value result, v;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, udp, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, tcp, &v);
  napi_set_element(env, result, 1, v);
  return result;
}

static int get_path(napi_env env, napi_value v, char *out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, size, &len) != napi_ok || len == 0 || len >= size - 1) return -1;
  return 0;
}

static napi_value CallInNetns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || get_path(env, argv[0], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "callInNetns(nsPath, fn)");
    return NULL;
  }
  int self = enter_netns(env, path);
  if (self < 0) return NULL;
  napi_value global, result = NULL;
  napi_get_global(env, &global);
  napi_status st = napi_call_function(env, global, argv[1], 0, NULL, &result);
  switch_back(self);
  return st == napi_ok ? result : NULL; /* a pending JS exception propagates */
}

#define NETNS_RUN_DIR "/run/netns"

/* iproute2's netns_add: make /run/netns a shared mount point so pins propagate between mount namespaces. */
static int share_run_dir(void) {
  int made = 0;
  while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
    if (errno != EINVAL || made) return errno;
    if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0) return errno;
    made = 1;
  }
  return 0;
}

/* The loopback interface's index in every namespace (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
#define LOOPBACK_IFINDEX 1

/*
 * Bring lo up with the ifalias `mark` in this thread's namespace: one RTM_SETLINK (IFF_UP, IFLA_IFALIAS) on an
 * rtnetlink socket made here, and its acknowledgement. Returns 0 or an errno (the kernel's, from NLMSG_ERROR).
 */
static int lo_up(const char *mark) {
  size_t len = strlen(mark);
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    char attrs[RTA_SPACE(IFALIASZ)];
  } req;
  if (len == 0 || len >= IFALIASZ) return EINVAL;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_type = RTM_SETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = LOOPBACK_IFINDEX;
  req.ifi.ifi_flags = IFF_UP;
  req.ifi.ifi_change = IFF_UP;
  struct rtattr *alias = (struct rtattr *)((char *)&req + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifinfomsg))));
  alias->rta_type = IFLA_IFALIAS;
  alias->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(alias), mark, len);
  req.nh.nlmsg_len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifinfomsg))) + RTA_ALIGN(alias->rta_len);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  int err = 0;
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    err = errno;
  } else {
    union {
      struct nlmsghdr nh;
      char bytes[1024];
    } ack;
    ssize_t n;
    do n = recv(fd, &ack, sizeof ack, 0); while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
    else if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ack.nh.nlmsg_type != NLMSG_ERROR) err = EPROTO;
    else err = -((struct nlmsgerr *)NLMSG_DATA(&ack.nh))->error;
  }
  close(fd);
  return err;
}

static napi_value CreateNetns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096], mark[IFALIASZ];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_path(env, argv[0], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "createNetns(path, loMark?)");
    return NULL;
  }
  napi_valuetype mark_type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &mark_type);
  if (mark_type != napi_undefined && get_path(env, argv[1], mark, sizeof mark) < 0) {
    napi_throw_type_error(env, NULL, "createNetns(path, loMark?): loMark is 1 to 254 bytes");
    return NULL;
  }
  if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) return throw_errno(env, "mkdir " NETNS_RUN_DIR, errno);
  int err = share_run_dir();
  if (err) return throw_errno(env, "make " NETNS_RUN_DIR " a shared mount", err);
  int pin = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (pin < 0) return throw_errno(env, "create namespace file", errno);
  close(pin);
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    err = errno;
    unlink(path);
    return throw_errno(env, "open /proc/thread-self/ns/net", err);
  }
  if (unshare(CLONE_NEWNET) < 0) {
    err = errno;
    close(self);
    unlink(path);
    return throw_errno(env, "unshare(CLONE_NEWNET)", err);
  }
  err = mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0 ? errno : 0;
  int lo_err = err == 0 && mark_type != napi_undefined ? lo_up(mark) : 0;
  switch_back(self); /* the new namespace lives on through the bind mount alone */
  if (err) {
    unlink(path);
    return throw_errno(env, "bind-mount the namespace", err);
  }
  if (lo_err) {
    umount2(path, MNT_DETACH);
    unlink(path);
    return throw_errno(env, "link set lo up (rtnetlink, in the new namespace)", lo_err);
  }
  return NULL;
}

static napi_value RemoveNetns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_path(env, argv[0], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "removeNetns(path)");
    return NULL;
  }
  /* As `ip netns del`: detach the pin (EINVAL: not mounted), then remove the file. */
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) return throw_errno(env, "umount the namespace", errno);
  if (unlink(path) < 0 && errno != ENOENT) return throw_errno(env, "remove the namespace file", errno);
  return NULL;
}

static napi_value TrimDatagrams(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, max_payload = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &max_payload) != napi_ok || max_payload < 1) {
    napi_throw_type_error(env, NULL, "trimDatagrams(fd, maxPayload)");
    return NULL;
  }
  uint32_t keep = 8u + (uint32_t)max_payload;
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, keep, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, keep),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
  };
  struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) return throw_errno(env, "SO_ATTACH_FILTER", errno);
  return NULL;
}

/*
 * Apply `tune` to this process's rtnetlink socket bound to `port` in the namespace at nsPath (NULL: this thread's),
 * found as netlink_find.h says. Returns 1 when it was changed, 0 when no socket matched, or -errno (-ENOTUNIQ: two
 * sockets matched, and neither was changed).
 */
static int for_port_socket(uint32_t port, const char *nsPath, int (*tune)(int fd, const void *arg), const void *arg) {
  int fd = find_netlink(port, NETLINK_ROUTE, nsPath, -1);
  if (fd == -ENOENT) return 0;
  if (fd < 0) return fd;
  return tune(fd, arg) < 0 ? -errno : 1;
}

/* Argument i, a namespace path, into out ("" when absent or undefined); -1 when it is something else. */
static int optional_path(napi_env env, size_t argc, napi_value *argv, size_t i, char *out, size_t size) {
  out[0] = '\0';
  napi_valuetype vt = napi_undefined;
  if (argc > i) napi_typeof(env, argv[i], &vt);
  if (vt == napi_undefined) return 0;
  return get_path(env, argv[i], out, size);
}

static int set_no_enobufs(int fd, const void *arg) {
  (void)arg;
  int one = 1;
  return setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
}

static int attach_type_filter(int fd, const void *arg) {
  /* A classic BPF load of half a word reads big-endian; nlmsg_type is in host order, hence ntohs. */
  uint16_t type = *(const uint16_t *)arg;
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(type), 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

static napi_value port_result(napi_env env, int r, const char *what) {
  if (r == -ENOTUNIQ) return throw_errno(env, "two netlink sockets of this process have that port in that namespace; refusing to choose", ENOTUNIQ);
  if (r < 0) return throw_errno(env, what, -r);
  napi_value result;
  napi_create_int32(env, r, &result);
  return result;
}

static napi_value NetlinkNoEnobufs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t port = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port == 0 || optional_path(env, argc, argv, 1, path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "netlinkNoEnobufs(portId, nsPath?)");
    return NULL;
  }
  return port_result(env, for_port_socket(port, path, set_no_enobufs, NULL), "NETLINK_NO_ENOBUFS");
}

static napi_value NetlinkOnlyType(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[4096];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t port = 0, type = 0;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &port) != napi_ok || port == 0 ||
      napi_get_value_uint32(env, argv[1], &type) != napi_ok || type == 0 || type > 0xffff || optional_path(env, argc, argv, 2, path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "netlinkOnlyType(portId, nlmsgType, nsPath?)");
    return NULL;
  }
  uint16_t t = (uint16_t)type;
  return port_result(env, for_port_socket(port, path, attach_type_filter, &t), "SO_ATTACH_FILTER");
}

NAPI_MODULE_INIT() {
  static const export_t table[] = {
    { "socketInNetns", SocketInNetns }, { "listenersInNetns", ListenersInNetns }, { "callInNetns", CallInNetns },
    { "createNetns", CreateNetns }, { "removeNetns", RemoveNetns }, { "trimDatagrams", TrimDatagrams },
    { "netlinkNoEnobufs", NetlinkNoEnobufs }, { "netlinkOnlyType", NetlinkOnlyType },
  };
  EXPORT_ALL(env, exports, table, NULL);
  return exports;
}
