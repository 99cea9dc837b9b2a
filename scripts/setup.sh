#!/usr/bin/env bash
# Installs everything sandns needs on Debian 12 with Node 20 (run as root):
# system tools (only the missing ones) and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v getent >/dev/null || need+=(libc-bin)
command -v ss >/dev/null || need+=(iproute2)
command -v unbound >/dev/null || need+=(unbound)
command -v runc >/dev/null || need+=(runc)
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)  # stale UDP flows of published ports (drivers/firewall/io/conntrack.ts)
command -v bridge >/dev/null || need+=(iproute2)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v python3 >/dev/null || need+=(python3)  # raw-socket spoofer and load generator of the FS1/FS5 tests
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
# The CNI plugin's scenarios (800, 810): Debian's CNI plugins, podman with its CNI backend, containerd and ctr.
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v podman >/dev/null || need+=(podman)
command -v containerd >/dev/null || need+=(containerd)
command -v unshare >/dev/null || need+=(util-linux)
# The overlay scenarios (710): a ping that sets DF (-M do) for the MTU check; busybox's cannot.
[ -x /usr/bin/ping ] || need+=(iputils-ping)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${need[*]}; run as root (apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The native helpers: sockets, rtnetlink and namespace pins inside network
# namespaces without spawning anything (required); upstream UDP queries at a
# few system calls each (FS1; without it sandns falls back to Node's dgram).
if [ ! -f native/build/Release/netns_socket.node ] || [ ! -f native/build/Release/upstream_udp.node ] ||
   [ -n "$(find native -maxdepth 1 \( -name '*.c' -o -name binding.gyp \) -newer native/build/Release/upstream_udp.node)" ]; then
  npm run build:native >/dev/null 2>&1 || { echo "setup: the native helper did not build (needs g++, make, python3): npm run build:native" >&2; exit 1; }
fi
