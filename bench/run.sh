#!/usr/bin/env bash
# bench/run.sh: tern beside Postfix, OpenSMTPD and chasquid on this machine,
# with the same load, in one run (issue 7; docs/PERFORMANCE.md).
#
#   sudo bash bench/run.sh              # install, build (Release), run everything, print the table
#   sudo BENCH_QUICK=1 bash bench/run.sh                 # a reduced run (about 8 minutes)
#   sudo SERVERS="tern postfix" SCENARIOS="1 4" bash bench/run.sh run
#   bash bench/run.sh table [DIR]       # the table again, from bench/results/<date>/
#
# Commands: all (default: install + build + run + table), install, build, run, table.
#
# Scenarios (SCENARIOS, default "1 2 3 4 5 6"):
#   1 durable acceptance  msg/s until the final 250; server CPU s per 1000 msgs (cgroup)
#   2 end to end          msg/s until every message is in its Maildir (same runs as 1)
#   3 relay               into the server, out through an MX lookup to smtp-sink
#   4 idle memory         PSS of the whole server with IDLE_COUNTS open sessions
#   5 TLS                 STARTTLS sessions/s (a connection per message) and msg/s over TLS
#   6 sending from code   tern send --batch, tern bench (the client engine), Python smtplib,
#                         msmtp and swaks delivering N_CLIENT messages to smtp-sink
#
# Servers (SERVERS, default "tern postfix opensmtpd chasquid"); "tern" also runs
# "tern-nofsync" ([queue] fsync = false, benchmark only) and smtp-sink (the ceiling)
# in scenario 1. Every server: domain bench.test, recipient bench@bench.test,
# sender sender@bench.local, delivery to one Maildir, on 127.0.0.1.
#
# Safety: as root the measuring part re-executes itself under
# `unshare --net --mount` (a private network namespace with only lo, where
# ports 25 and 53 are private too). Every load is bounded in count (N) and
# time (RUN_TIMEOUT, DRAIN_TIMEOUT, HOLD), and everything started is
# stopped on exit (by PID, never by name).
#
# Knobs (environment; docs/PERFORMANCE.md has the table): BENCH_QUICK=1, SERVERS,
# SCENARIOS, N, N_BIG (100 KiB), SIZES, CONCS, PATTERNS ("session conn"), RUNS,
# IDLE_COUNTS, N_TLS, N_RELAY, N_CLIENT, N_SWAKS, N_MSMTP, TLS_SERVERS,
# RELAY_SERVERS, SMTP_SOURCE_SERVERS ("sink tern"), CERT_KEY (rsa|ec), OUT
# (results dir), WORK (scratch), TERN_BIN, RUN_AS (user the servers run as),
# BENCH_NETNS=0 (stay in this namespace, free ports), BENCH_FS=host (no fresh
# scratch file system; see fresh_fs), BENCH_FS_SIZE, BENCH_INSTALL=0,
# BENCH_BUILD=0, RUN_TIMEOUT, DRAIN_TIMEOUT, STALL, HOLD.
#
# Server configurations are in bench/servers.sh; measuring helpers in
# bench/probe.py; tables and plots in bench/report.py.
set -uo pipefail

SELF=$(readlink -f "$0")
BENCH_DIR=$(dirname "$SELF")
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# Debian's python3 (python3-matplotlib is installed for it), not another one on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PROBE="$PY $BENCH_DIR/probe.py"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  : "${N:=500}" "${N_BIG:=150}" "${CONCS:=10 100}" "${PATTERNS:=session}" "${RUNS:=1}"
  : "${IDLE_COUNTS:=1 300}" "${N_TLS:=300}" "${N_RELAY:=300}" "${N_CLIENT:=200}"
  : "${N_SWAKS:=40}" "${N_MSMTP:=100}" "${SETTLE:=0.3}" "${HOLD:=60}"
else
  : "${N:=10000}" "${N_BIG:=3000}" "${CONCS:=1 10 100}" "${PATTERNS:=session conn}" "${RUNS:=3}"
  : "${IDLE_COUNTS:=1 1000 10000}" "${N_TLS:=3000}" "${N_RELAY:=5000}" "${N_CLIENT:=10000}"
  : "${N_SWAKS:=500}" "${N_MSMTP:=2000}" "${SETTLE:=1}" "${HOLD:=120}"
