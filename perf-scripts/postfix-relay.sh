#!/usr/bin/env bash
# postfix-relay.sh - a separate Postfix instance used as the reference relay under test.
#
# Usage: perf-scripts/postfix-relay.sh start [LISTEN_PORT] [SINK_PORT]   (defaults 10025, 10026)
#        perf-scripts/postfix-relay.sh stop | status | clean
#
# The instance lives in /etc/postfix-bench (config), /var/spool/postfix-bench (queue, on the
# normal disk, fsync as usual) and /var/lib/postfix-bench; it logs to /var/log/postfix-bench.log.
# It listens on 127.0.0.1:LISTEN_PORT only, relays for 127.0.0.0/8, has no local domains and
# sends ALL mail to [127.0.0.1]:SINK_PORT (relayhost). No TLS. Queue/concurrency settings are
# Postfix defaults. The default Postfix instance (/etc/postfix) is not touched or started.
# "status" prints processes and the number of queued messages; "clean" deletes all queued mail.
set -euo pipefail
CONF=/etc/postfix-bench Q=/var/spool/postfix-bench DATA=/var/lib/postfix-bench
LOG=/var/log/postfix-bench.log

queued() { find "$Q"/{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l; }

case "${1:-}" in
start)
  port=${2:-10025} sink=${3:-10026}
  mkdir -p "$CONF" "$DATA" "$Q"; chown postfix: "$DATA"
  # master.cf: Debian's, with the port-25 listener replaced and no chroot (chroot has no
  # per-message cost; it only avoids copying /etc files into the queue directory).
  awk -v l="127.0.0.1:$port" '
    $1 == "smtp" && $2 == "inet" { $1 = l }
    /^[a-z0-9]/ && NF >= 8 && $5 == "y" { $5 = "n" }
    { print }' /etc/postfix/master.cf > "$CONF/master.cf"
  cat > "$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $Q
data_directory = $DATA
syslog_name = postfix-bench
maillog_file = $LOG
myhostname = postfix-bench.localdomain
mydestination =
alias_maps =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$sink
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
EOF
  postfix -c "$CONF" check
  if postfix -c "$CONF" status 2>/dev/null; then postfix -c "$CONF" reload   # already running
  else : > "$LOG"; postfix -c "$CONF" start; fi
  for _ in $(seq 50); do ss -Hltn "src 127.0.0.1 and sport = :$port" | grep -q . && break; sleep 0.1; done
  ss -Hltn "sport = :$port"
  echo "postfix-bench: 127.0.0.1:$port -> [127.0.0.1]:$sink, queued=$(queued)"
  ;;
stop)
  postfix -c "$CONF" stop || true
  for _ in $(seq 100); do postfix -c "$CONF" status 2>/dev/null || break; sleep 0.1; done
  echo "postfix-bench stopped, queued=$(queued)"
  ;;
status)
  if postfix -c "$CONF" status 2>/dev/null; then
    echo "running: master pid $(tr -d ' ' < "$Q/pid/master.pid"), listening: $(ss -Hltn 'src 127.0.0.1' | awk '{print $4}' | tr '\n' ' ')"
  else echo "not running"; fi
  echo "queued=$(queued)"
  ;;
clean)
  postsuper -c "$CONF" -d ALL
  echo "queued=$(queued)"
  ;;
*) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 2 ;;
esac
