#!/bin/bash
# Docker 20.10's `network connect` / `disconnect` of a running container, for
# `npm run bench:lifecycle` (sandns ÷ Docker, same run). Everything is private:
# a scratch namespace for dockerd (its bridges live there), our own containerd
# (socket, root, state, opt path under a scratch dir), dockerd pointed at it;
# both stopped by PID at exit. Times come from Docker's API over its unix
# socket (curl's time_total: no CLI start-up), like sandns's are measured.
# Prints one JSON line: {"connect":[ms...],"disconnect":[ms...]} or {"error":...}.
#   bench/lifecycle-docker.sh [SAMPLES]
set -uo pipefail
N=${1:-20}
W=$(mktemp -d /tmp/sdlc-docker-XXXXXX)
NS="sdlcd$$"
CTRD_PID=""; DOCKERD_PID=""
SOCK="$W/docker.sock"
API="http://docker/v1.41"
fail() { printf '{"error":%s}\n' "$(printf '%s' "$1" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"; exit 0; }
down() {
  if [ -n "$DOCKERD_PID" ]; then
    curl -s --unix-socket "$SOCK" -X DELETE "$API/containers/lc?force=1" >/dev/null 2>&1
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
  fi
  if [ -n "$CTRD_PID" ]; then
    kill "$CTRD_PID" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$CTRD_PID" 2>/dev/null
  fi
  for m in $(awk -v w="$W" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$W"
}
trap down EXIT
DOCKERD=$(command -v dockerd) && command -v containerd >/dev/null || fail "dockerd or containerd missing (apt-get install -y docker.io)"
mkdir -p "$W/ctrd" "$W/data" "$W/exec" "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp"
cat > "$W/ctrd/config.toml" <<TOML
version = 2
root = "$W/ctrd/root"
state = "$W/ctrd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$W/ctrd/containerd.sock"
[ttrpc]
  address = "$W/ctrd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/ctrd/opt"
TOML
ip netns add "$NS" && ip -n "$NS" link set lo up || fail "cannot create namespace $NS"
nsenter --net=/run/netns/"$NS" containerd --config "$W/ctrd/config.toml" >"$W/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 100); do [ -S "$W/ctrd/containerd.sock" ] && break; sleep 0.1; done
[ -S "$W/ctrd/containerd.sock" ] || fail "containerd did not start: $(tail -3 "$W/containerd.log")"
nsenter --net=/run/netns/"$NS" "$DOCKERD" --containerd "$W/ctrd/containerd.sock" --storage-driver=vfs \
  --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --bridge=none --userland-proxy=false \
  --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" -H "unix://$SOCK" --log-level warn >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 120); do curl -sf --unix-socket "$SOCK" "$API/_ping" >/dev/null 2>&1 && break; sleep 0.25; done
curl -sf --unix-socket "$SOCK" "$API/_ping" >/dev/null || fail "dockerd did not start: $(tail -3 "$W/dockerd.log")"
DK=(/usr/bin/docker -H "unix://$SOCK")
cp /bin/busybox "$W/rootfs/bin/busybox"; for a in sh sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" . && "${DK[@]}" import "$W/rootfs.tar" local/bb:lc >/dev/null || fail "docker import failed"
"${DK[@]}" network create --subnet 10.78.1.0/24 lnet1 >/dev/null || fail "network create failed"
"${DK[@]}" network create --subnet 10.78.2.0/24 lnet2 >/dev/null || fail "network create failed"
"${DK[@]}" run -d --name lc --network lnet1 local/bb:lc sleep 3600 >/dev/null || fail "docker run failed: $(tail -3 "$W/dockerd.log")"
"${DK[@]}" run -d --name lpeer --network lnet2 local/bb:lc sleep 3600 >/dev/null || fail "docker run failed"
post() { curl -s -o "$W/out" -w '%{time_total}' --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' -d '{"Container":"lc"}' "$API/networks/lnet2/$1"; }
conn=(); disc=()
for _ in $(seq "$N"); do
  t=$(post connect); grep -q message "$W/out" 2>/dev/null && fail "connect: $(cat "$W/out")"; conn+=("$t")
  t=$(post disconnect); grep -q message "$W/out" 2>/dev/null && fail "disconnect: $(cat "$W/out")"; disc+=("$t")
done
to_ms() { printf '%s\n' "$@" | awk 'BEGIN{ORS=""; print "["} {printf "%s%.3f", (NR>1?",":""), $1*1000} END{print "]"}'; }
printf '{"connect":%s,"disconnect":%s,"dockerd":"%s"}\n' "$(to_ms "${conn[@]}")" "$(to_ms "${disc[@]}")" "$("$DOCKERD" --version | tr -d '\n')"
