# shellcheck shell=bash
# The benchmark's one library, sourced by every server runner (bench/servers/*.sh),
# by bench/ab.sh and bench/profile.sh. A runner describes how to start one DNS
# server with N container names; this file owns everything else, so that every
# server meets the same scenarios, the same load, the same upstream and the same
# accounting:
#
#   names      ctr00001..ctrN; name i has the address 10.89.H.L with H.L = i+1
#              (ctr00001 = 10.89.0.2 = the load generator's own address, so a
#              server that answers per source address sees a known container)
#   scenarios  a     ctrNNNNN A, random mix over the N names
#              aaaa  the same names, AAAA (IPv4-only names: NOERROR, no data)
#              nx    1,000 unknown single-label names (nxNNNNN A)
#              fwd   1,000 names only the upstream knows (fwdNNNNN.upstream.bench A)
#              fwd-cached / nx-cached: the fwd / nx questions with the server's
#              reply cache on. A runner maps each scenario to a server mode:
#              sandns runs fwd and nx with its cache off (every query goes
#              upstream) and the -cached ones with its default cache; a peer
#              runs everything in its own default configuration, so its fwd
#              and nx figures stand for both forms.
#   upstream   an unbound the bench starts: "." is a static local zone (it never
#              recurses, nothing leaves the machine) holding an SOA (so NXDOMAIN
#              is cacheable, RFC 2308 §5) and the 1,000 fwd names (A, TTL 300).
#              No server under test ever sees this machine's resolv.conf.
#   load       dnsperf pinned to CLI_CPU (with the upstream), the server pinned to
#              SRV_CPU. Per scenario: WARM s unrecorded, REPS runs of DUR s
#              uncapped (-c CLIENTS -q OUTSTANDING), then LAT_DUR s at a fixed
#              LAT_QPS with per-query latencies (-v) for p50/p99/p99.9/max.
#   noise      every recorded run samples each process's CPU time; time used by
#              processes that are not the bench's counts as foreign load, and a
#              run with more than FOREIGN_MAX % of a core of it is redone (at
#              most TRIES times; the value kept is in the results).
#   results    $RES/qps.tsv, lat.tsv, rss.tsv, env.txt (columns: see the
#              headers written by results_init); bench/summary.ts reads them.
#
# Resources: names carry BENCH_ID (default: this shell's PID in hex), so two
# runs never collide; everything made is registered with on_exit and torn down
# in reverse order when the runner exits, fails or is interrupted.
set -euo pipefail

BENCH_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_HOME/.." && pwd)"
RES="${RES:-$BENCH_HOME/results}"
BENCH_ID="${BENCH_ID:-$(printf '%x' $$)}"
# The process whose descendants are "ours" for the foreign-load accounting
# (bench/run.sh exports itself; a runner started alone uses its own shell).
BENCH_ROOT_PID="${BENCH_ROOT_PID:-$$}"

DUR="${DUR:-10}"
REPS="${REPS:-3}"
WARM="${WARM:-2}"
LAT_QPS="${LAT_QPS:-2000}"
LAT_DUR="${LAT_DUR:-5}"
CLIENTS="${CLIENTS:-10}"
OUTSTANDING="${OUTSTANDING:-100}"
SRV_CPU="${SRV_CPU:-1}"
CLI_CPU="${CLI_CPU:-0}"
FOREIGN_MAX="${FOREIGN_MAX:-5}"
TRIES="${TRIES:-4}"
QUIET_PCT="${QUIET_PCT:-15}"
QUIET_WAIT="${QUIET_WAIT:-120}"
RSS_DELAY="${RSS_DELAY:-2}"
# Niceness of every process the bench starts (servers, upstream, dnsperf): a
# negative value keeps other work on a shared machine from taking the pinned
# cores' time (the same for every server, so ratios stay fair). With the
# kernel's session autogroups, niceness only ranks threads of one session,
# so the bench's session group gets it too (restored on exit).
BENCH_NICE="${BENCH_NICE:-0}"
# Comma or space separated lists.
list() { echo "${1//,/ }"; }
SCEN="$(list "${SCEN:-a aaaa nx fwd fwd-cached nx-cached}")"
NAMES="$(list "${NAMES:-1000 10000}")"