fi
SIZES=${SIZES:-"1024 102400"}
SERVERS=${SERVERS:-"tern postfix opensmtpd chasquid"}
SCENARIOS=${SCENARIOS:-"1 2 3 4 5 6"}
SMTP_SOURCE_SERVERS=${SMTP_SOURCE_SERVERS-"sink tern"}
# OpenSMTPD 6.8 (Debian 12) is left out of scenarios 3 and 5 by default: with
# OpenSSL 3 its STARTTLS handshakes fail ("EVP lib", RSA and ECDSA keys
# alike), and it reported "No MX found" for MX answers unbound did give it.
without_os() { local s o=""; for s in $SERVERS; do [ "$s" = opensmtpd ] || o="$o $s"; done; echo "${o# }"; }
TLS_SERVERS=${TLS_SERVERS-$(without_os)}
RELAY_SERVERS=${RELAY_SERVERS-$(without_os)}
# Postfix runs one process per session (~1.2 MiB PSS each): 10,000 of them
# would take ~12 GiB, so its idle run stops at this count.
IDLE_MAX_POSTFIX=${IDLE_MAX_POSTFIX:-1000}
# OpenSMTPD listens with a backlog of 5: a connection per message at
# concurrency > 8 waits for SYN retransmits (see docs/PERFORMANCE.md).
OS_CONN_N=${OS_CONN_N:-300}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
STALL=${STALL:-30}     # seconds without progress before a drain is given up
# The certificate every server gets: rsa (2048) or ec (P-256). OpenSMTPD 6.8
# fails ECDSA handshakes with OpenSSL 3 ("EVP lib"), so RSA is the default.
CERT_KEY=${CERT_KEY:-rsa}
BENCH_NETNS=${BENCH_NETNS:-1}
BENCH_INSTALL=${BENCH_INSTALL:-1}
BENCH_BUILD=${BENCH_BUILD:-1}
TERN=${TERN_BIN:-$ROOT/build/release/tern}
WORK=${WORK:-/tmp/tern-bench}
PEERS=${PEERS:-/opt/peers}
OUT=${OUT:-$ROOT/bench/results/$(date +%Y-%m-%d-%H%M%S)}
BENCH_USER=bench
# Servers run as this user when we are root ("" keeps root: the CI smoke run).
RUN_AS=${RUN_AS-bench}
FROM=sender@bench.local
RCPT=bench@bench.test
PASSWORD=benchbench123
export N N_BIG CONCS PATTERNS RUNS IDLE_COUNTS N_TLS N_RELAY N_CLIENT N_SWAKS N_MSMTP SETTLE HOLD
export SIZES SERVERS SCENARIOS SMTP_SOURCE_SERVERS IDLE_MAX_POSTFIX OS_CONN_N RUN_TIMEOUT
export TLS_SERVERS RELAY_SERVERS DRAIN_TIMEOUT STALL CERT_KEY BENCH_NETNS TERN WORK PEERS OUT BENCH_QUICK=$QUICK

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
now() { date +%s.%N; }
fsub() { $PY -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.4f}')" "$1" "$2"; }
fdiv() { $PY -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.4f}' if b else '0')" "$1" "$2"; }

# ---------------------------------------------------------------- install, build
apt_retry() {
  local i
  for i in 1 2 3 4 5 6; do
    DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$WORK/apt.log" 2>&1 && return 0
    log "apt-get $1 failed (try $i; locked?), retrying in 10 s"; sleep 10
  done
  return 1
}

