#!/usr/bin/env bash
# What `npm run bench` needs on Debian 12 (root): installs only the missing
# packages (apt-get update, then apt-get install -y), the npm packages and the
# native helper. Arguments: the peers to be measured (docker aardvark dnsmasq
# unbound); sandns and the load tools are always needed.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v unbound >/dev/null || need+=(unbound)              # the bench's upstream
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v ip >/dev/null || need+=(iproute2)
for t in nsenter unshare taskset flock; do command -v $t >/dev/null || need+=(util-linux); done
for p in "$@"; do
  case $p in
    docker)
      [ -x /usr/bin/docker ] && command -v dockerd >/dev/null || need+=(docker.io)
      [ -x /bin/busybox ] || need+=(busybox-static) ;;
    aardvark) [ -x /usr/lib/podman/aardvark-dns ] || need+=(aardvark-dns) ;;
    dnsmasq) command -v dnsmasq >/dev/null || need+=(dnsmasq-base) ;;
    unbound) ;;
    *) echo "bench setup: unknown peer '$p' (docker, aardvark, dnsmasq, unbound)" >&2; exit 2 ;;
  esac
done
if [ "${#need[@]}" -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++')
  if [ "$(id -u)" != 0 ]; then
    echo "bench setup: missing ${need[*]}; run as root (apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "bench setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A worktree whose node_modules is a symlink to another checkout's shares that install: npm ci
# here would empty the other checkout's node_modules through the link (it did, 2026-12-01), and a
# fresh worktree's package-lock.json is always newer than the shared install's.
if [ -L node_modules ]; then
  [ -f node_modules/.package-lock.json ] || { echo "bench setup: node_modules links to an empty install" >&2; exit 1; }
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ ! -f native/build/Release/netns_socket.node ] || [ native/netns_socket.c -nt native/build/Release/netns_socket.node ]; then
  npm run build:native >/dev/null 2>&1 || echo "bench setup: native helper not built (sandns will use nsenter children)" >&2
fi
