#!/bin/bash
# `npm run bench` (issue 3), as root: sandns side by side with the peers on
# this machine, same harness (shared/bench/lib.sh), same query files, one run,
# then a summary with sandns ÷ peer ratios and PASS/MISS per target.
#   npm run bench                                 # full run, ~25 min
#   QUICK=1 npm run bench                         # DUR=3 REPS=1, sandns + aardvark, ~5 min
#   ANCHORS="sandns dnsmasq" SCEN="a fwd fwd-cached" DUR=5 npm run bench
# Knobs: DUR REPS LAT_DUR SCEN="a aaaa nx fwd fwd-cached nx-cached"
#   ANCHORS="sandns docker aardvark dnsmasq" (also: unbound) SANDNS_N="1000 10000"
#   AARDVARK_10K=1 (aardvark with 10,000 names: a, nx) DOCKER_10K=1 (dockerd RSS with 10,000 names)
#   PEERS_DIR (default ../shared/bench) RES (default bench/results; KEEP=1 keeps earlier results)
# Everything runs in namespaces this script creates, on loopback; each anchor
# tears down what it made (trap) and kills only its own PIDs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces, veths, port 53)" >&2; exit 1; }
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/bench}"
export RES="${RES:-$HERE/results}"
if [ "${QUICK:-0}" = 1 ]; then
  export DUR="${DUR:-3}" REPS="${REPS:-1}" LAT_DUR="${LAT_DUR:-3}"
  ANCHORS="${ANCHORS:-sandns aardvark}"
  AARDVARK_10K="${AARDVARK_10K:-0}"
fi
ANCHORS="${ANCHORS:-sandns docker aardvark dnsmasq}"
SCEN="${SCEN:-a aaaa nx fwd fwd-cached nx-cached}"
export SANDNS_SCEN="$SCEN"
PEER_SCEN=$(for s in $SCEN; do case $s in *-cached) ;; *) echo "$s";; esac; done | tr '\n' ' ')
export DUR REPS LAT_DUR RSS_SETTLE PEERS_DIR 2>/dev/null || true

for t in dnsperf unbound dig taskset nsenter; do command -v $t >/dev/null || { echo "bench: $t missing (apt-get install -y dnsperf unbound bind9-dnsutils)" >&2; exit 1; }; done
(cd "$ROOT" && npx tsc -p bench/tsconfig.json)
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$RES"; fi
mkdir -p "$RES"
{ date -u; uname -r; nproc; dnsperf -h 2>&1 | grep Version || true; node --version
  /usr/lib/podman/aardvark-dns --version 2>/dev/null || true; dnsmasq --version 2>/dev/null | head -1 || true
  unbound -V 2>/dev/null | head -1 || true; dockerd --version 2>/dev/null || true; } > "$RES/env.txt" 2>&1

t0=$SECONDS
for a in $ANCHORS; do
  echo "=== anchor $a ($(( (SECONDS - t0) / 60 )) min) ===" >&2
  case $a in
    sandns) timeout 3600 bash "$HERE/anchor-sandns.sh" || echo "anchor sandns failed (rc=$?)" >&2 ;;
    *)
      if [ ! -f "$PEERS_DIR/anchor-$a.sh" ]; then
        echo "bench: no peers' anchor $PEERS_DIR/anchor-$a.sh (set PEERS_DIR): sandns is measured alone" >&2; continue
      fi
      [ -n "$PEER_SCEN" ] || continue
      SCEN="$PEER_SCEN" timeout 3600 bash "$PEERS_DIR/anchor-$a.sh" || echo "anchor $a failed (rc=$?)" >&2
      if [ "$a" = aardvark ] && [ "${AARDVARK_10K:-1}" = 1 ]; then
        # aardvark's unknown-name path scans every name: the 10,000-name case of the issue
        s10=$(for s in a nx; do case " $PEER_SCEN " in *" $s "*) echo "$s";; esac; done | tr '\n' ' ')
        [ -z "$s10" ] || PERF_N=10000 SCEN="$s10" timeout 3600 bash "$PEERS_DIR/anchor-aardvark.sh" || echo "anchor aardvark-10000 failed" >&2
      fi ;;
  esac
done
echo "=== done in $(( (SECONDS - t0) / 60 )) min ===" >&2
node "$ROOT/dist-bench/bench/summary.js" "$RES" | tee "$RES/summary.md"
