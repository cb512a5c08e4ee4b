# bench/servers.sh: how bench/run.sh configures, starts, stops and counts
# each server (smtp-sink, tern, Postfix, OpenSMTPD, chasquid). Sourced by
# run.sh, which defines WORK, PEERS, the ports, CGROOT, RUNAS and the helpers
# (log, start_in, stop_unit, copy_cert, is_root). Every server: domain
# bench.test, recipient bench@bench.test, one Maildir, 127.0.0.1 only.
# shellcheck shell=bash

# ---------------------------------------------------------------- smtp-sink
SINK=$WORK/sink
sink_up() {  # name host port: smtp-sink with its counters in $SINK/<name>.count
  mkdir -p "$SINK"; : >"$SINK/$1.count"
  local u=(); is_root && u=(-u nobody)
  # -c: counters after every session and message; -m: sessions at once.
  start_in "$1" smtp-sink -c "${u[@]}" -m 11000 "$2:$3" 1024 >"$SINK/$1.count" 2>"$SINK/$1.err"
  $PROBE waitport "$3" 10 "$2" || { log "smtp-sink on $2:$3 did not start"; cat "$SINK/$1.err" >&2; return 1; }
}
# The last "sess=N quit=N mesg=N" smtp-sink -c wrote (0 before any).
sink_counter() {  # name sess|mesg
  local v
  v=$({ tr '\r' '\n' <"$SINK/$1.count"; } 2>/dev/null | grep -o "$2=[0-9]*" | tail -1)
  echo "${v#*=}" | sed 's/^$/0/'
}
sink_msgs() { sink_counter "$1" mesg; }
sink_sessions() { sink_counter "$1" sess; }