do_install() {
  is_root || { log "install needs root"; return 1; }
  mkdir -p "$WORK" "$PEERS/debs"
  local want=() p
  for p in postfix swaks msmtp python3 python3-matplotlib unbound openssl util-linux iproute2 procps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
  if [ ${#want[@]} -gt 0 ]; then
    log "installing ${want[*]}"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # Services must not start on the host's ports 25/53: policy-rc.d stops them.
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
    fi
    apt_retry update -q
    apt_retry install -y -q --no-install-recommends "${want[@]}"; local rc=$?
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { log "apt-get install failed, see $WORK/apt.log"; return 1; }
  fi
  # OpenSMTPD and chasquid conflict with postfix (mail-transport-agent): unpack only.
  for p in opensmtpd chasquid; do
    if [ ! -d "$PEERS/$p/usr" ]; then
      (cd "$PEERS/debs" && rm -f "${p}"_*.deb && apt_retry download "$p") || { log "cannot download $p"; return 1; }
      mkdir -p "$PEERS/$p" && dpkg -x "$PEERS"/debs/"${p}"_*.deb "$PEERS/$p"
    fi
  done
  # OpenSMTPD has its libexec directory, chroot and users compiled in.
  [ -e /usr/libexec/opensmtpd ] || ln -s "$PEERS/opensmtpd/usr/libexec/opensmtpd" /usr/libexec/opensmtpd
  mkdir -p /var/lib/opensmtpd/empty
  id opensmtpd >/dev/null 2>&1 || useradd -r -d /var/lib/opensmtpd/empty -s /usr/sbin/nologin opensmtpd
  id opensmtpq >/dev/null 2>&1 || useradd -r -d /var/lib/opensmtpd/empty -s /usr/sbin/nologin opensmtpq
  id "$BENCH_USER" >/dev/null 2>&1 || useradd -r -m -d /home/$BENCH_USER -s /bin/sh "$BENCH_USER"
  log "install done"
}

do_build() {
  log "building tern (cmake --preset release)"
  (cd "$ROOT" && cmake --preset release >"$WORK/build.log" 2>&1 &&
    cmake --build --preset release --target tern -j2 >>"$WORK/build.log" 2>&1) ||
    { log "build failed, see $WORK/build.log"; tail -20 "$WORK/build.log" >&2; return 1; }
}

# ---------------------------------------------------------------- process accounting
# Each server runs in its own cgroup (v1 cpuacct, or v2), so CPU and memory
# cover all its processes, exited children included. Without a writable
# cgroup tree (not root) a server runs in its own session (setsid) and
# /proc is summed over that session: enough for tern, one process.
CGROOT=""
cg_init() {
  if is_root && [ -d /sys/fs/cgroup/cpuacct ] && [ -w /sys/fs/cgroup/cpuacct ]; then
    CGROOT=/sys/fs/cgroup/cpuacct
  elif is_root && [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    CGROOT=/sys/fs/cgroup
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
  fi
}
where() {  # what probe.py measures for server $1
  if [ -n "$CGROOT" ]; then echo "$CGROOT/tern_bench_$1"; else echo "sid:$(cat "$WORK/$1.sid" 2>/dev/null || echo 0)"; fi
}
cpu_ns() { $PROBE cpu "$(where "$1")"; }
procs() { $PROBE procs "$(where "$1")"; }
# Starts "$@" in the accounting unit of server $1, in the background.
start_in() {
  local name=$1; shift
  if [ -n "$CGROOT" ]; then
    mkdir -p "$CGROOT/tern_bench_$name"
    ( echo $BASHPID >"$CGROOT/tern_bench_$name/cgroup.procs"; exec "$@" ) &
    echo $! >"$WORK/$name.pid"
  else
    ( exec setsid "$@" ) &
    echo $! >"$WORK/$name.pid"; echo $! >"$WORK/$name.sid"
  fi
}
# Stops server $1: its own stop command has run (or the main PID gets
# SIGTERM); waits, then kills what is left in its unit, by PID.
stop_unit() {
  local name=$1 i pid
  [ -f "$WORK/$name.pid" ] && kill "$(cat "$WORK/$name.pid")" 2>/dev/null
  for i in $(seq 50); do [ -z "$(procs "$name")" ] && break; sleep 0.2; done
  for pid in $(procs "$name"); do kill "$pid" 2>/dev/null; done
  sleep 0.5
  for pid in $(procs "$name"); do kill -9 "$pid" 2>/dev/null; done
  rm -f "$WORK/$name.pid" "$WORK/$name.sid"
  [ -n "$CGROOT" ] && rmdir "$CGROOT/tern_bench_$name" 2>/dev/null
  return 0
}
# The prefix that runs a command as RUN_AS (when we are root).
RUNAS=()
is_root && [ -n "$RUN_AS" ] && RUNAS=(setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups)

# ---------------------------------------------------------------- ports, TLS
ports() {
  if [ "$INNS" = 1 ]; then
    P_SINK=2500 P_TERN=2525 P_TERN_SUB=2587 P_POSTFIX=2526 P_OPENSMTPD=2527
    P_CHASQUID=2528 P_CHASQUID_SUB=2588 P_CHASQUID_SUBS=2465 P_DNS=53 P_RELAY=25
  else
    P_SINK=$($PROBE freeport) P_TERN=$($PROBE freeport) P_TERN_SUB=$($PROBE freeport)
    P_POSTFIX=$($PROBE freeport) P_OPENSMTPD=$($PROBE freeport) P_CHASQUID=$($PROBE freeport)
    P_CHASQUID_SUB=$($PROBE freeport) P_CHASQUID_SUBS=$($PROBE freeport) P_DNS=0 P_RELAY=0
  fi
}
port_of() {
  case $1 in
    sink) echo "$P_SINK" ;; tern | tern-nofsync) echo "$P_TERN" ;; postfix) echo "$P_POSTFIX" ;;
    opensmtpd) echo "$P_OPENSMTPD" ;; chasquid) echo "$P_CHASQUID" ;;
  esac
}
# One certificate for every server (CERT_KEY).
make_cert() {
  mkdir -p "$WORK/tls"
  local key=(-newkey rsa:2048)
  [ "$CERT_KEY" = ec ] && key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  openssl req -x509 "${key[@]}" -nodes -days 30 \
    -subj /CN=bench.local -addext "subjectAltName=DNS:bench.local,IP:127.0.0.1" \
    -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" >/dev/null 2>&1
}
copy_cert() {  # dir owner
  cp "$WORK/tls/cert.pem" "$WORK/tls/key.pem" "$1/"
  chmod 600 "$1/key.pem"
  is_root && chown "$2" "$1/cert.pem" "$1/key.pem"
  return 0
}

# Per-server configuration and control: bench/servers.sh.
# shellcheck source=bench/servers.sh
. "$BENCH_DIR/servers.sh"

