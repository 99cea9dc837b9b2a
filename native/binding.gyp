{
  "targets": [
    {
      "target_name": "netns_socket",
      "sources": ["netns_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "upstream_udp",
      "sources": ["upstream_udp.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "listener_udp",
      "sources": ["listener_udp.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "netlink_send",
      "sources": ["netlink_send.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "libraries": ["-lpthread"]
    }
  ]
}