# ---------------------------------------------------------------- tern
TD=$WORK/tern
tern_config() {  # fsync|nofsync
  rm -rf "$TD"; mkdir -p "$TD/data"
  copy_cert "$TD" "${RUN_AS:-root}"
  local maxc=11000 c
  for c in $IDLE_COUNTS; do [ "$c" -ge $((maxc - 500)) ] && maxc=$((c + 1000)); done
  {
    echo 'hostname = "bench.local"'
    echo "data_dir = \"$TD/data\""
    echo 'domains = ["bench.test"]'
    echo 'accept_any_local_part = true'
    # Root without RUN_AS: tern keeps root only when told (docs/security.md).
    is_root && [ -z "$RUN_AS" ] && echo 'run_as = "root"'
    echo "[[listener]]"; echo 'kind = "smtp"'; echo "address = \"127.0.0.1:$P_TERN\""
    echo "[[listener]]"; echo 'kind = "submission"'; echo "address = \"127.0.0.1:$P_TERN_SUB\""
    echo "[tls]"; echo "certificate = \"$TD/cert.pem\""; echo "private_key = \"$TD/key.pem\""
    echo "[limits]"; echo "max_connections = $maxc"
    # One user sends every relayed message of the run: no per-user hourly cap.
    echo "messages_per_hour_per_user = 0"; echo "recipients_per_hour_per_user = 0"
    echo "outbound_recipients_per_hour_per_user = 0"
    [ "$P_DNS" != 0 ] && { echo "[dns]"; echo "forward = [\"127.0.0.1@$P_DNS\"]"; }
    [ "$1" = nofsync ] && { echo "[queue]"; echo "fsync = false  # benchmark only"; }
  } >"$TD/tern.toml"
  is_root && [ -n "$RUN_AS" ] && chown -R "$RUN_AS": "$TD"
  printf '%s\n' "$PASSWORD" | "${RUNAS[@]}" "$TERN" user add "$RCPT" --password-stdin --config "$TD/tern.toml" \
    >>"$TD/user.log" 2>&1 || { log "tern user add failed"; cat "$TD/user.log" >&2; return 1; }
}
tern_up() {
  local name=$1
  start_in "$name" "${RUNAS[@]}" "$TERN" serve --config "$TD/tern.toml" >>"$TD/serve.log" 2>&1
  $PROBE waitport "$P_TERN" 30 || { log "tern did not start"; return 1; }
}
tern_maildir() { echo "$TD/data/mail/bench.test/bench/new"; }
tern_pending() { find "$TD/data/queue/msg" "$TD/data/queue/tmp" -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- postfix
PF=$WORK/postfix
pf_config() {
  rm -rf "$PF"; mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/mail/Maildir"/{tmp,new,cur}
  chown -R "$BENCH_USER": "$PF/mail"; chown postfix: "$PF/data"
  copy_cert "$PF/etc" root
  cp /etc/postfix/dynamicmaps.cf "$PF/etc/" 2>/dev/null || true
  local maxproc=1100
  [ "$IDLE_MAX_POSTFIX" -ge 1000 ] && maxproc=$((IDLE_MAX_POSTFIX + 100))
  cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.local
mydomain = bench.local
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
maillog_file = $PF/maillog
maillog_file_prefixes = $WORK
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:$(id -u $BENCH_USER)
virtual_gid_maps = static:$(id -g $BENCH_USER)
virtual_minimum_uid = 100
smtpd_tls_chain_files = $PF/etc/key.pem, $PF/etc/cert.pem
smtpd_tls_security_level = may
smtp_tls_security_level = may
EOF
  cat >"$PF/etc/master.cf" <<EOF
127.0.0.1:$P_POSTFIX inet n - n - $maxproc smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}
pf_up() {
  mkdir -p "$CGROOT/tern_bench_postfix"
  # postfix(1) starts master(8) in the background; it stays in our cgroup.
  ( echo $BASHPID >"$CGROOT/tern_bench_postfix/cgroup.procs"; exec postfix -c "$PF/etc" start ) \
    >>"$PF/start.log" 2>&1 || { log "postfix start failed"; cat "$PF/start.log" >&2; return 1; }
  $PROBE waitport "$P_POSTFIX" 30 || { log "postfix did not answer"; return 1; }
}
pf_down() { [ -d "$PF/etc" ] && postfix -c "$PF/etc" stop >>"$PF/start.log" 2>&1; stop_unit postfix; }
pf_maildir() { echo "$PF/mail/Maildir/new"; }
pf_pending() { find "$PF/spool/incoming" "$PF/spool/active" "$PF/spool/deferred" "$PF/spool/maildrop" -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- opensmtpd
OS=$WORK/opensmtpd
OSBIN=$PEERS/opensmtpd/usr/sbin/smtpd
os_config() {
  rm -rf "$OS"; mkdir -p "$OS/Maildir"/{tmp,new,cur} "$OS/spool"; chown -R "$BENCH_USER": "$OS/Maildir"
  copy_cert "$OS" root
  cat >"$OS/smtpd.conf" <<EOF
pki bench.local cert "$OS/cert.pem"
pki bench.local key "$OS/key.pem"
# default is 100 messages per session; lifted so long sessions are comparable
smtp limit max-mails 1000000
listen on 127.0.0.1 port $P_OPENSMTPD hostname bench.local tls pki bench.local
action "bench" maildir "$OS/Maildir"
action "relay" relay
match from any for domain "bench.test" action "bench"
match from local for domain "relay.test" action "relay"
EOF
  chmod 644 "$OS/smtpd.conf"
  "$OSBIN" -n -f "$OS/smtpd.conf" >"$OS/check.log" 2>&1 || { log "opensmtpd config check failed"; cat "$OS/check.log" >&2; return 1; }
}
os_up() {
  # It always uses /var/spool/smtpd: in our private mount namespace that is
  # a fresh directory bound over the host's (see inner()).
  find /var/spool/smtpd -mindepth 1 -delete 2>/dev/null
  start_in opensmtpd "$OSBIN" -d -f "$OS/smtpd.conf" >>"$OS/smtpd.log" 2>&1
  $PROBE waitport "$P_OPENSMTPD" 30 || { log "opensmtpd did not answer"; tail -5 "$OS/smtpd.log" >&2; return 1; }
}
os_maildir() { echo "$OS/Maildir/new"; }
os_pending() { find /var/spool/smtpd/queue /var/spool/smtpd/incoming -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- chasquid
CQ=$WORK/chasquid
CQBIN=$PEERS/chasquid/usr/bin
cq_config() {
  rm -rf "$CQ"; mkdir -p "$CQ/etc/certs/bench.local" "$CQ/etc/domains/bench.test" "$CQ/data" "$CQ/Maildir"/{tmp,new,cur}
  cp "$WORK/tls/cert.pem" "$CQ/etc/certs/bench.local/fullchain.pem"
  cp "$WORK/tls/key.pem" "$CQ/etc/certs/bench.local/privkey.pem"
  cat >"$CQ/etc/chasquid.conf" <<EOF
hostname: "bench.local"
smtp_address: "127.0.0.1:$P_CHASQUID"
submission_address: "127.0.0.1:$P_CHASQUID_SUB"
submission_over_tls_address: "127.0.0.1:$P_CHASQUID_SUBS"
mail_delivery_agent_bin: "$PEERS/opensmtpd/usr/libexec/opensmtpd/mail.maildir"
mail_delivery_agent_args: "$CQ/Maildir"
data_dir: "$CQ/data"
mail_log_path: "$CQ/mail.log"
EOF
  "$CQBIN/chasquid-util" --configdir="$CQ/etc" user-add "$RCPT" --password="$PASSWORD" >/dev/null ||
    { log "chasquid-util user-add failed"; return 1; }
  is_root && chown -R "$BENCH_USER": "$CQ"
  return 0
}
cq_up() {
  start_in chasquid "${RUNAS[@]}" "$CQBIN/chasquid" -config_dir "$CQ/etc" -logfile "$CQ/chasquid.log" \
    >>"$CQ/stderr.log" 2>&1
  $PROBE waitport "$P_CHASQUID" 30 || { log "chasquid did not answer"; return 1; }
}
cq_maildir() { echo "$CQ/Maildir/new"; }
cq_pending() { find "$CQ/data/queue" -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- one interface for all
# server_up NAME: configured and started, fresh (empty queue and Maildir).
server_up() {
  case $1 in
    tern) tern_config fsync && tern_up tern ;;
    tern-nofsync) tern_config nofsync && tern_up tern-nofsync ;;
    postfix) pf_config && pf_up ;;
    opensmtpd) os_config && os_up ;;
    chasquid) cq_config && cq_up ;;
    sink) sink_up sink 127.0.0.1 "$P_SINK" ;;
    *) log "unknown server $1"; return 1 ;;
  esac
}
server_down() {  # name [scenario]: stops it and keeps its logs under $OUT/logs/
  case $1 in
    postfix) pf_down ;;
    *) stop_unit "$1" ;;
  esac
  local logs=() f
  case $1 in
    tern | tern-nofsync) logs=("$TD/serve.log") ;; postfix) logs=("$PF/maillog") ;;
    opensmtpd) logs=("$OS/smtpd.log") ;; chasquid) logs=("$CQ/chasquid.log" "$CQ/mail.log" "$CQ/stderr.log") ;;
  esac
  mkdir -p "$OUT/logs"
  for f in "${logs[@]}"; do
    [ -s "$f" ] && gzip -c "$f" >"$OUT/logs/${2:-run}-$1-$(basename "$f").gz"
  done
  return 0
}
maildir_of() {
  case $1 in
    tern | tern-nofsync) tern_maildir ;; postfix) pf_maildir ;; opensmtpd) os_maildir ;;
    chasquid) cq_maildir ;; *) echo /nonexistent ;;
  esac
}
pending_of() {
  case $1 in
    tern | tern-nofsync) tern_pending ;; postfix) pf_pending ;; opensmtpd) os_pending ;;
    chasquid) cq_pending ;; *) echo 0 ;;
  esac
}
delivered() { local d; d=$(maildir_of "$1"); if [ -d "$d" ]; then ls -U "$d" | wc -l; else echo 0; fi; }
clean_maildir() { local d; d=$(maildir_of "$1"); [ -d "$d" ] && find "$d" -type f -delete; return 0; }
# Server support per scenario (root-only peers need the namespace and cgroups).
usable() {
  case $1 in
    tern | tern-nofsync | sink) return 0 ;;
    postfix) is_root && [ -n "$CGROOT" ] && [ -n "$RUN_AS" ] && command -v postfix >/dev/null ;;
    opensmtpd) [ "$INNS" = 1 ] && [ -n "$CGROOT" ] && [ -n "$RUN_AS" ] && [ -x "$OSBIN" ] ;;
    chasquid) is_root && [ -n "$CGROOT" ] && [ -n "$RUN_AS" ] && [ -x "$CQBIN/chasquid" ] && [ -x "$PEERS/opensmtpd/usr/libexec/opensmtpd/mail.maildir" ] ;;
    *) return 1 ;;
  esac
}
