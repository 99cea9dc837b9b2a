#!/bin/bash
# CPU profile of the sandns server under dnsperf load, one scenario at a time
# (root): the same topology as anchor-sandns.sh; the profile covers the serving
# phase only (setup excluded) and is summarised by prof-top.js.
#   bash bench/profile.sh                       # a and fwd, 1,000 names, 10 s each
#   PROF_SCEN="a aaaa fwd-cached" PROF_N=10000 PROF_DUR=10 bash bench/profile.sh
# Output: $RES/prof/sandns-<n>-<scen>.cpuprofile and .txt (RES defaults to bench/results).

source "$(dirname "$0")/sandns-lib.sh"
PROF_SCEN="${PROF_SCEN:-a fwd}"
PROF_N="${PROF_N:-1000}"
PROF_DUR="${PROF_DUR:-10}"
trap cleanup EXIT
(cd "$ROOT" && npx tsc -p bench/tsconfig.json)

mkdir -p "$RES/prof"
sns_up
: > "$S_DIR/server.log"
sandns_upstream_start
wait_dns $SRV_NS $UPSTREAM fwd00001.upstream.bench
D=$(gen_data "$PROF_N")
for s in $PROF_SCEN; do
  case $s in nx|fwd) cache=off;; *) cache=on;; esac
  PROF_FILE="$RES/prof/sandns-$PROF_N-$s.cpuprofile"
  rm -f "$PROF_FILE"
  # warm-up before the profiler starts: srv_start returns once the server is ready (profiler on)
  srv_start "$PROF_N" "$cache"
  q="$D/$(qfile "$s")"
  out="$RES/prof/sandns-$PROF_N-$s.dnsperf.txt"
  _prof_run() { ip netns exec $CLI_SB taskset -c "$CLI_CPU" dnsperf -s 127.0.0.11 -d "$q" -l "$PROF_DUR" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 > "$out" 2>&1 || true; }
  guarded "$PROF_DUR" _prof_run   # a redone run adds to the same profile: the shares stay valid
  log "profile $s: $(awk '/Queries per second:/{print $4}' "$out") qps (profiler on, foreign ${FOREIGN}%)"
  srv_stop
  node "$ROOT/dist-bench/bench/prof-top.js" "$PROF_FILE" 30 > "${PROF_FILE%.cpuprofile}.txt"
  head -"${PROF_SHOW:-100}" "${PROF_FILE%.cpuprofile}.txt"
done
