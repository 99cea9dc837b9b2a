#!/bin/bash
# A/B check of a resolver change on this noisy shared box (root): two compiled
# server trees measured alternately, round by round, same scenario and load.
#   cp -r dist-bench /tmp/ab-base; <change>; npx tsc -p bench/tsconfig.json
#   AB_A=/tmp/ab-base AB_B=dist-bench AB_SCEN="a fwd-cached" bash bench/ab.sh
# Prints QPS per round and the median per variant; each run is `guarded`.
source "$(dirname "$0")/sandns-lib.sh"
AB_A="${AB_A:?tree A, e.g. /tmp/ab-base}"
AB_B="${AB_B:-$ROOT/dist-bench}"
AB_SCEN="${AB_SCEN:-a}"
AB_N="${AB_N:-1000}"
AB_ROUNDS="${AB_ROUNDS:-3}"
AB_DUR="${AB_DUR:-5}"
trap cleanup EXIT

sns_up
: > "$S_DIR/server.log"
sandns_upstream_start
wait_dns $SRV_NS $UPSTREAM fwd00001.upstream.bench
D=$(gen_data "$AB_N")
out="$WORK/ab.txt"
_ab_run() { ip netns exec $CLI_SB taskset -c "$CLI_CPU" dnsperf -s 127.0.0.11 -d "$1" -l "$AB_DUR" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 > "$out" 2>&1 || true; }
for s in $AB_SCEN; do
  case $s in nx|fwd) cache=off;; *) cache=on;; esac
  q="$D/$(qfile "$s")"
  declare -A got=([A]="" [B]="")
  for r in $(seq 1 "$AB_ROUNDS"); do
    for v in A B; do
      if [ $v = A ]; then SERVER_JS="$AB_A/bench/server.js"; else SERVER_JS="$AB_B/bench/server.js"; fi
      srv_start "$AB_N" "$cache" 2>/dev/null
      ip netns exec $CLI_SB taskset -c "$CLI_CPU" dnsperf -s 127.0.0.11 -d "$q" -l 1 -c "$CLIENTS" -q "$OUTSTANDING" -t 2 >/dev/null 2>&1 || true
      guarded "$AB_DUR" _ab_run "$q"
      qps=$(awk '/Queries per second:/{printf "%.0f", $4}' "$out")
      got[$v]="${got[$v]} $qps"
      log "ab $s round $r $v: $qps qps (foreign ${FOREIGN}%)"
      srv_stop
    done
  done
  med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  a=$(echo "${got[A]}" | med); b=$(echo "${got[B]}" | med)
  echo "$s: A median $a (${got[A]# }) | B median $b (${got[B]# }) | B/A $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", b/a}')"
done
