#!/bin/bash
# `npm run bench` (root): sandns and its peers, one after the other in one run,
# on the same scenarios, load and upstream (bench/lib.sh), then
# bench/summary.ts prints every figure with sandns ÷ peer ratios from this run.
#   npm run bench                                      # everything (~45 min)
#   QUICK=1 npm run bench                              # DUR=3 REPS=1 LAT_DUR=3 NAMES=1000
#   SCEN=fwd,fwd-cached PEERS=dnsmasq,aardvark npm run bench
# Knobs (comma or space separated lists):
#   PEERS  docker,aardvark,dnsmasq,unbound (the default; "none" for sandns alone)
#   SCEN   a,aaaa,nx,fwd,fwd-cached,nx-cached   NAMES 1000,10000
#   DUR REPS WARM LAT_QPS LAT_DUR CLIENTS OUTSTANDING FOREIGN_MAX TRIES ... (bench/lib.sh)
#   RES    results directory (default bench/results, emptied first unless KEEP=1)
# Each server's runner is its own process and tears down what it made on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces, veths, port 53)" >&2; exit 1; }
if [ "${QUICK:-0}" = 1 ]; then
  export DUR="${DUR:-3}" REPS="${REPS:-1}" LAT_DUR="${LAT_DUR:-3}" NAMES="${NAMES:-1000}"
fi
PEERS="${PEERS:-docker aardvark dnsmasq unbound}"
PEERS="${PEERS//,/ }"
[ "$PEERS" != none ] || PEERS=""
export RES="${RES:-$HERE/results}" BENCH_ROOT_PID=$$

# shellcheck disable=SC2086
bash "$HERE/setup.sh" $PEERS
(cd "$ROOT" && npx tsc -p bench/tsconfig.json)
[ "${KEEP:-0}" = 1 ] || rm -rf "$RES"
mkdir -p "$RES"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: DUR=${DUR:-10} REPS=${REPS:-3} WARM=${WARM:-2} LAT_QPS=${LAT_QPS:-2000} LAT_DUR=${LAT_DUR:-5} CLIENTS=${CLIENTS:-10} OUTSTANDING=${OUTSTANDING:-100} NAMES=${NAMES:-1000 10000} SCEN=${SCEN:-a aaaa nx fwd fwd-cached nx-cached}"
  echo "node: $(node --version)"
  echo "dnsperf: $(dnsperf -h 2>&1 | awk '/Version/{print $NF; exit}')"
  echo "unbound: $(unbound -V 2>/dev/null | awk '/Version/{print $2; exit}')"
  for p in $PEERS; do
    case $p in
      docker) echo "docker: $(dockerd --version 2>/dev/null)";;
      aardvark) echo "aardvark: $(/usr/lib/podman/aardvark-dns --version 2>/dev/null)";;
      dnsmasq) echo "dnsmasq: $(dnsmasq --version 2>/dev/null | head -1)";;
    esac
  done
} > "$RES/env.txt"

failed=()
t0=$SECONDS
for s in sandns $PEERS; do
  echo "=== $s ($(( (SECONDS - t0) / 60 )) min) ===" >&2
  [ -f "$HERE/servers/$s.sh" ] || { echo "bench: no runner bench/servers/$s.sh" >&2; failed+=("$s"); continue; }
  timeout --signal=TERM "${SERVER_TIMEOUT:-5400}" bash "$HERE/servers/$s.sh" || { echo "bench: $s failed (rc=$?)" >&2; failed+=("$s"); }
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg); $(( (SECONDS - t0) / 60 )) min" >> "$RES/env.txt"
node "$ROOT/dist-bench/bench/summary.js" "$RES" | tee "$RES/summary.md"
[ "${#failed[@]}" -eq 0 ] || { echo "bench: failed: ${failed[*]}" >&2; exit 1; }
