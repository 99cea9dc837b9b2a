#!/bin/bash
# Docker's embedded DNS (Debian docker.io, libnetwork's resolver at 127.0.0.11
# inside each container), asked from inside a container on a user-defined
# network, as a containerised application asks it.
#  - dockerd runs in a network namespace of the bench (no route out, no
#    iptables/NAT/forwarding: --iptables=false --ip-forward=false
#    --ip-masq=false --bridge=none) and in a private mount namespace whose
#    /etc/docker, /run/docker and /run/containerd are empty tmpfs (dockerd
#    writes a key and plugin/shim sockets there), so nothing of it lands on
#    the machine; data and exec roots, socket and CLI config are under WORK;
#    containers get the cgroup parent sbd<BENCH_ID>.
#  - the image is a busybox-static root filesystem imported with `docker
#    import` (no registry).
#  - names: the first container is the client; the names ctrNNNNN are
#    container names plus --network-alias (50 per container up to 1,000 names,
#    100 per container beyond), as the sandns runner spreads them.
#  - --dns 127.0.0.1: the embedded DNS forwards other names from the asking
#    container's namespace, so the bench's upstream listens on 127.0.0.1 there.
#  - all dockerd threads are pinned to SRV_CPU while measured.
# Topology, scenarios and load: bench/lib.sh. Run alone: bash bench/servers/docker.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_LABEL=docker
DOCKERD="${DOCKERD:-$(command -v dockerd || true)}"
[ -x /usr/bin/docker ] && [ -n "$DOCKERD" ] || die "dockerd or /usr/bin/docker missing (apt-get install -y docker.io)"
[ -x /bin/busybox ] || die "/bin/busybox missing (apt-get install -y busybox-static)"
K="$WORK/docker"
DNS_NS="sbd$BENCH_ID"
CGROUP="sbd$BENCH_ID"
IMAGE=sandns-bench/busybox:1
export DOCKER_CONFIG="$K/cli"
dk() { /usr/bin/docker -H "unix://$K/sock" "$@"; }
DOCKERD_PID=""
CLIENT_PID=""
NAMES_HELD=0

docker_up() {
  local d made=""
  mkdir -p "$K/data" "$K/exec" "$K/cli"
  echo '{}' > "$K/daemon.json"
  # masked directories: created (and removed at exit) only if the machine lacks them
  for d in /etc/docker /run/docker /run/containerd; do
    [ -d "$d" ] || { mkdir -p "$d"; made="$made $d"; }
  done
  [ -z "$made" ] || on_exit "rmdir $made"
  netns_new "$DNS_NS"
  nsenter --net="/run/netns/$DNS_NS" unshare --mount --propagation private sh -c \
    'for d in /etc/docker /run/docker /run/containerd; do mount -t tmpfs -o mode=0700 sandns-bench "$d" || exit 1; done; exec "$@"' sh \
    nice -n "$BENCH_NICE" "$DOCKERD" --config-file "$K/daemon.json" --data-root "$K/data" --exec-root "$K/exec" --pidfile "$K/dockerd.pid" \
    -H "unix://$K/sock" --storage-driver vfs --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --cgroup-parent "/$CGROUP" --dns 127.0.0.1 --log-level error > "$K/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  own_pid "$DOCKERD_PID"
  on_exit docker_down
  local i
  for i in $(seq 120); do dk info >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  dk info >/dev/null 2>&1 || die "dockerd did not start: $(tail -3 "$K/dockerd.log")"
  local r="$K/rootfs"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for d in sh sleep; do ln -s busybox "$r/bin/$d"; done
  tar -C "$r" -cf "$K/rootfs.tar" . && dk import "$K/rootfs.tar" "$IMAGE" >/dev/null
  dk network create --subnet 10.77.0.0/16 benchnet >/dev/null
  dk run -d --name client --network benchnet "$IMAGE" sleep 1000000 >/dev/null
  CLIENT_PID=$(dk inspect -f '{{.State.Pid}}' client)
}
docker_down() {
  local ids d
  if [ -S "$K/sock" ]; then
    ids=$(dk ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
    dk network rm benchnet >/dev/null 2>&1 || true
  fi
  stop_pid "$DOCKERD_PID" 30
  for d in /sys/fs/cgroup/*/"$CGROUP"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  return 0
}

# add_names FROM TO PER : containers holding ctrFROM..ctrTO, PER names each
add_names() {
  local from=$1 to=$2 per=$3 i j args
  for (( i=from; i<=to; i+=per )); do
    args=()
    for (( j=i+1; j<i+per && j<=to; j++ )); do args+=(--network-alias "$(ctr "$j")"); done
    dk run -d --name "$(ctr "$i")" --network benchnet "${args[@]}" "$IMAGE" sleep 1000000 >/dev/null
  done
}

srv_scenarios() { peer_scenarios; }
srv_mode() { peer_mode "$1"; }
# srv_start N : grow to N names (dockerd keeps running between sizes)
srv_start() {
  local n=$1 t0=$SECONDS per=50
  [ "$n" -le 1000 ] || per=100
  if [ "$NAMES_HELD" -lt "$n" ]; then
    [ "$NAMES_HELD" -lt 1000 ] && [ "$n" -gt 1000 ] && { add_names $(( NAMES_HELD + 1 )) 1000 50; NAMES_HELD=1000; }
    add_names $(( NAMES_HELD + 1 )) "$n" "$per"
    NAMES_HELD=$n
    log "$n names in $(dk ps -q | wc -l) containers ($(( SECONDS - t0 )) s)"
  fi
  taskset -a -cp "$SRV_CPU" "$DOCKERD_PID" >/dev/null
  SRV_PIDS=$DOCKERD_PID
  TGT=(in_ns "/proc/$CLIENT_PID/ns/net"); ADDR=127.0.0.11
  wait_answer "${TGT[@]}" "$ADDR" || die "the embedded DNS did not answer"
}
# between sizes dockerd stays up; only the pinning is lifted (container starts use both cores)
srv_stop() { taskset -a -cp "0-$(( $(nproc) - 1 ))" "$DOCKERD_PID" >/dev/null 2>&1 || true; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  docker_up
  # the upstream, where the embedded DNS forwards from: 127.0.0.1 in the client's namespace
  upstream_start "/proc/$CLIENT_PID/ns/net" 127.0.0.1
  run_server docker
fi
