#!/bin/bash
# sandns anchor (issue 3): measures sandns with the peers' harness, for 1,000
# and 10,000 names. Servers: cache on (the default) for a, aaaa, fwd-cached,
# nx-cached and the RSS; cache off (`forwarding: { cache: false }`) for nx and
# fwd ("uncached": NXDOMAIN / answers from the upstream on every query).
# Topology and knobs: sandns-lib.sh. Own knobs: SANDNS_N="1000 10000",
# SANDNS_SCEN="a aaaa nx fwd fwd-cached nx-cached".
source "$(dirname "$0")/sandns-lib.sh"
SANDNS_N="${SANDNS_N:-1000 10000}"
SANDNS_SCEN="${SANDNS_SCEN:-a aaaa nx fwd fwd-cached nx-cached}"
trap cleanup EXIT

sns_up
: > "$S_DIR/server.log"
sandns_upstream_start
wait_dns $SRV_NS $UPSTREAM fwd00001.upstream.bench
mkdir -p "$RES"
for n in $SANDNS_N; do
  label=sandns; [ "$n" = 1000 ] || label=sandns-$n
  reset_label "$label"
  for f in rss-loaded rss-settled; do
    [ -f "$RES/$f.tsv" ] && { awk -F'\t' -v l="$label" '$1!=l' "$RES/$f.tsv" > "$RES/$f.tmp"; mv "$RES/$f.tmp" "$RES/$f.tsv"; }
  done
  D=$(gen_data "$n")
  srv_start "$n" on
  sleep 2; record_rss "$label" "$n" "$SRV_PID"   # as the peers: 2 s after start (setup garbage included)
  # settled: V8's memory reducer gives the setup garbage (100 sandboxes: ~60 MB) back after
  # 10-25 idle seconds; wait for that drop (at most RSS_SETTLE s), before any load
  r0=$(rss_kb "$SRV_PID"); t1=$SECONDS; prev=0
  while [ $(( SECONDS - t1 )) -lt "${RSS_SETTLE:-40}" ]; do
    sleep 2; r=$(rss_kb "$SRV_PID")
    [ $(( r * 10 )) -lt $(( r0 * 8 )) ] && [ "$r" = "$prev" ] && break
    prev=$r
  done
  printf '%s\t%s\t%s\n' "$label" "$n" "$(rss_kb "$SRV_PID")" >> "$RES/rss-settled.tsv"
  log "rss settled $label: $(rss_kb "$SRV_PID") kB after $(( SECONDS - t1 + 2 )) s idle"
  show
  run "$label" "$D" a aaaa fwd-cached nx-cached
  printf '%s\t%s\t%s\n' "$label" "$n" "$(rss_kb "$SRV_PID")" >> "$RES/rss-loaded.tsv"
  log "rss after load $label: $(rss_kb "$SRV_PID") kB"
  if has nx || has fwd; then
    srv_start "$n" off
    run "$label" "$D" nx fwd
  fi
  srv_stop
done