# ---------------------------------------------------------------- measurements
RES=""; MEM=""
HEADER="scenario	server	variant	generator	size	conc	pattern	tls	run	n	ok	failed	accept_s	accept_msgs_s	drain_s	drain_msgs_s	cpu_s	cpu_s_per_1000	p50_ms	p90_ms	p99_ms	max_ms	conns_per_s	tls_per_s	delivered	status"
record() { (IFS=$'\t'; echo "$*") >>"$RES"; }

# Waits until server $1 has delivered $2 messages (or, with some refused,
# until its queue is empty and nothing moved for 3 s), at most DRAIN_TIMEOUT.
# Prints the time the count last moved.
wait_drain() {
  local name=$1 want=$2 deadline d last=-1 still=0 tlast
  tlast=$(now); deadline=$(($(date +%s) + DRAIN_TIMEOUT))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    d=$(delivered "$name")
    [ "$d" -ge "$want" ] && { now; return; }
    if [ "$d" = "$last" ]; then
      if [ "$(pending_of "$name")" -eq 0 ]; then still=$((still + 1)); [ $still -ge 60 ] && { echo "$tlast"; return; }; fi
    else
      still=0; tlast=$(now)
    fi
    last=$d; sleep 0.05
  done
  now
}
wait_sink() {  # name want: the sink counted `want` messages (or nothing came for STALL s)
  local deadline c last=-1 tlast moved
  deadline=$(($(date +%s) + DRAIN_TIMEOUT)); tlast=$(now); moved=$(date +%s)
  while [ "$(date +%s)" -lt "$deadline" ]; do
    c=$(sink_msgs "$1")
    [ "$c" -ge "$2" ] && { now; return; }
    if [ "$c" != "$last" ]; then last=$c; tlast=$(now); moved=$(date +%s)
    elif [ $(($(date +%s) - moved)) -ge "$STALL" ]; then log "relay: nothing for ${STALL}s, giving up at $c"; echo "$tlast"; return
    fi
    sleep 0.05
  done
  now
}

# One run of tern bench against server $2, then its drain.
#   bench_cell SCEN SERVER PORT SIZE CONC PATTERN TLS RUN N [tern bench flags...]
bench_cell() {
  local scen=$1 name=$2 port=$3 size=$4 conc=$5 pattern=$6 tls=$7 run=$8 n=$9; shift 9
  case " $* " in *" --from "*) ;; *) set -- --from "$FROM" "$@" ;; esac
  local per=0 rc cpu0 cpu2 t0 t2 row ok d=0 drain_s accept_s sink0=0 status variant=default
  [ "$pattern" = conn ] && per=1
  [ "$name" = tern-nofsync ] && variant=nofsync
  clean_maildir "$name"
  local sess0=0
  [ "$scen" = relay ] && { sink0=$(sink_msgs relaysink); sess0=$(sink_sessions relaysink); }
  sync; sleep "$SETTLE"
  cpu0=$(cpu_ns "$name"); t0=$(now)
  timeout $((RUN_TIMEOUT + 90)) "$TERN" bench --host 127.0.0.1 --port "$port" --sessions "$conc" \
    --messages "$n" --size "$size" --per-connection "$per" --timeout 60 --max-seconds "$RUN_TIMEOUT" \
    --json "$@" >"$WORK/bench.json" 2>"$WORK/bench.err"
  rc=$?
  row=$($PROBE benchrow "$WORK/bench.json")
  ok=$(cut -f1 <<<"$row"); accept_s=$(cut -f3 <<<"$row")
  case $scen in
    relay)
      t2=$(wait_sink relaysink $((sink0 + ok))); d=$(($(sink_msgs relaysink) - sink0))
      # smtp-sink counts a session when it ends: let idle relay connections
      # (tern keeps them 5 s, Postfix 2 s) close before reading the count.
      sleep "${RELAY_LINGER:-7}" ;;
    *) if [ "$name" = sink ]; then t2=$(now); d=$ok; else t2=$(wait_drain "$name" "$ok"); d=$(delivered "$name"); fi ;;
  esac
  cpu2=$(cpu_ns "$name")
  drain_s=$(fsub "$t2" "$t0")
  status="rc=$rc,errors=$(cut -f11 <<<"$row")"
  [ "$scen" = relay ] && status="$status,sink_sessions=$(($(sink_sessions relaysink) - sess0))"
  local cpu_s; cpu_s=$($PY -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.4f}')" "$cpu0" "$cpu2")
  record "$scen" "${name%-nofsync}" "$variant" tern-bench "$size" "$conc" "$pattern" "$tls" "$run" "$n" \
    "$ok" "$(cut -f2 <<<"$row")" "$accept_s" "$(cut -f4 <<<"$row")" "$drain_s" \
    "$(if [ "$name" = sink ]; then echo 0; else fdiv "$d" "$drain_s"; fi)" "$cpu_s" \
    "$(fdiv "$($PY -c "print($cpu_s * 1000)")" "$ok")" \
    "$(cut -f5-10 <<<"$row")" "$d" "$status"
  log "$scen $name size=$size conc=$conc $pattern tls=$tls run=$run: ok=$ok/$n $(cut -f4 <<<"$row" | cut -d. -f1) msg/s, drained $d in ${drain_s}s, cpu ${cpu_s}s ($status)"
  [ "$rc" -ne 0 ] && [ "$ok" = 0 ] && tail -3 "$WORK/bench.err" >&2
  return 0
}

