#!/usr/bin/env bash
# queue-scale.sh - memory of a large held queue, and the time to rebuild it after a restart (issue 6 target:
# 1,000,000 queued 1 KiB messages for 10,000 domains, delivery held, RSS below 1 GiB; rebuild under 30 s).
#
# Usage: perf-scripts/queue-scale.sh
# Env:   COUNT (default 1000000) messages, one recipient each; DOMAINS (default 10000) recipient domains
#        SIZE (default 1024) message bytes; SESSIONS (default 256) concurrent injecting SMTP sessions
#        SMTP_PORT (default 12625), HTTP_PORT (default 12680): loopback ports, must be free
#        ARTIFACTS (default /tmp/art-scale): dotnet --artifacts-path of the Release build; NO_BUILD=1 uses it as is
#        GC_ARGS: extra environment for the server, e.g. "DOTNET_gcServer=0" (for comparing GC settings)
#        OUT (default perf-scripts/results/queue-scale-<UTC time>.md): the markdown result
#        KEEP=1 keeps the temp dir (spool, logs) and prints its path
#        SPOOL=DIR: skip the injection and only measure restarts on that existing spool (left in place), e.g. one
#        kept with KEEP=1, to compare GC_ARGS quickly; COUNT must then be the number of messages it holds
# What it does: builds the Release server, starts it on a fresh spool in a temp dir with Mta:Delivery:Paused=true
# (every message is indexed and scheduled, nothing is delivered), injects COUNT messages over DOMAINS domains with
# perf-scripts/inject-domains.py (smtp-source cannot vary the recipient domain), reads the queue size from /health
# and VmRSS/VmHWM from /proc, stops the server with SIGTERM, restarts it on the same spool and measures the time
# from process start until /health shows all COUNT messages queued (and the queue's own "rebuilt in" log line),
# then RSS again. CPU seconds (user+system of the server process, from /proc) are reported beside wall times:
# on a shared machine they depend far less on the load than wall times do. Every process it starts is stopped on
# exit, and the temp dir is removed.
# Needs: the .NET SDK; python3 and curl (installed with apt-get when missing and run as root). Loopback only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
COUNT=${COUNT:-1000000} DOMAINS=${DOMAINS:-10000} SIZE=${SIZE:-1024} SESSIONS=${SESSIONS:-256}
SMTP_PORT=${SMTP_PORT:-12625} HTTP_PORT=${HTTP_PORT:-12680} ARTIFACTS=${ARTIFACTS:-/tmp/art-scale}
OUT=${OUT:-$here/results/queue-scale-$(date -u +%Y%m%dT%H%M%SZ).md}
# python3 and curl come from Debian when missing (as root); the .NET SDK must already be installed.
for tool in python3 curl; do
  command -v $tool >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -q $tool >/dev/null; } \
    || { echo "queue-scale: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
command -v dotnet >/dev/null || { echo "queue-scale: the .NET SDK (dotnet) is required" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/queue-scale.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

if [ "${NO_BUILD:-0}" != 1 ]; then
  echo "building the Release server into $ARTIFACTS ..." >&2
  dotnet build "$root/src/FastMta.Server" -c Release --artifacts-path "$ARTIFACTS" -v q -nologo > "$tmp/build.log" 2>&1 \
    || { tail -30 "$tmp/build.log" >&2; exit 1; }
fi
dll=$(find "$ARTIFACTS/bin/FastMta.Server" -path '*release*' -name FastMta.Server.dll | head -1)
[ -f "$dll" ] || { echo "queue-scale: no FastMta.Server.dll under $ARTIFACTS" >&2; exit 1; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$pid/stat"; }
spool=${SPOOL:-$tmp/spool}
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s=%d MiB ", $1, $2 / 1024 }' "/proc/$pid/status" | sed 's/: *=/=/g; s/ $//'; }
queued() { curl -sf "http://127.0.0.1:$HTTP_PORT/health" 2>/dev/null | sed -n 's/.*"queuedMessages":\([0-9]*\).*/\1/p'; }

# Copy-forward is set out of reach: with delivery held, messages more than CopyForwardDistance (1 GiB) behind the
# tail would be re-appended while we inject, and this run measures the index, not copy-forward.
start() {   # $1: log file
  env ${GC_ARGS:-} dotnet "$dll" \
    --Mta:Smtp:Listen=127.0.0.1:$SMTP_PORT --Mta:Http:Listen=127.0.0.1:$HTTP_PORT \
    --Mta:Spool:Path="$spool" --Mta:DeliveryLog:Path="$tmp/delivery.jsonl" --Mta:Hostname=scale.test \
    --Mta:Delivery:Paused=true --Mta:Queue:CopyForwardDistance=$((1 << 40)) --Mta:Limits:MaxConnections=10000 --Mta:Limits:ExemptRelayNetworks=true \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:FastMta.Queue=Information \
    > "$1" 2>&1 &
  pid=$!
}
wait_until() {   # $1: expected queued count, $2: max seconds; prints seconds since $t0 when /health showed it
  local deadline=$(( $(date +%s) + $2 )) q
  while :; do
    q=$(queued || true)
    [ -n "$q" ] && [ "$q" -ge "$1" ] && { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "queue-scale: the server exited; log tail:" >&2; tail -30 "$log" >&2; return 1; }
    [ "$(date +%s)" -ge "$deadline" ] && { echo "queue-scale: queue at ${q:-?}, not $1, after $2 s" >&2; return 1; }
    sleep 0.05
  done
}
stop() {
  local t=$EPOCHREALTIME
  kill -TERM "$pid"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "queue-scale: no exit 60 s after SIGTERM" >&2; exit 1; }
  wait "$pid" || true
  pid=
  awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')
echo "# load at start: $(load)" >&2
rss_idle=- inject="(existing spool $spool)" load_inject=- rss_full=- q_full=- stop_secs=- cpu_inject=-
if [ -z "${SPOOL:-}" ]; then
  log=$tmp/server1.log; t0=$EPOCHREALTIME; start "$log"
  wait_until 0 60 >/dev/null
  rss_idle=$(rss)
  echo "started; $rss_idle; injecting $COUNT messages over $DOMAINS domains ..." >&2
  inject=$(python3 "$here/inject-domains.py" "127.0.0.1:$SMTP_PORT" "$COUNT" "$DOMAINS" "$SIZE" "$SESSIONS")
  echo "$inject" >&2
  load_inject=$(load)
  t0=$EPOCHREALTIME; wait_until "$COUNT" 60 >/dev/null
  sleep 5   # let the queue settle (metrics, GC) before reading memory
  rss_full=$(rss); q_full=$(queued); cpu_inject=$(cpu)
  echo "queued=$q_full $rss_full; stopping (SIGTERM) ..." >&2
  stop_secs=$(stop)
fi
spool_mib=$(du -sm "$spool" | cut -f1)

log=$tmp/server2.log; load_restart=$(load); t0=$EPOCHREALTIME; start "$log"
ready_secs=$(wait_until "$COUNT" 600); cpu_ready=$(cpu)
rebuilt=$(sed -n 's/.*Queue rebuilt from the spool in \([0-9]*\) ms.*/\1/p' "$log" | head -1)
sleep 5
rss_rebuilt=$(rss); q_rebuilt=$(queued)
echo "restart: queue of $q_rebuilt ready after ${ready_secs} s (rebuild ${rebuilt:-?} ms); $rss_rebuilt" >&2
stop >/dev/null

mkdir -p "$(dirname "$OUT")"
{
  echo "# queue-scale: $COUNT messages of $SIZE bytes over $DOMAINS domains, delivery paused"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), checkout $commit, dotnet $(dotnet --version), $(nproc) cores, ${GC_ARGS:-default GC settings}"
  echo
  echo "| step | figure | load average |"
  echo "|---|---|---|"
  echo "| idle server | $rss_idle | |"
  echo "| injection | ${inject#RESULT inject } | $load_inject |"
  echo "| $q_full queued | $rss_full, spool ${spool_mib} MiB, server CPU so far ${cpu_inject} s | |"
  echo "| SIGTERM to exit | ${stop_secs} s | |"
  echo "| restart to all $COUNT queued (/health) | ${ready_secs} s wall, ${cpu_ready} s server CPU (queue rebuild itself: ${rebuilt:-?} ms wall) | $load_restart |"
  echo "| after rebuild | $rss_rebuilt | $(load) |"
} > "$OUT"
cat "$OUT"