log() { echo "[$(date +%H:%M:%S)] ${BENCH_LABEL:-bench}: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------- teardown stack ----------
_ON_EXIT=()
# on_exit CMD : run CMD (a string, eval'd) when the process exits; last registered runs first
on_exit() { _ON_EXIT+=("$1"); }
_run_exit() {
  local rc=$? i
  trap - EXIT INT TERM
  for (( i=${#_ON_EXIT[@]}-1; i>=0; i-- )); do eval "${_ON_EXIT[$i]}" >/dev/null 2>&1 || true; done
  exit $rc
}
trap _run_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK="$(mktemp -d "/tmp/sandns-bench.$BENCH_ID.XXXX")"
on_exit "rm -rf '$WORK'"
mkdir -p "$RES"
if [ "$BENCH_NICE" != 0 ] && [ -w /proc/self/autogroup ]; then
  _AG_NICE=$(awk '{print $NF}' /proc/self/autogroup)
  if echo "$BENCH_NICE" > "/proc/$$/autogroup" 2>/dev/null; then
    on_exit "echo $_AG_NICE > /proc/$$/autogroup"
  fi
fi

# ---------- processes: only ours, by PID ----------
OUR_PIDS=""
# own_pid PID : a process the bench started that is not its descendant (daemons that fork)
own_pid() { OUR_PIDS="$OUR_PIDS $1"; }
# stop_pid PID [SECONDS] : TERM, wait, then KILL
stop_pid() {
  local pid=$1 t=${2:-10} i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for (( i=0; i<t*10; i++ )); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------- namespaces ----------
# in_ns NS CMD... : run CMD in network namespace NS, a name under /run/netns or
# a path (/proc/PID/ns/net); nsenter keeps the mount namespace, so /run/netns
# entries made meanwhile stay visible (`ip netns exec` would hide them)
ns_path() { case $1 in /*) echo "$1";; *) echo "/run/netns/$1";; esac; }
in_ns() { local ns; ns=$(ns_path "$1"); shift; nsenter --net="$ns" "$@"; }
# spawn NS LOG CMD... : start CMD in the background in netns NS, output to LOG;
# SPAWNED = its PID (nsenter, nice and taskset exec, so it is CMD's own PID)
SPAWNED=""
spawn() {
  local ns out=$2; ns=$(ns_path "$1"); shift 2
  nsenter --net="$ns" nice -n "$BENCH_NICE" "$@" > "$out" 2>&1 &
  SPAWNED=$!
}
netns_new() {
  ip netns add "$1"
  on_exit "ip netns del '$1'"
  ip -n "$1" link set lo up
}

# bridge_topology : the layout of the bridge peers (aardvark-dns, dnsmasq,
# unbound): netns HOST_NS holds bridge BR (gateway GW, where the server listens)
# and the upstream on lo; netns CLIENT_NS holds a veth on that bridge with
# address CLIENT_IP, where dnsperf runs. No default route anywhere.
GW=10.89.0.1
CLIENT_IP=10.89.0.2
HOST_NS="sbh$BENCH_ID"
CLIENT_NS="sbc$BENCH_ID"
bridge_topology() {
  local br="sbb$BENCH_ID" v="sbv$BENCH_ID"
  netns_new "$HOST_NS"
  netns_new "$CLIENT_NS"
  ip -n "$HOST_NS" link add "$br" type bridge
  ip -n "$HOST_NS" addr add "$GW/16" dev "$br"
  ip -n "$HOST_NS" link set "$br" up
  ip -n "$HOST_NS" link add "$v" type veth peer name eth0 netns "$CLIENT_NS"
  ip -n "$HOST_NS" link set "$v" master "$br" up
  ip -n "$CLIENT_NS" addr add "$CLIENT_IP/16" dev eth0
  ip -n "$CLIENT_NS" link set eth0 up
}

# ---------- data ----------
ctr() { printf 'ctr%05d' "$1"; }
# make_data N : $WORK/data-N/{names.tsv (name, IPv4), q-a, q-aaaa, q-nx, q-fwd}
# (query files: 20,000 lines drawn with a fixed seed; dnsperf loops over them)
make_data() {
  local n=$1 d="$WORK/data-$1"
  if [ ! -e "$d/ok" ]; then
    mkdir -p "$d"
    awk -v n="$n" 'BEGIN{for(i=1;i<=n;i++) printf "ctr%05d\t10.89.%d.%d\n", i, int((i+1)/256), (i+1)%256}' > "$d/names.tsv"
    _draw() { awk -v t="$2" 'BEGIN{srand(1035)} {x[NR]=$1} END{for(i=0;i<20000;i++) print x[1+int(rand()*NR)], t}' "$1"; }
    cut -f1 "$d/names.tsv" > "$d/local.list"
    awk 'BEGIN{for(i=1;i<=1000;i++) printf "nx%05d\n", i}' > "$d/nx.list"
    awk 'BEGIN{for(i=1;i<=1000;i++) printf "fwd%05d.upstream.bench\n", i}' > "$d/fwd.list"
    _draw "$d/local.list" A > "$d/q-a"
    _draw "$d/local.list" AAAA > "$d/q-aaaa"
    _draw "$d/nx.list" A > "$d/q-nx"
    _draw "$d/fwd.list" A > "$d/q-fwd"
    touch "$d/ok"
  fi
  echo "$d"
}
# query_file SCENARIO : which query file a scenario sends
query_file() { local s=${1%-cached}; echo "q-$s"; }

# ---------- the upstream ----------
UPSTREAM_IP=127.0.0.53
# upstream_start NS IP : the bench's upstream unbound in netns NS on IP:53 (core CLI_CPU)
upstream_start() {
  local ns=$1 ip=$2 d="$WORK/upstream-${1//\//_}" pid i
  mkdir -p "$d"
  {
    printf 'server:\n  interface: %s\n  port: 53\n  access-control: 0.0.0.0/0 allow\n' "$ip"
    printf '  do-daemonize: no\n  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n' "$d"
    printf '  use-syslog: no\n  logfile: ""\n  verbosity: 0\n  num-threads: 1\n  do-ip6: no\n  module-config: "iterator"\n'
    printf '  local-zone: "." static\n'
    printf '  local-data: ". 3600 IN SOA ns.upstream.bench. admin.upstream.bench. 1 3600 600 86400 3600"\n'
    awk 'BEGIN{for(i=1;i<=1000;i++) printf "  local-data: \"fwd%05d.upstream.bench. 300 IN A 127.3.%d.%d\"\n", i, int(i/256), i%256}'
  } > "$d/unbound.conf"
  unbound-checkconf "$d/unbound.conf" >/dev/null || die "upstream config rejected (unbound-checkconf $d/unbound.conf)"
  spawn "$ns" "$d/log" taskset -c "$CLI_CPU" unbound -d -c "$d/unbound.conf"
  pid=$SPAWNED
  on_exit "stop_pid $pid"
  own_pid "$pid"
  for i in $(seq 50); do
    in_ns "$ns" dig +time=1 +tries=1 +short @"$ip" fwd00001.upstream.bench A 2>/dev/null | grep -q . && return 0
    sleep 0.2
  done
  die "upstream on $ip did not answer (log: $(tail -3 "$d/log"))"
}

# wait_answer EXEC... -- ADDR : wait until ADDR answers ctr00001 A (from inside EXEC's namespace)
wait_answer() {
  local addr=${*: -1} i
  local cmd=("${@:1:$#-1}")
  for i in $(seq 150); do
    "${cmd[@]}" dig +time=1 +tries=1 +short @"$addr" ctr00001 A 2>/dev/null | grep -q '^[0-9]' && return 0
    sleep 0.2
  done
  return 1
}

# ---------- CPU accounting ----------
HZ=$(getconf CLK_TCK)
# Every user-space process as "pid ppid cputicks" (kernel threads skipped: flag PF_KTHREAD).
_procs() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{s=$0; sub(/^[0-9]+ \(.*\) /,"",s); split(s,f," ");
    if (int(f[7]/2097152)%2==0) print $1, f[2], f[12]+f[13]}'
}
# _foreign FILE SECONDS : % of one core used by processes outside the bench,
# from snapshots separated by "--" lines (first snapshot: the start)
_foreign() {
  awk -v ours="$BENCH_ROOT_PID $$ $OUR_PIDS" -v hz="$HZ" -v s="$2" '
    BEGIN{n=split(ours,o," "); for(i=1;i<=n;i++) mine[o[i]]=1}
    $1=="--"{snap++; next}
    { par[$1]=$2; if(!($1 in t0)) t0[$1]=(snap==0)?$3:0; t1[$1]=$3 }
    END{ for(p in t1){ q=p; ok=0
           for(k=0;k<100 && q>1;k++){ if(q in mine){ok=1; break} if(!(q in par)) break; q=par[q] }
           if(!ok && t1[p]>t0[p]) used+=t1[p]-t0[p] }
         printf "%.1f", 100*used/hz/s }' "$1"
}
# _busy : whole-machine CPU busy % (sum over cores) over one second
_busy() {
  local a b
  a=$(awk '/^cpu /{b=0; for(i=2;i<=NF;i++) b+=$i; print b-$5-$6, b}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{b=0; for(i=2;i<=NF;i++) b+=$i; print b-$5-$6, b}' /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN{split(a,x," "); split(b,y," "); d=y[2]-x[2]; printf "%d", (d>0) ? n*100*(y[1]-x[1])/d : 0}'
}
_quiet() {
  local t0=$SECONDS b
  while :; do
    b=$(_busy)
    [ "$b" -le "$QUIET_PCT" ] && return 0
    [ $(( SECONDS - t0 )) -ge "$QUIET_WAIT" ] && { log "machine still busy (${b}% CPU) after ${QUIET_WAIT}s; measuring anyway"; return 0; }
    sleep 2
  done
}
# _cores SERVER_PIDS : "client_busy client_total server_busy server_total server_ticks" (jiffies)
_cores() {
  local t=0 p
  for p in $1; do
    [ -r "/proc/$p/stat" ] && t=$(( t + $(awk '{s=$0; sub(/^[0-9]+ \(.*\) /,"",s); split(s,f," "); print f[12]+f[13]}' "/proc/$p/stat") ))
  done
  awk -v c="cpu$CLI_CPU" -v v="cpu$SRV_CPU" -v t="$t" '$1==c{b=0; for(i=2;i<=NF;i++) b+=$i; cb=b-$5-$6; ct=b}
    $1==v{b=0; for(i=2;i<=NF;i++) b+=$i; vb=b-$5-$6; vt=b} END{print cb, ct, vb, vt, t}' /proc/stat
}
# FOREIGN after `guarded`: foreign load (% of a core) during the kept run
FOREIGN=0
# guarded SECONDS CMD... : run CMD on a quiet machine; redo it while foreign load > FOREIGN_MAX
guarded() {
  local secs=$1 try f="$WORK/procs" sampler; shift
  for (( try=1; try<=TRIES; try++ )); do
    _quiet
    _procs > "$f"
    ( while :; do sleep 0.5; echo --; _procs; done ) >> "$f" 2>/dev/null &
    sampler=$!
    "$@" || true
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    { echo --; _procs; } >> "$f"
    FOREIGN=$(_foreign "$f" "$secs")
    awk -v x="$FOREIGN" -v m="$FOREIGN_MAX" 'BEGIN{exit !(x<=m)}' && return 0
    [ "$try" -lt "$TRIES" ] && log "foreign load ${FOREIGN}% of a core during the run; redoing ($try/$TRIES)"
  done
  log "foreign load ${FOREIGN}% of a core persisted; keeping the last run"
}

# ---------- results ----------
results_init() {
  [ -s "$RES/qps.tsv" ] || printf 'server\tnames\tscenario\trep\tqps\tavg_ms\tsent\tlost\trcodes\tclient_core_pct\tserver_core_pct\tserver_proc_pct\tforeign_pct\tload1\n' > "$RES/qps.tsv"
  [ -s "$RES/lat.tsv" ] || printf 'server\tnames\tscenario\trate\tanswered\tlost\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tforeign_pct\tload1\n' > "$RES/lat.tsv"
  [ -s "$RES/rss.tsv" ] || printf 'server\tnames\twhen\trss_kb\n' > "$RES/rss.tsv"
}
results_init
# forget SERVER : drop earlier rows of SERVER, so one runner can be re-run into the same results
forget() {
  local f
  for f in qps lat rss; do
    awk -F'\t' -v s="$1" 'NR==1 || $1!=s' "$RES/$f.tsv" > "$RES/$f.tmp" && mv "$RES/$f.tmp" "$RES/$f.tsv"
  done
  rm -rf "$RES/raw/$1"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
record_rss() {  # record_rss SERVER N WHEN PID
  local kb; kb=$(rss_kb "$4")
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$kb" >> "$RES/rss.tsv"
  log "RSS $3 with $2 names: $(( kb / 1024 )) MB"
}

# ---------- load ----------
# The server under test, set by the runner's srv_start:
#   TGT     command prefix that enters the client's network namespace (array)
#   ADDR    the address the client asks
#   SRV_PIDS processes whose CPU time is the server's
TGT=()
ADDR=""
SRV_PIDS=""

_dnsperf() {  # _dnsperf QFILE OUT ARGS...
  local q=$1 out=$2; shift 2
  "${TGT[@]}" nice -n "$BENCH_NICE" taskset -c "$CLI_CPU" dnsperf -s "$ADDR" -d "$q" -c "$CLIENTS" -t 2 "$@" > "$out" 2>&1
}
# Two benches on one machine take turns, a scenario at a time: measure holds
# this lock (an empty file, left in place for the next run) from warm-up to
# the latency run.
BENCH_LOCK="${BENCH_LOCK:-/run/lock/sandns-bench.lock}"
# measure SERVER N SCENARIO QFILE : warm-up, REPS uncapped runs, one fixed-rate latency run
measure() {
  local srv=$1 n=$2 s=$3 q=$4 rep out a b cpu lockfd
  local raw="$RES/raw/$srv"; mkdir -p "$raw"
  exec {lockfd}>>"$BENCH_LOCK"
  # (a child of the previous scenario, such as the sampler's last sleep, may hold it for a moment)
  flock -w 2 "$lockfd" || { log "another bench holds $BENCH_LOCK; waiting"; flock -w 3600 "$lockfd" || log "lock wait timed out; measuring anyway"; }
  _dnsperf "$q" /dev/null -l "$WARM" -q "$OUTSTANDING" || true
  for (( rep=1; rep<=REPS; rep++ )); do
    out="$raw/$n.$s.$rep.txt"
    _one() { a=$(_cores "$SRV_PIDS"); _dnsperf "$q" "$out" -l "$DUR" -q "$OUTSTANDING"; b=$(_cores "$SRV_PIDS"); }
    guarded "$DUR" _one
    cpu=$(awk -v a="$a" -v b="$b" -v hz="$HZ" -v s="$DUR" 'BEGIN{split(a,x," "); split(b,y," ");
      printf "%.0f\t%.0f\t%.0f", (y[2]>x[2])?100*(y[1]-x[1])/(y[2]-x[2]):0, (y[4]>x[4])?100*(y[3]-x[3])/(y[4]-x[4]):0, 100*(y[5]-x[5])/hz/s}')
    awk -v srv="$srv" -v n="$n" -v s="$s" -v rep="$rep" -v cpu="$cpu" -v fo="$FOREIGN" -v l="$(load1)" '
      /Queries sent:/{sent=$3} /Queries lost:/{lost=$3} /Queries per second:/{qps=$4}
      /Average Latency \(s\):/{avg=sprintf("%.3f",$4*1000)}
      /Response codes:/{rc=$0; sub(/.*Response codes: */,"",rc); gsub(/ /,"",rc)}
      END{printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", srv, n, s, rep, qps+0, avg==""?"NA":avg,
          sent+0, lost+0, rc==""?"NA":rc, cpu, fo, l}' "$out" >> "$RES/qps.tsv"
    log "$n $s run $rep: $(tail -1 "$RES/qps.tsv" | cut -f5) QPS, lost $(tail -1 "$RES/qps.tsv" | cut -f8), cores client/server/process $(tail -1 "$RES/qps.tsv" | cut -f10-12 | tr '\t' /) %, foreign $FOREIGN%"
  done
  out="$raw/$n.$s.lat.txt"
  guarded "$LAT_DUR" _dnsperf "$q" "$out" -l "$LAT_DUR" -Q "$LAT_QPS" -v
  # -v prints one line per answered query, "> RCODE NAME TYPE SECONDS"
  awk '/^> /{print $NF*1000}' "$out" | sort -g | awk -v srv="$srv" -v n="$n" -v s="$s" -v r="$LAT_QPS" -v fo="$FOREIGN" -v l="$(load1)" \
    -v lost="$(awk '/Queries lost:/{print $3}' "$out")" '
    {v[NR]=$1}
    function pct(p,  i){ i=int(NR*p+0.999999); if(i<1) i=1; if(i>NR) i=NR; return v[i] }
    END{ if(NR==0){ printf "%s\t%s\t%s\t%s\t0\t%s\tNA\tNA\tNA\tNA\t%s\t%s\n", srv,n,s,r,lost+0,fo,l; exit }
         printf "%s\t%s\t%s\t%s\t%d\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%s\n", srv,n,s,r,NR,lost+0,pct(0.5),pct(0.99),pct(0.999),v[NR],fo,l }' >> "$RES/lat.tsv"
  log "$n $s at $LAT_QPS QPS: p50/p99/p99.9/max $(tail -1 "$RES/lat.tsv" | cut -f7-10 | tr '\t' /) ms, foreign $FOREIGN%"
  exec {lockfd}>&-
  gzip -f "$out"
}

# show_answers : one dig per kind of question, into the log (what the server says)
show_answers() {
  local q
  for q in "ctr00002 A" "ctr00002 AAAA" "nx00001 A" "fwd00001.upstream.bench A"; do
    # shellcheck disable=SC2086
    log "  $q -> $("${TGT[@]}" dig +time=2 +tries=1 +noall +comments +answer @"$ADDR" $q 2>&1 | grep -oE 'status: [A-Z]+|IN[[:space:]]+[A-Z]+[[:space:]]+.*' | tr -s ' \t\n' ' ')"
  done
}

# ---------- the runner's loop ----------
# run_server SERVER : for each N in NAMES (ascending) and each server mode the
# scenarios need: srv_start N MODE, RSS RSS_DELAY s later (default mode only),
# the scenarios, RSS after the load, srv_stop. The runner defines:
#   srv_mode SCENARIO  -> the mode to run it in ("default", "nocache")
#   srv_scenarios      -> optional: the scenarios it runs (default: SCEN)
#   srv_start N MODE   -> start (or resize) the server; set TGT, ADDR, SRV_PIDS
#   srv_stop           -> stop it (its environment stays until exit)
#   srv_settled N      -> optional: called after the start RSS, before any load
#   srv_loaded N       -> optional: called after the load, before its RSS
run_server() {
  local srv=$1 n mode s modes q d scens="$SCEN"
  if declare -F srv_scenarios >/dev/null; then scens=$(srv_scenarios); fi
  forget "$srv"
  for n in $(printf '%s\n' $NAMES | sort -n); do
    d=$(make_data "$n")
    modes=$(for s in $scens; do srv_mode "$s"; done | awk '!seen[$0]++')
    for mode in $modes; do
      log "$n names, mode $mode"
      srv_start "$n" "$mode"
      if [ "$mode" = default ]; then
        sleep "$RSS_DELAY"
        record_rss "$srv" "$n" start "${SRV_PIDS%% *}"
        if declare -F srv_settled >/dev/null; then srv_settled "$n"; fi
      fi
      show_answers
      for s in $scens; do
        [ "$(srv_mode "$s")" = "$mode" ] || continue
        q="$d/$(query_file "$s")"
        measure "$srv" "$n" "$s" "$q"
      done
      if [ "$mode" = default ] && declare -F srv_loaded >/dev/null; then srv_loaded "$n"; fi
      [ "$mode" != default ] || record_rss "$srv" "$n" loaded "${SRV_PIDS%% *}"
      srv_stop
    done
  done
}
# A peer runs in one configuration, its own default: a requested fwd-cached or
# nx-cached is its fwd or nx run (measured once), and every scenario uses that mode.
peer_scenarios() {
  local s
  for s in $SCEN; do
    case $s in a|aaaa|nx|fwd|nx-cached|fwd-cached) echo "${s%-cached}";; *) die "unknown scenario $s";; esac
  done | awk '!seen[$0]++'
}
peer_mode() { echo default; }