# smtp-source (Postfix's generator) with the same load, for comparison.
# Its message is a ~130-octet header and -l octets of body, lines of 80.
source_cell() {  # SERVER PORT SIZE CONC PATTERN RUN N
  local name=$1 port=$2 size=$3 conc=$4 pattern=$5 run=$6 n=$7 flags=(-A) rc t0 t1 t2 cpu0 cpu2 d s0=0 ok
  [ "$pattern" = session ] && flags+=(-d)
  local l=$(((size - 130) * 80 / 82))
  clean_maildir "$name"
  [ "$name" = sink ] && s0=$(sink_msgs sink)
  sync; sleep "$SETTLE"
  cpu0=$(cpu_ns "$name"); t0=$(now)
  timeout "$RUN_TIMEOUT" smtp-source "${flags[@]}" -s "$conc" -m "$n" -l "$l" -f "$FROM" -t "$RCPT" \
    "127.0.0.1:$port" >"$WORK/smtp-source.out" 2>&1
  rc=$?; t1=$(now)
  if [ "$name" = sink ]; then d=$(($(sink_msgs sink) - s0)); ok=$d; t2=$t1
  else t2=$(wait_drain "$name" "$n"); d=$(delivered "$name"); ok=$d; fi
  cpu2=$(cpu_ns "$name")
  local accept_s drain_s cpu_s
  accept_s=$(fsub "$t1" "$t0"); drain_s=$(fsub "$t2" "$t0")
  cpu_s=$($PY -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.4f}')" "$cpu0" "$cpu2")
  record accept "${name%-nofsync}" default smtp-source "$size" "$conc" "$pattern" none "$run" "$n" "$ok" \
    $((n - ok)) "$accept_s" "$(fdiv "$ok" "$accept_s")" "$drain_s" \
    "$(if [ "$name" = sink ]; then echo 0; else fdiv "$d" "$drain_s"; fi)" "$cpu_s" \
    "$(fdiv "$($PY -c "print($cpu_s * 1000)")" "$ok")" - - - - - - "$d" "rc=$rc"
  log "accept $name smtp-source size=$size conc=$conc $pattern run=$run: ok=$ok/$n in ${accept_s}s rc=$rc"
}

cell_n() {  # server size pattern
  if [ "$1" = opensmtpd ] && [ "$3" = conn ]; then echo "$OS_CONN_N"
  elif [ "$2" -gt 10000 ]; then echo "$N_BIG"; else echo "$N"; fi
}

# Scenarios 1 and 2: the same runs give acceptance and drain.
scenario_accept() {
  local s size conc pattern r list="sink"
  for s in $SERVERS; do list="$list $s"; [ "$s" = tern ] && list="$list tern-nofsync"; done
  for s in $list; do
    usable "$s" || { log "skipping $s (not usable here)"; continue; }
    server_up "$s" || { server_down "$s"; continue; }
    for pattern in $PATTERNS; do for size in $SIZES; do for conc in $CONCS; do for r in $(seq "$RUNS"); do
      bench_cell accept "$s" "$(port_of "$s")" "$size" "$conc" "$pattern" none "$r" "$(cell_n "$s" "$size" "$pattern")"
    done; done; done; done
    if has "$SMTP_SOURCE_SERVERS" "$s"; then
      for pattern in $PATTERNS; do for size in $SIZES; do for conc in $CONCS; do for r in $(seq "$RUNS"); do
        source_cell "$s" "$(port_of "$s")" "$size" "$conc" "$pattern" "$r" "$(cell_n "$s" "$size" "$pattern")"
      done; done; done; done
    fi
    server_down "$s" accept
  done
}

# Scenario 5: STARTTLS on the smtp port, same certificate for everyone.
scenario_tls() {
  local s size conc pattern r
  for s in $TLS_SERVERS; do
    usable "$s" || continue
    server_up "$s" || { server_down "$s"; continue; }
    for pattern in conn session; do for size in $SIZES; do for conc in $CONCS; do for r in $(seq "$RUNS"); do
      local n=$N_TLS
      [ "$size" -gt 10000 ] && n=$(((N_TLS + 2) / 3))
      bench_cell tls "$s" "$(port_of "$s")" "$size" "$conc" "$pattern" starttls "$r" "$n" --tls starttls --insecure
    done; done; done; done
    server_down "$s" tls
  done
}

