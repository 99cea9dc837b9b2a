#!/bin/bash
# unbound as a container-network resolver: one thread, the container names as
# local-data, listening on the bridge gateway, everything else forwarded to the
# bench's upstream (forward-zone "."), default caches. Unknown single-label
# names are forwarded once and then answered from its negative cache.
# Topology, scenarios and load: bench/lib.sh. Run alone: bash bench/servers/unbound.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_LABEL=unbound
command -v unbound >/dev/null || die "unbound missing (apt-get install -y unbound)"
U_DIR="$WORK/unbound"
U_PID=""

srv_scenarios() { peer_scenarios; }
srv_mode() { peer_mode "$1"; }
srv_start() {
  local n=$1
  mkdir -p "$U_DIR"
  {
    printf 'server:\n  interface: %s\n  port: 53\n  access-control: 10.89.0.0/16 allow\n' "$GW"
    printf '  do-daemonize: no\n  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n' "$U_DIR"
    printf '  use-syslog: no\n  logfile: ""\n  verbosity: 0\n  num-threads: 1\n  do-ip6: no\n'
    printf '  module-config: "iterator"\n  do-not-query-localhost: no\n'
    awk -F'\t' '{printf "  local-data: \"%s. 0 IN A %s\"\n", $1, $2}' "$WORK/data-$n/names.tsv"
    printf 'forward-zone:\n  name: "."\n  forward-addr: %s@53\n' "$UPSTREAM_IP"
  } > "$U_DIR/unbound.conf"
  unbound-checkconf "$U_DIR/unbound.conf" >/dev/null || die "unbound config rejected"
  spawn "$HOST_NS" "$U_DIR/stderr" taskset -c "$SRV_CPU" unbound -d -c "$U_DIR/unbound.conf"
  U_PID=$SPAWNED; SRV_PIDS=$U_PID
  TGT=(in_ns "$CLIENT_NS"); ADDR=$GW
  wait_answer "${TGT[@]}" "$ADDR" || die "unbound did not answer ($(tail -3 "$U_DIR/stderr"))"
}
srv_stop() { stop_pid "$U_PID"; U_PID=""; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bridge_topology
  upstream_start "$HOST_NS" "$UPSTREAM_IP"
  on_exit srv_stop
  run_server unbound
fi
