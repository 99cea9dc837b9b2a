#!/bin/bash
# CPU profile of the sandns server under dnsperf load, one scenario at a time
# (root), in the topology of servers/sandns.sh; the profile covers the serving
# phase only (setup excluded) and is summarised by prof-top.js.
#   bash bench/profile.sh                       # a and fwd, 1,000 names, 10 s each
#   PROF_SCEN="a aaaa fwd-cached" PROF_N=10000 PROF_DUR=10 bash bench/profile.sh
# Output: $RES/prof/sandns-<n>-<scen>.cpuprofile and .txt (RES defaults to bench/results).
source "$(dirname "${BASH_SOURCE[0]}")/servers/sandns.sh"
PROF_SCEN="$(list "${PROF_SCEN:-a fwd}")"
PROF_N="${PROF_N:-1000}"
PROF_DUR="${PROF_DUR:-10}"
(cd "$REPO_ROOT" && npx tsc -p bench/tsconfig.json)
mkdir -p "$RES/prof"
sandns_env
D=$(make_data "$PROF_N")
for s in $PROF_SCEN; do
  PROF_FILE="$RES/prof/sandns-$PROF_N-$s.cpuprofile"
  rm -f "$PROF_FILE"
  srv_start "$PROF_N" "$(srv_mode "$s")"   # the profiler starts once the server is ready
  out="$RES/prof/sandns-$PROF_N-$s.dnsperf.txt"
  _prof_run() { _dnsperf "$D/$(query_file "$s")" "$out" -l "$PROF_DUR" -q "$OUTSTANDING"; }
  guarded "$PROF_DUR" _prof_run   # a redone run adds to the same profile: the shares stay valid
  log "profile $s: $(awk '/Queries per second:/{print $4}' "$out") QPS (profiler on, foreign ${FOREIGN}%)"
  srv_stop
  node "$REPO_ROOT/dist-bench/bench/prof-top.js" "$PROF_FILE" 30 > "${PROF_FILE%.cpuprofile}.txt"
  head -"${PROF_SHOW:-100}" "${PROF_FILE%.cpuprofile}.txt"
done
