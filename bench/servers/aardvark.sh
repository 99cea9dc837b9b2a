#!/bin/bash
# aardvark-dns (Debian aardvark-dns, Podman's resolver) run as netavark runs it:
# a config directory with one file per network (first line: the addresses to
# listen on, here the bridge gateway; then "id ipv4 ipv6 names" per container).
# It answers per source address (queries come from 10.89.0.2 = ctr00001) and
# forwards other names to the nameservers of /etc/resolv.conf, so it runs in a
# private mount namespace where /etc/resolv.conf is a bind mount of a file
# naming only the bench's upstream. `aardvark-dns run` forks; the child writes
# its PID to CONFIG_DIR/aardvark.pid.
# Topology, scenarios and load: bench/lib.sh. Run alone: bash bench/servers/aardvark.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_LABEL=aardvark
AARDVARK="${AARDVARK:-/usr/lib/podman/aardvark-dns}"
[ -x "$AARDVARK" ] || die "$AARDVARK missing (apt-get install -y aardvark-dns)"
A_DIR="$WORK/aardvark"
A_PID=""

srv_scenarios() { peer_scenarios; }
srv_mode() { peer_mode "$1"; }
srv_start() {
  local n=$1 i
  rm -rf "$A_DIR"; mkdir -p "$A_DIR/config"
  echo "nameserver $UPSTREAM_IP" > "$A_DIR/resolv.conf"
  {
    echo "$GW"
    awk -F'\t' '{printf "%064x %s  %s\n", NR, $2, $1}' "$WORK/data-$n/names.tsv"
  } > "$A_DIR/config/benchnet"
  in_ns "$HOST_NS" unshare --mount sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
    "$A_DIR/resolv.conf" nice -n "$BENCH_NICE" taskset -c "$SRV_CPU" "$AARDVARK" --config "$A_DIR/config" -p 53 run > "$A_DIR/stderr" 2>&1
  for i in $(seq 50); do [ -s "$A_DIR/config/aardvark.pid" ] && break; sleep 0.1; done
  A_PID=$(cat "$A_DIR/config/aardvark.pid" 2>/dev/null) || die "aardvark-dns wrote no PID ($(tail -3 "$A_DIR/stderr"))"
  own_pid "$A_PID"; SRV_PIDS=$A_PID
  TGT=(in_ns "$CLIENT_NS"); ADDR=$GW
  wait_answer "${TGT[@]}" "$ADDR" || die "aardvark-dns did not answer ($(tail -3 "$A_DIR/stderr"))"
}
srv_stop() { stop_pid "$A_PID"; A_PID=""; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bridge_topology
  upstream_start "$HOST_NS" "$UPSTREAM_IP"
  on_exit srv_stop
  run_server aardvark
fi
