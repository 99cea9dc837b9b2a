#!/bin/bash
# A/B of two sandns builds on this noisy shared machine (root): the two are
# started and measured alternately, round after round, on the same scenarios,
# load and upstream (bench/lib.sh, servers/sandns.sh), and the medians over the
# rounds are compared. A and B are each a git ref (built in a temporary
# worktree, removed on exit) or a compiled bench tree (a dist-bench directory).
#   AB_A=main AB_SCEN="a fwd-cached" bash bench/ab.sh          # main vs this working tree
#   AB_A=<commit> AB_B=<commit> AB_SCEN=fwd AB_ROUNDS=5 bash bench/ab.sh
# Knobs: AB_A (required), AB_B (default: this working tree, compiled now),
# AB_SCEN (default "a fwd-cached"), AB_N (names, 1000), AB_ROUNDS (3),
# AB_DUR (seconds per run, 5), LAT_QPS/LAT_DUR (the p99 run of each round).
# Results: $RES (default bench/results/ab): qps.tsv and lat.tsv with servers A and B.
export RES="${RES:-$(cd "$(dirname "$0")" && pwd)/results/ab}"
rm -rf "$RES"
source "$(dirname "${BASH_SOURCE[0]}")/servers/sandns.sh"
BENCH_LABEL=ab
AB_A="${AB_A:?AB_A: a git ref or a compiled dist-bench directory}"
AB_B="${AB_B:-}"
AB_SCEN="$(list "${AB_SCEN:-a fwd-cached}")"
AB_N="${AB_N:-1000}"
AB_ROUNDS="${AB_ROUNDS:-3}"
DUR="${AB_DUR:-5}"
REPS=1

# tree REF_OR_DIR NAME : TREE = a compiled bench tree for it
TREE=""
tree() {
  local src=$1 name=$2 w="$WORK/tree-$2"
  if [ -f "$src/bench/server.js" ]; then TREE=$(cd "$src" && pwd); return; fi
  git -C "$REPO_ROOT" rev-parse --verify -q "$src^{commit}" >/dev/null || die "AB_$name: '$src' is neither a git ref nor a compiled bench tree"
  git -C "$REPO_ROOT" worktree add -q --detach "$w" "$src" >&2
  on_exit "git -C '$REPO_ROOT' worktree remove --force '$w'"
  ln -s "$REPO_ROOT/node_modules" "$w/node_modules"
  if git -C "$REPO_ROOT" diff --quiet "$src" -- native/ 2>/dev/null && [ -d "$REPO_ROOT/native/build/Release" ]; then
    mkdir -p "$w/native/build" && cp -r "$REPO_ROOT/native/build/Release" "$w/native/build/"
  else
    (cd "$w" && npm run build:native >/dev/null 2>&1) || log "native helper of $src not built (nsenter children instead)"
  fi
  (cd "$w" && npx tsc -p bench/tsconfig.json >&2) || die "$src: bench tree does not compile"
  TREE="$w/dist-bench"
}
if [ -n "$AB_B" ]; then tree "$AB_B" B; else (cd "$REPO_ROOT" && npx tsc -p bench/tsconfig.json); TREE="$REPO_ROOT/dist-bench"; fi
TREE_B=$TREE
tree "$AB_A" A
TREE_A=$TREE
log "A = ${AB_A} ($TREE_A), B = ${AB_B:-working tree} ($TREE_B)"

sandns_env
D=$(make_data "$AB_N")
for s in $AB_SCEN; do
  for (( r=1; r<=AB_ROUNDS; r++ )); do
    for v in A B; do
      if [ $v = A ]; then SANDNS_TREE=$TREE_A; else SANDNS_TREE=$TREE_B; fi
      srv_start "$AB_N" "$(srv_mode "$s")"
      measure "$v" "$AB_N" "$s" "$D/$(query_file "$s")"
      srv_stop
    done
  done
done

# medians over the rounds: QPS, QPS per core of the server process (robust when
# other load shares the server's core), p99 at the fixed rate
awk -F'\t' 'FNR==1{next}
  FILENAME~/qps/{k=$3" "$1; q[k]=q[k]" "$5; if($12>0) c[k]=c[k]" "$5*100/$12}
  FILENAME~/lat/{p[$3" "$1]=p[$3" "$1]" "$8}
  function med(str,  a,n,i,j,t){ n=split(str,a," "); for(i=1;i<=n;i++) for(j=i+1;j<=n;j++) if(a[j]+0<a[i]+0){t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
  END{ for(k in q){ split(k,x," "); if(x[2]!="A") continue; b=x[1]" B"
         printf "%s: QPS A %.0f (%s) | B %.0f (%s) | B/A %.3f ; QPS/core A %.0f | B %.0f | B/A %.3f ; p99 ms A %s | B %s\n",
           x[1], med(q[k]), substr(q[k],2), med(q[b]), substr(q[b],2), med(q[b])/med(q[k]),
           med(c[k]), med(c[b]), med(c[b])/med(c[k]), med(p[k]), med(p[b]) } }' \
  "$RES/qps.tsv" "$RES/lat.tsv" | sort | tee "$RES/ab.txt"
