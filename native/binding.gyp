{
  "targets": [
    {
      "target_name": "netns_socket",
      "sources": ["netns_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
