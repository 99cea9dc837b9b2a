# shellcheck shell=bash
# sandns side of the shared container-DNS bench (issue 3), sourced by
# anchor-sandns.sh and profile.sh. Same harness as
# the peers (shared/bench/lib.sh: dnsperf pinned to core 0, server to core 1,
# guarded runs, runs.tsv/latency.tsv/rss.tsv), same query files (gen_data).
#  - netns dnsb-srv: the scratch "host" namespace. bench/server.ts runs there
#    (taskset core 1), so the controller's bridge and the host-side veths live
#    there. Entered with `nsenter --net`, not `ip netns exec`: the latter also
#    gives the process a private mount namespace, so the /run/netns/<name>
#    mounts of the sandboxes it creates would be invisible to dnsperf. The
#    upstream (unbound, static zone + an SOA for ".") listens on
#    127.0.0.53 there, and the origin resolv.conf names only that address.
#  - the controller creates netns dnsb-scli (client sandbox) and dnsb-spNNN
#    (peer sandboxes holding the ctrNNNNN names: 20 × 50 or 100 × 100).
#  - dnsperf runs inside dnsb-scli against 127.0.0.11, as the Docker anchor does.
# Knobs (besides lib.sh's): NODE_OPTS (node flags), PROF_FILE (CPU profile of the
# serving phase, written when the server stops; see profile.sh).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/bench}"
RES="${RES:-$ROOT/bench/results}"   # never the peers' own results/
export RES
# shellcheck source=/dev/null
source "$PEERS_DIR/lib.sh"

S_DIR="$WORK/sandns"
SERVER_JS="${SERVER_JS:-$ROOT/dist-bench/bench/server.js}"
PFX=dnsb-s                       # netns / bridge prefix the server uses
CLI_SB=${PFX}cli
SRV_PID=""

# ---------- the scratch host namespace and the upstream ----------
sns_up() {
  sns_down
  ip netns add $SRV_NS
  ip -n $SRV_NS link set lo up
  mkdir -p "$S_DIR"
  # The origin resolv.conf: only the bench's loopback upstream, never this machine's servers.
  echo "nameserver $UPSTREAM" > "$S_DIR/origin.resolv.conf"
}
sns_down() {
  local n
  # netns the server made (fixed names; normally deleted by the server itself on SIGTERM)
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PFX}(cli|p[0-9]{3})$" || true); do
    ip netns del "$n" 2>/dev/null || true
  done
  ip netns del $SRV_NS 2>/dev/null || true
}

# upstream_start from lib.sh, plus an SOA for "." so its NXDOMAIN carries one
# (RFC 2308: without an SOA a negative answer is not cached, R13).
sandns_upstream_start() {
  local d="$WORK/upstream-sandns"
  mkdir -p "$d"
  {
    cat <<EOF
server:
  interface: $UPSTREAM
  port: 53
  access-control: 0.0.0.0/0 allow
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: "$d/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  do-ip6: no
  module-config: "iterator"
  local-zone: "." static
  local-data: ". 3600 IN SOA bench.invalid. hostmaster.bench.invalid. 1 3600 600 86400 3600"
EOF
    seq 1 1000 | awk '{printf "  local-data: \"fwd%05d.upstream.bench. 300 IN A 127.2.%d.%d\"\n",$1,int($1/250),($1%250)+1}'
  } > "$d/unbound.conf"
  unbound-checkconf "$d/unbound.conf" >/dev/null
  ip netns exec $SRV_NS taskset -c "$CLI_CPU" unbound -d -c "$d/unbound.conf" > "$d/log" 2>&1 &
  echo $! > "$d/launcher.pid"; UPSTREAM_PIDS="$UPSTREAM_PIDS $!"
}

# ---------- the sandns server ----------
srv_start() {   # srv_start N on|off
  local n=$1 cache=$2 sargs=() t0=$SECONDS
  [ -f "$SERVER_JS" ] || { echo "missing $SERVER_JS: run npx tsc -p bench/tsconfig.json (bench/run.sh does)" >&2; exit 1; }
  srv_stop
  rm -rf "$S_DIR/state" "$S_DIR/ready" "$S_DIR/ready.failed"
  [ -z "${PROF_FILE:-}" ] || sargs+=(--cpu-profile "$PROF_FILE")
  # shellcheck disable=SC2086
  nsenter --net=/run/netns/$SRV_NS taskset -c "$SRV_CPU" node ${NODE_OPTS:-} "$SERVER_JS" --names "$n" --cache "$cache" \
    --origin "$S_DIR/origin.resolv.conf" --work "$S_DIR/state" --ready "$S_DIR/ready" --prefix $PFX "${sargs[@]}" >> "$S_DIR/server.log" 2>&1 &
  SRV_PID=$!; echo $SRV_PID > "$S_DIR/server.pid"; SERVER_PIDS=$SRV_PID
  while [ ! -s "$S_DIR/ready" ]; do
    if [ -e "$S_DIR/ready.failed" ] || ! kill -0 "$SRV_PID" 2>/dev/null || [ $(( SECONDS - t0 )) -gt 600 ]; then
      echo "sandns server did not start (see $S_DIR/server.log)" >&2; tail -5 "$S_DIR/server.log" >&2; exit 1
    fi
    sleep 0.5
  done
  wait_dns $CLI_SB 127.0.0.11 ctr00001
  log "sandns up: $(cat "$S_DIR/ready")"
}
srv_stop() {   # SIGTERM: the server deletes its sandboxes and network (100 sandboxes take a while)
  local f="$S_DIR/server.pid" pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
cleanup() { srv_stop; upstream_stop sandns; sns_down; }

qfile() { case $1 in fwd-cached) echo q-fwd.txt;; nx-cached) echo q-nx.txt;; *) echo "q-$1.txt";; esac; }
has() { case " $SANDNS_SCEN " in *" $1 "*) return 0;; esac; return 1; }

# run LABEL DATADIR SCEN... : as lib.sh's run_scenarios, with the -cached names mapped to their query files
run() {
  local label=$1 d=$2 s q; shift 2
  for s in "$@"; do
    has "$s" || continue
    q="$d/$(qfile "$s")"
    ip netns exec $CLI_SB taskset -c "$CLI_CPU" dnsperf -s 127.0.0.11 -d "$q" -l 2 -c "$CLIENTS" -q "$OUTSTANDING" -t 2 >/dev/null 2>&1 || true
    perf_run "$label" "$s" "ip netns exec $CLI_SB" 127.0.0.11 "$q"
    lat_run "$label" "$s" "ip netns exec $CLI_SB" 127.0.0.11 "$q"
  done
}
show() {
  local q
  for q in "ctr00500 A" "ctr00500 AAAA" "nx00001 A" "fwd00001.upstream.bench A"; do
    # shellcheck disable=SC2086
    echo "$q: $(ip netns exec $CLI_SB dig +noall +comments +answer +authority @127.0.0.11 $q | grep -oE 'status: [A-Z]+|IN.*' | tr '\n' ' ')" >&2
  done
}

