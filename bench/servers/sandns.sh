#!/bin/bash
# sandns: bench/server.ts (one controller, a bridge network, a client sandbox
# and peer sandboxes whose names are ctrNNNNN, 50 per endpoint up to 1,000
# names, 100 beyond) runs in a scratch "host" namespace, pinned to SRV_CPU;
# its bridge, host-side veths and the bench's upstream (127.0.0.53, the only
# nameserver of the origin resolv.conf it is given) live there. dnsperf runs
# inside the client sandbox against its own 127.0.0.11, as a container asks.
# Modes: "default" (the default reply cache) for a, aaaa, fwd-cached,
# nx-cached and the RSS figures; "nocache" (forwarding without a cache: every
# query goes upstream) for fwd and nx.
# Knobs: SANDNS_TREE (compiled bench tree, default dist-bench; ab.sh points it
# at another build), SANDNS_LABEL (server name in the results, default sandns),
# NODE_OPTS (node flags), PROF_FILE (CPU profile of the serving phase, see
# profile.sh), RSS_SETTLE (seconds to wait for V8 to return start-up garbage),
# RSS_MAPS=1 (after the load, the largest resident mappings into the log).
# Topology, scenarios and load: bench/lib.sh. Run alone: bash bench/servers/sandns.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_LABEL=${SANDNS_LABEL:-sandns}
SANDNS_TREE="${SANDNS_TREE:-$REPO_ROOT/dist-bench}"
S_DIR="$WORK/sandns"
PFX="sb$BENCH_ID"
S_PID=""

srv_mode() {
  case $1 in
    a|aaaa|fwd-cached|nx-cached) echo default;;
    fwd|nx) echo nocache;;
    *) die "unknown scenario $1";;
  esac
}
sandns_env() {
  netns_new "$HOST_NS"
  mkdir -p "$S_DIR"
  echo "nameserver $UPSTREAM_IP" > "$S_DIR/origin.resolv.conf"
  upstream_start "$HOST_NS" "$UPSTREAM_IP"
  on_exit srv_stop
  on_exit sandns_leftovers
}
# namespaces the server makes (normally deleted by itself when stopped)
sandns_leftovers() {
  local n
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PFX}(cli|p[0-9]{3})$" || true); do ip netns del "$n"; done
}
srv_start() {   # srv_start N MODE
  local n=$1 cache=on t0=$SECONDS js="$SANDNS_TREE/bench/server.js" extra=()
  [ "$2" = nocache ] && cache=off
  [ -f "$js" ] || die "missing $js (npx tsc -p bench/tsconfig.json)"
  [ -z "${PROF_FILE:-}" ] || extra+=(--cpu-profile "$PROF_FILE")
  rm -rf "$S_DIR/state" "$S_DIR/ready" "$S_DIR/ready.failed"
  # shellcheck disable=SC2086
  spawn "$HOST_NS" "$S_DIR/server.$n.$2.log" taskset -c "$SRV_CPU" node ${NODE_OPTS:-} "$js" --names "$n" --cache "$cache" \
    --origin "$S_DIR/origin.resolv.conf" --work "$S_DIR/state" --ready "$S_DIR/ready" --prefix "$PFX" "${extra[@]}"
  S_PID=$SPAWNED; SRV_PIDS=$S_PID
  while [ ! -s "$S_DIR/ready" ]; do
    [ ! -e "$S_DIR/ready.failed" ] && kill -0 "$S_PID" 2>/dev/null && [ $(( SECONDS - t0 )) -lt 600 ] ||
      die "the sandns bench server did not start: $(tail -5 "$S_DIR/server.$n.$2.log")"
    sleep 0.3
  done
  TGT=(in_ns "${PFX}cli"); ADDR=127.0.0.11
  wait_answer "${TGT[@]}" "$ADDR" || die "sandns did not answer in its client sandbox"
  log "up with $n names, cache $cache, in $(( SECONDS - t0 )) s"
}
# SIGTERM: the server deletes its sandboxes and network (100 sandboxes take a while)
srv_stop() { stop_pid "$S_PID" 120; S_PID=""; }
# RSS once V8's memory reducer has returned the start-up garbage: wait (at
# most RSS_SETTLE s) for a drop of 20 % that then holds still
srv_settled() {
  local n=$1 r0 r prev=0 t0=$SECONDS
  r0=$(rss_kb "$S_PID")
  while [ $(( SECONDS - t0 )) -lt "${RSS_SETTLE:-40}" ]; do
    sleep 2; r=$(rss_kb "$S_PID")
    [ $(( r * 10 )) -lt $(( r0 * 8 )) ] && [ "$r" = "$prev" ] && break
    prev=$r
  done
  record_rss "$BENCH_LABEL" "$n" settled "$S_PID"
}

# after the load: the server's memory by V8 heap space (SIGUSR2, bench/server.ts) into the run's log
srv_loaded() {
  local logf="$S_DIR/server.$1.default.log" before
  before=$(grep -c 'server memory MB' "$logf" 2>/dev/null || true)
  kill -USR2 "$S_PID" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ "$(grep -c 'server memory MB' "$logf" 2>/dev/null || true)" -gt "${before:-0}" ] && break; sleep 0.1; done
  log "memory after the load with $1 names: $(grep 'server memory MB' "$logf" 2>/dev/null | tail -1 | sed 's/^.*MB: //')"
  if [ "${RSS_MAPS:-0}" = 1 ]; then  # the largest resident mappings (kB), to see what is outside V8's heap
    awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6==""?"[anon]":$6); range=$1} /^Rss:/{if ($2>1024) print $2, name, range}' "/proc/$S_PID/smaps" | sort -rn | head -25 | while read -r l; do log "  rss kB: $l"; done
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  sandns_env
  run_server "$BENCH_LABEL"
fi