# Scenario 3: relay through an MX lookup. unbound answers relay.test MX ->
# mx.relay.test A 127.0.0.2, where smtp-sink listens on port 25 (all of it
# inside the private namespace). tern and chasquid relay only for
# authenticated users: their runs go to the submission port with STARTTLS
# and AUTH (once per connection); Postfix and OpenSMTPD relay for
# 127.0.0.0/8 in plaintext.
DNSD=$WORK/dns
dns_up() {
  mkdir -p "$DNSD"
  cat >"$DNSD/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$P_DNS
  port: $P_DNS
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$DNSD"
  pidfile: "$DNSD/unbound.pid"
  logfile: "$DNSD/unbound.log"
  use-syslog: no
  num-threads: 1
  verbosity: 1
  log-queries: yes
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  do-not-query-localhost: yes
  local-zone: "relay.test." static
  local-data: "relay.test. 300 IN SOA ns.relay.test. hostmaster.relay.test. 1 3600 600 86400 60"
  local-data: "relay.test. 300 IN MX 10 mx.relay.test."
  local-data: "mx.relay.test. 300 IN A 127.0.0.2"
stub-zone:
  name: "."
  stub-addr: 127.0.0.1@1
EOF
  start_in unbound unbound -d -c "$DNSD/unbound.conf" >>"$DNSD/stderr.log" 2>&1
  sleep 1
}
scenario_relay() {
  [ "$INNS" = 1 ] || { log "scenario 3 needs the private namespace (ports 25 and 53); skipped"; return; }
  dns_up
  sink_up relaysink 127.0.0.2 "$P_RELAY" || { stop_unit unbound; return; }
  local s size conc r port flags
  for s in $RELAY_SERVERS; do
    usable "$s" || continue
    server_up "$s" || { server_down "$s"; continue; }
    for size in $SIZES; do for conc in $CONCS; do for r in $(seq "$RUNS"); do
      local n=$N_RELAY
      [ "$size" -gt 10000 ] && n=$(((N_RELAY + 2) / 3))
      local tls=none
      case $s in
        tern | chasquid)
          tls=starttls; port=$P_TERN_SUB; [ "$s" = chasquid ] && port=$P_CHASQUID_SUB
          flags=(--tls starttls --insecure --user "$RCPT" --password "$PASSWORD" --from "$RCPT") ;;
        *) port=$(port_of "$s"); flags=() ;;
      esac
      bench_cell relay "$s" "$port" "$size" "$conc" session "$tls" "$r" "$n" \
        --to sink@relay.test "${flags[@]}"
    done; done; done
    server_down "$s" relay
  done
  stop_unit relaysink; stop_unit unbound
}

# Scenario 4: idle sessions. A fresh server; tern bench --idle opens K
# sessions (banner + EHLO) and holds them while the server's processes are
# measured (RSS and PSS from /proc/PID/smaps_rollup, summed).
scenario_idle() {
  local s k line i bpid m banners openers
  for s in $SERVERS; do
    usable "$s" || continue
    server_up "$s" || { server_down "$s"; continue; }
    sleep 2
    for k in $IDLE_COUNTS; do
      [ "$s" = postfix ] && [ "$k" -gt "$IDLE_MAX_POSTFIX" ] && { log "postfix: idle $k skipped (IDLE_MAX_POSTFIX=$IDLE_MAX_POSTFIX)"; continue; }
      openers=50; [ "$s" = opensmtpd ] && openers=5  # its listen backlog is 5
      : >"$WORK/idle.err"
      timeout $((HOLD + 300)) "$TERN" bench --host 127.0.0.1 --port "$(port_of "$s")" --idle "$k" \
        --sessions "$openers" --hold "$HOLD" --timeout 30 --max-seconds 240 --json \
        >"$WORK/idle.json" 2>"$WORK/idle.err" &
      bpid=$!
      for i in $(seq 2600); do  # at most ~260 s for the sessions to come up
        grep -q "holding" "$WORK/idle.err" && break
        kill -0 $bpid 2>/dev/null || break
        sleep 0.1
      done
      sleep 2
      m=$($PROBE mem "$(where "$s")")
      kill -TERM $bpid 2>/dev/null; wait $bpid
      banners=$($PY -c "import json,sys; print(json.load(open(sys.argv[1])).get('banners', 0))" "$WORK/idle.json" 2>/dev/null || echo 0)
      (IFS=$'\t'; echo "$s	$k	$banners	${m// /	}") >>"$MEM"
      log "idle $s sessions=$k banners=$banners procs/rss_kib/pss_kib=$m"
      sleep 2
    done
    server_down "$s" idle
  done
}

