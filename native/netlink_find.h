/*
 * Find this process's netlink socket by its address, for the addons that
 * tune or adopt a socket the `netlink` package made (the package does not
 * expose its descriptor).
 *
 * A netlink port id (nl_pid) is unique only per (network namespace,
 * protocol): the kernel keeps one port table per protocol and hashes each
 * entry with its namespace (net/netlink/af_netlink.c, netlink_lookup). The
 * package picks ports as (counter << 22) | pid with a counter of 1,024 values
 * (netlink/dist/raw.js generateLocalPort), so after 1,024 sockets a socket
 * made inside a sandbox's namespace can hold the very port of one in the
 * daemon's namespace. A socket is therefore matched on all three: its port,
 * its protocol (SO_PROTOCOL) and its namespace (ioctl SIOCGSKNS gives a
 * descriptor of the socket's namespace; two namespaces are the same when
 * their nsfs files have the same st_dev and st_ino).
 *
 * find_netlink(port, protocol, nsPath, hint) -> a descriptor of this process
 *   (not a duplicate: use it before anything can close it), -ENOENT when no
 *   socket matches, -ENOTUNIQ when descriptors of two different sockets match
 *   (the kernel forbids that: refused rather than guessed), or another -errno.
 *   nsPath: the namespace file the socket was made in (/run/netns/x); NULL or
 *   "" means the calling thread's namespace (/proc/thread-self/ns/net).
 *   hint: a descriptor tried first (-1: none); it is taken only if it matches.
 *   Descriptors of one socket (dup(2), a lane's private copy) count once: they
 *   share the socket's inode.
 */
#ifndef SANDNS_NETLINK_FIND_H
#define SANDNS_NETLINK_FIND_H
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>

#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C /* linux/sockios.h, Linux 4.9 */
#endif

/* The nsfs identity (st_dev, st_ino) of the namespace file `path` (NULL or "": this thread's); 0 or -errno. */
static inline int netns_identity(const char *path, struct stat *out) {
  int fd = open(path != NULL && path[0] != '\0' ? path : "/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = fstat(fd, out) < 0 ? -errno : 0;
  close(fd);
  return r;
}

/* Whether fd is a netlink socket of `protocol`, bound to `port`, in the namespace `ns`; *ino gets its socket inode. */
static inline int netlink_matches(int fd, uint32_t port, int protocol, const struct stat *ns, ino_t *ino) {
  struct sockaddr_nl sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.nl_family != AF_NETLINK || sa.nl_pid != port) return 0;
  int proto = -1;
  len = sizeof proto;
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 || proto != protocol) return 0;
  /* Needs CAP_NET_ADMIN over the socket's namespace; without it the socket cannot be proven ours: no match. */
  int nsfd = ioctl(fd, SIOCGSKNS);
  if (nsfd < 0) return 0;
  struct stat st, sock;
  int same = fstat(nsfd, &st) == 0 && st.st_dev == ns->st_dev && st.st_ino == ns->st_ino;
  close(nsfd);
  if (!same || fstat(fd, &sock) < 0) return 0;
  *ino = sock.st_ino;
  return 1;
}

static inline int find_netlink(uint32_t port, int protocol, const char *nsPath, int hint) {
  struct stat ns;
  int err = netns_identity(nsPath, &ns);
  if (err < 0) return err;
  ino_t ino = 0, first = 0;
  /* The kernel allows one socket per (namespace, protocol, port): a matching hint is that socket. */
  if (hint >= 0 && netlink_matches(hint, port, protocol, &ns, &ino)) return hint;
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -errno;
  int found = -ENOENT;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    char *end = NULL;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir) || !netlink_matches((int)fd, port, protocol, &ns, &ino)) continue;
    if (found < 0) {
      found = (int)fd;
      first = ino;
    } else if (ino != first) {
      found = -ENOTUNIQ;
      break;
    }
  }
  closedir(dir);
  return found;
}
#endif
