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
  [ -f "$RES/rss-loaded.tsv" ] && { awk -F'\t' -v l="$label" '$1!=l' "$RES/rss-loaded.tsv" > "$RES/rss-loaded.tmp"; mv "$RES/rss-loaded.tmp" "$RES/rss-loaded.tsv"; }
  D=$(gen_data "$n")
  srv_start "$n" on
  sleep 2; record_rss "$label" "$n" "$SRV_PID"
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