# Scenario 6: clients delivering N_CLIENT messages of 1 KiB to smtp-sink.
client_row() {  # client n t0 t1 sink0 rc
  local got; got=$(($(sink_msgs clientsink) - $5))
  local el; el=$(fsub "$4" "$3")
  record client sink default "$1" 1024 1 session none 1 "$2" "$got" $(($2 - got)) "$el" \
    "$(fdiv "$got" "$el")" "$el" 0 0 0 - - - - - - "$got" "rc=$6"
  log "client $1: $got/$2 messages in ${el}s rc=$6"
}
scenario_clients() {
  local eml=$WORK/eml t0 t1 s0 rc f i
  rm -rf "$eml"; $PROBE eml "$eml" "$N_CLIENT" 1024 "$FROM" "$RCPT"
  sink_up clientsink 127.0.0.1 "$P_SINK" || return
  local p=$P_SINK
  # The client engine: tern bench with one session.
  s0=$(sink_msgs clientsink); t0=$(now)
  timeout "$RUN_TIMEOUT" "$TERN" bench --port "$p" --sessions 1 --messages "$N_CLIENT" --size 1024 --json >/dev/null 2>&1; rc=$?
  t1=$(now); client_row tern-bench "$N_CLIENT" "$t0" "$t1" "$s0" "$rc"
  # tern send --batch: the client library, one connection, RSET between messages.
  s0=$(sink_msgs clientsink); t0=$(now)
  timeout "$RUN_TIMEOUT" "$TERN" send --batch "$eml" --host 127.0.0.1 --port "$p" --security none \
    >/dev/null 2>"$WORK/send.err"; rc=$?
  t1=$(now); client_row tern-send "$N_CLIENT" "$t0" "$t1" "$s0" "$rc"
  # Python smtplib: one connection.
  s0=$(sink_msgs clientsink); t0=$(now)
  timeout "$RUN_TIMEOUT" $PROBE smtplib 127.0.0.1 "$p" "$FROM" "$RCPT" "$eml" >/dev/null 2>&1; rc=$?
  t1=$(now); client_row python-smtplib "$N_CLIENT" "$t0" "$t1" "$s0" "$rc"
  # msmtp and swaks: one process (and connection) per message, as they are used.
  if command -v msmtp >/dev/null; then
    s0=$(sink_msgs clientsink); t0=$(now); rc=0; i=0
    local end=$(($(date +%s) + RUN_TIMEOUT))
    for f in "$eml"/*.eml; do
      [ $i -ge "$N_MSMTP" ] || [ "$(date +%s)" -ge $end ] && break
      timeout 30 msmtp --host=127.0.0.1 --port="$p" --auth=off --tls=off --from="$FROM" "$RCPT" <"$f" >/dev/null 2>&1 || rc=1
      i=$((i + 1))
    done
    t1=$(now); client_row msmtp "$i" "$t0" "$t1" "$s0" "$rc"
  fi
  if command -v swaks >/dev/null; then
    s0=$(sink_msgs clientsink); t0=$(now); rc=0; i=0
    local end=$(($(date +%s) + RUN_TIMEOUT))
    for f in "$eml"/*.eml; do
      [ $i -ge "$N_SWAKS" ] || [ "$(date +%s)" -ge $end ] && break
      timeout 30 swaks --server 127.0.0.1 --port "$p" --from "$FROM" --to "$RCPT" --data "@$f" --silent 2 >/dev/null 2>&1 || rc=1
      i=$((i + 1))
    done
    t1=$(now); client_row swaks "$i" "$t0" "$t1" "$s0" "$rc"
  fi
  stop_unit clientsink
}

# ---------------------------------------------------------------- main
cleanup() {
  local s
  [ -d "$PF/etc" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
  for s in sink tern tern-nofsync postfix opensmtpd chasquid relaysink clientsink unbound; do
    [ -f "$WORK/$s.pid" ] || [ -d "$CGROOT/tern_bench_$s" ] 2>/dev/null || continue
    stop_unit "$s" 2>/dev/null
  done
}

write_env() {
  {
    echo "date: $(date -Is)"
    echo "host: $(uname -n)  kernel: $(uname -r)  cpus: $(nproc)"
    grep -m1 'model name' /proc/cpuinfo
    free -m | sed -n 2p
    echo "scratch: $WORK on $(df -T "$WORK" | awk 'NR==2 {print $2, $1}') ($(findmnt -no OPTIONS "$WORK" | cut -d, -f1-3); BENCH_FS=${BENCH_FS:-fresh})"
    echo "tern: $("$TERN" --version 2>&1) ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo +changes)) $TERN"
    postconf -d mail_version 2>/dev/null
    [ -x "$OSBIN" ] && "$OSBIN" -h 2>&1 | grep -m1 -i version
    [ -x "$CQBIN/chasquid" ] && "$CQBIN/chasquid" -version 2>&1 | head -1
    echo "netns: $INNS  cgroup: ${CGROOT:-none (session /proc sums)}  certificate: $CERT_KEY  servers run as: ${RUN_AS:-the caller}"
    echo "BENCH_QUICK=$QUICK SERVERS=\"$SERVERS\" SCENARIOS=\"$SCENARIOS\" N=$N N_BIG=$N_BIG SIZES=\"$SIZES\" CONCS=\"$CONCS\" PATTERNS=\"$PATTERNS\" RUNS=$RUNS IDLE_COUNTS=\"$IDLE_COUNTS\" N_TLS=$N_TLS N_RELAY=$N_RELAY N_CLIENT=$N_CLIENT N_SWAKS=$N_SWAKS N_MSMTP=$N_MSMTP"
  } >"$OUT/env.txt" 2>&1
}

# The scratch file system. This machine's root is ext4 without a journal,
# where creating a file walks every inode deleted in the last minutes
# (ext4's recently_deleted(), skipped when a journal exists): the cost of a
# create grew with the files earlier runs removed, so results depended on
# the order the servers ran in. Each run therefore gets a freshly made,
# default (journaled) ext4, loop-mounted over WORK in the private mount
# namespace: the disk set-up a mail server normally has, the same for all.
# BENCH_FS=host keeps WORK on the host's file system.
fresh_fs() {
  local img=$WORK.img
  umount "$img" 2>/dev/null; rm -f "$img"
  truncate -s "${BENCH_FS_SIZE:-24G}" "$img" && mkfs.ext4 -q -F "$img" &&
    mount -o loop,noatime "$img" "$WORK" && chmod 755 "$WORK" ||
    { log "cannot make the scratch file system; staying on the host's"; return 1; }
  log "scratch: a fresh ext4 (journaled) on $(findmnt -no SOURCE "$WORK") at $WORK"
}

inner() {
  INNS=$1
  if [ "$INNS" = 1 ]; then
    [ "${BENCH_FS:-fresh}" = fresh ] && fresh_fs
    ip link set lo up
    printf 'nameserver 127.0.0.1\n' >"$WORK/resolv.conf"
    mount --bind "$WORK/resolv.conf" /etc/resolv.conf
    mkdir -p "$WORK/smtpd-spool" /var/spool/smtpd
    chown root: "$WORK/smtpd-spool"; chmod 711 "$WORK/smtpd-spool"
    mount --bind "$WORK/smtpd-spool" /var/spool/smtpd
  fi
  if is_root; then ulimit -Hn 65536 2>/dev/null; fi
  ulimit -n "$(ulimit -Hn)" 2>/dev/null
  cg_init
  ports
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$OUT"
  RES=$OUT/results.tsv; MEM=$OUT/memory.tsv
  [ -f "$RES" ] || echo "$HEADER" >"$RES"
  [ -f "$MEM" ] || printf 'server\tsessions\tbanners\tprocs\trss_kib\tpss_kib\n' >"$MEM"
  if is_root && [ -n "$RUN_AS" ] && ! id "$RUN_AS" >/dev/null 2>&1; then
    useradd -r -m -d "/home/$RUN_AS" -s /bin/sh "$RUN_AS"
  fi
  make_cert
  write_env
  log "results in $OUT"
  if has "$SCENARIOS" 1 || has "$SCENARIOS" 2; then scenario_accept; fi
  has "$SCENARIOS" 3 && scenario_relay
  has "$SCENARIOS" 4 && scenario_idle
  has "$SCENARIOS" 5 && scenario_tls
  has "$SCENARIOS" 6 && scenario_clients
  return 0
}

do_run() {
  [ -x "$TERN" ] || { log "no tern binary at $TERN (BENCH_BUILD=1 or TERN_BIN=...)"; return 1; }
  mkdir -p "$WORK" "$OUT"
  is_root && chmod 755 "$WORK"
  if [ "$BENCH_NETNS" = 1 ] && is_root; then
    unshare --net --mount --propagation private bash "$SELF" __inner 1; local rc=$?
    rm -f "$WORK.img"  # the scratch file system (unmounted with the namespace)
    return $rc
  else
    [ "$BENCH_NETNS" = 1 ] && log "not root: staying in this namespace, on free loopback ports"
    bash "$SELF" __inner 0
  fi
}

do_table() {
  local dir=${1:-$OUT}
  "$PY" "$BENCH_DIR/report.py" table "$dir" | tee "$dir/table.md"
}

main() {
  case ${1:-all} in
    install) mkdir -p "$WORK"; do_install ;;
    build) mkdir -p "$WORK"; do_build ;;
    __inner) inner "$2" ;;
    run) do_run && do_table ;;
    table) do_table "${2:-$(ls -d "$ROOT"/bench/results/*/ 2>/dev/null | tail -1)}" ;;
    all)
      mkdir -p "$WORK"
      [ "$BENCH_INSTALL" = 1 ] && { do_install || exit 1; }
      [ "$BENCH_BUILD" = 1 ] && { do_build || exit 1; }
      do_run && do_table ;;
    *) echo "usage: $0 [all|install|build|run|table [DIR]]" >&2; exit 2 ;;
  esac
}
main "$@"
