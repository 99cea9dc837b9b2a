#!/bin/bash
# dnsmasq (Debian dnsmasq-base) as a container-network resolver: the container
# names in an addn-hosts file, listening on the bridge gateway only, forwarding
# everything else to the bench's upstream (no-resolv + server=), single-label
# unknown names answered locally (domain-needed), default cache (150 entries).
# Topology, scenarios and load: bench/lib.sh. Run alone: bash bench/servers/dnsmasq.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_LABEL=dnsmasq
command -v dnsmasq >/dev/null || die "dnsmasq missing (apt-get install -y dnsmasq-base)"
D_DIR="$WORK/dnsmasq"
D_PID=""

srv_scenarios() { peer_scenarios; }
srv_mode() { peer_mode "$1"; }
srv_start() {
  local n=$1
  mkdir -p "$D_DIR"
  awk -F'\t' '{print $2, $1}' "$WORK/data-$n/names.tsv" > "$D_DIR/hosts"
  cat > "$D_DIR/dnsmasq.conf" <<CONF
keep-in-foreground
no-resolv
no-hosts
no-poll
server=$UPSTREAM_IP
addn-hosts=$D_DIR/hosts
domain-needed
listen-address=$GW
bind-interfaces
port=53
user=root
group=root
pid-file=
log-facility=$D_DIR/log
CONF
  spawn "$HOST_NS" "$D_DIR/stderr" taskset -c "$SRV_CPU" dnsmasq --conf-file="$D_DIR/dnsmasq.conf"
  D_PID=$SPAWNED; SRV_PIDS=$D_PID
  TGT=(in_ns "$CLIENT_NS"); ADDR=$GW
  wait_answer "${TGT[@]}" "$ADDR" || die "dnsmasq did not answer ($(tail -3 "$D_DIR/stderr"))"
}
srv_stop() { stop_pid "$D_PID"; D_PID=""; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bridge_topology
  upstream_start "$HOST_NS" "$UPSTREAM_IP"
  on_exit srv_stop
  run_server dnsmasq
fi
