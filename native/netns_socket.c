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
 *
 * connectedUdp(nsPath, family, address, port, device) -> fd
 *   A UDP socket inside nsPath ("" = the calling namespace), bound to `device`
 *   first when it is not "" (SO_BINDTODEVICE), and connect()ed to
 *   address:port unless port is 0 (then the caller connects it: libuv must
 *   see an unconnected socket to let Node connect it). connect() binds a fresh
 *   ephemeral port (random in the kernel's range) and the route's source
 *   address, so the kernel delivers only datagrams from address:port, to that
 *   address, arriving on that device (RFC 5452 §9.1).
 *
 * trimDatagrams(fd, maxPayload) -> undefined
 *   Attach a classic BPF socket filter that cuts every datagram to at most
 *   maxPayload bytes of UDP payload in the kernel (a socket filter's return
 *   value is the number of bytes kept; the UDP header is 8 of them), so an
 *   oversized query costs the process a small read, not a 64 KiB one.
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
#include <sys/socket.h>
#include <unistd.h>
#include <linux/filter.h>

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

  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return throw_errno(env, "open /proc/thread-self/ns/net", errno);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return throw_errno(env, "open namespace", e);
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    close(self);
    close(target);
    return throw_errno(env, "setns", e);
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int err = fd < 0 ? errno : 0;
  if (!err && bind_it) {
    err = bind_and_listen(fd, family, address, port, tcp, do_listen);
    if (err) close(fd);
  }
  int back = setns(self, CLONE_NEWNET);
  int back_err = errno;
  close(self);
  close(target);
  if (back < 0) {
    /* The thread is in the wrong namespace: nothing safe can follow. */
    fprintf(stderr, "sandns: setns back to the original namespace failed: %s\n", strerror(back_err));
    abort();
  }
  if (err) return throw_errno(env, "socket", err);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static int connect_to(int fd, int family, const char *address, int port) {
  if (family == 6) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &sa.sin6_addr) != 1) return EINVAL;
    return connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? errno : 0;
  }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) return EINVAL;
  return connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? errno : 0;
}

static int open_connected(int family, const char *address, int port, const char *device) {
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  int err = 0;
  if (device[0] != '\0' && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)strlen(device)) < 0) err = errno;
  if (!err && port != 0) err = connect_to(fd, family, address, port);
  if (err) {
    close(fd);
    return -err;
  }
  return fd;
}

static napi_value ConnectedUdp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "connectedUdp(nsPath, family, address, port, device)");
    return NULL;
  }
  char path[4096], address[64], device[32];
  size_t len;
  int32_t family = 4, port = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) return throw_errno(env, "nsPath", EINVAL);
  napi_get_value_int32(env, argv[1], &family);
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &len) != napi_ok) return throw_errno(env, "address", EINVAL);
  napi_get_value_int32(env, argv[3], &port);
  if (napi_get_value_string_utf8(env, argv[4], device, sizeof device, &len) != napi_ok) return throw_errno(env, "device", EINVAL);
  int fd;
  if (path[0] == '\0') {
    fd = open_connected(family, address, port, device);
  } else {
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return throw_errno(env, "open /proc/thread-self/ns/net", errno);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int e = errno;
      close(self);
      return throw_errno(env, "open namespace", e);
    }
    if (setns(target, CLONE_NEWNET) < 0) {
      int e = errno;
      close(self);
      close(target);
      return throw_errno(env, "setns", e);
    }
    fd = open_connected(family, address, port, device);
    int back = setns(self, CLONE_NEWNET);
    int back_err = errno;
    close(self);
    close(target);
    if (back < 0) {
      fprintf(stderr, "sandns: setns back to the original namespace failed: %s\n", strerror(back_err));
      abort();
    }
  }
  if (fd < 0) return throw_errno(env, "connect", -fd);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
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

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "socketInNetns", NAPI_AUTO_LENGTH, SocketInNetns, NULL, &fn);
  napi_set_named_property(env, exports, "socketInNetns", fn);
  napi_create_function(env, "connectedUdp", NAPI_AUTO_LENGTH, ConnectedUdp, NULL, &fn);
  napi_set_named_property(env, exports, "connectedUdp", fn);
  napi_create_function(env, "trimDatagrams", NAPI_AUTO_LENGTH, TrimDatagrams, NULL, &fn);
  napi_set_named_property(env, exports, "trimDatagrams", fn);
  return exports;
}
