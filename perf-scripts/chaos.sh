#!/usr/bin/env bash
# chaos.sh - kill -9 under load: ROUNDS times, kill the server at a random moment while it accepts and delivers mail,
# restart it on the same spool, go on; at the end let the queue drain and count what the sink got.
#
# Usage: perf-scripts/chaos.sh
# Env:   ROUNDS (default 10) kills; SESSIONS (default 8) concurrent injecting SMTP sessions
#        MIN_UP_MS, MAX_UP_MS (default 300, 4000): the server is killed a random time in that range after /health
#        first answers 200 (so kills land in start-up recovery, in the first deliveries and in steady load alike)
#        DURABILITY (default Commit): Mta:Spool:Durability; DEFER_PERCENT (default 5): messages the sink answers 451
#        DRAIN_SECS (default 180): bound on the final drain; SEED: for $RANDOM, to repeat a run's kill times
#        SMTP_PORT, HTTP_PORT, SINK_PORT (default 12725, 12780, 12726): loopback ports, must be free
#        NO_BUILD=1 uses the existing Release build; KEEP=1 keeps the temp dir (spool, logs, records)
# What it does: builds src/FastMta.Server in Release, starts perf-scripts/chaos.py's recording sink, starts FastMta
# with a spool in a temp dir and every domain routed to the sink (Mta:Routes:*, retries after 1 s), and the
# injector (unique id per message in a header and the body, body SHA-256 in a header; it records each message
# answered 250). Then ROUNDS times: wait a random time, kill -9 the server, restart it on the same spool (the time to
# /health 200 is measured). After the last restart the injector stops, the queue drains (/health queuedMessages 0),
# the server gets SIGTERM, and chaos.py report counts: acknowledged but never delivered (must be 0), duplicates
# (at-least-once: allowed, counted), corrupted bodies (must be 0).
# Output: one "RESULT chaos ..." line with those figures, the date, the git commit and the load average; exit status
# 0 only when nothing acknowledged was lost or corrupted. Bounded in time; every process it started is stopped on
# exit (only those: by their pids). Needs: the .NET SDK, python3, curl (installed with apt-get when missing, as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROUNDS=${ROUNDS:-10} SESSIONS=${SESSIONS:-8} MIN_UP_MS=${MIN_UP_MS:-300} MAX_UP_MS=${MAX_UP_MS:-4000}
DURABILITY=${DURABILITY:-Commit} DEFER_PERCENT=${DEFER_PERCENT:-5} DRAIN_SECS=${DRAIN_SECS:-180}
SMTP_PORT=${SMTP_PORT:-12725} HTTP_PORT=${HTTP_PORT:-12780} SINK_PORT=${SINK_PORT:-12726}
[ -n "${SEED:-}" ] && RANDOM=$SEED
for tool in python3 curl; do
  command -v $tool >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -q $tool >/dev/null; } \
    || { echo "chaos: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
for port in "$SMTP_PORT" "$HTTP_PORT" "$SINK_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then echo "chaos: port $port is in use" >&2; exit 1; fi
done

if [ "${NO_BUILD:-0}" != 1 ]; then
  echo "chaos: building the server (Release)" >&2
  dotnet build "$root/src/FastMta.Server" -c Release -v q -nologo >/dev/null
fi
dll=$root/src/FastMta.Server/bin/Release/net10.0/FastMta.Server.dll
[ -f "$dll" ] || { echo "chaos: $dll is missing" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastmta-chaos.XXXXXX")
server= sink= injector=
stop_pid() { # pid signal: signal it, wait up to 10 s, then SIGKILL
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill "-$2" "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  touch "$tmp/stop"
  stop_pid "$injector" TERM; stop_pid "$server" KILL; stop_pid "$sink" TERM
  if [ "${KEEP:-0}" = 1 ]; then echo "chaos: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

health() { curl -s --max-time 2 "http://127.0.0.1:$HTTP_PORT/health" 2>/dev/null || true; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

restart_ms=()
start_server() {
  local t0; t0=$(now_ms)
  env -u ASPNETCORE_URLS -u ASPNETCORE_HTTP_PORTS -u ASPNETCORE_HTTPS_PORTS -u DOTNET_URLS \
    dotnet "$dll" --Mta:Smtp:Listen=127.0.0.1:$SMTP_PORT --Mta:Http:Listen=127.0.0.1:$HTTP_PORT \
      --Mta:Hostname=chaos.test --Mta:Spool:Path="$tmp/spool" --Mta:Spool:Durability="$DURABILITY" \
      --Mta:DeliveryLog:Path="$tmp/delivery.jsonl" "--Mta:Routes:*=127.0.0.1:$SINK_PORT" \
      --Mta:Queue:RetrySchedule=00:00:01 --Mta:Delivery:Tls=Disabled >> "$tmp/server.log" 2>&1 &
  server=$!
  for _ in $(seq 600); do
    kill -0 "$server" 2>/dev/null || { echo "chaos: the server exited; the end of its log:" >&2; tail -n 30 "$tmp/server.log" >&2; exit 1; }
    case $(health) in *'"status":"ok"'*) restart_ms+=($(( $(now_ms) - t0 ))); return 0;; esac
    sleep 0.1
  done
  echo "chaos: /health did not answer ok within 60 s; the end of the log:" >&2; tail -n 30 "$tmp/server.log" >&2; exit 1
}

max_secs=$(( ROUNDS * (60 + MAX_UP_MS / 1000 + 2) + DRAIN_SECS + 120 ))
timeout -k 5 "$max_secs" python3 "$here/chaos.py" sink "$SINK_PORT" "$tmp/records" "$DEFER_PERCENT" 2> "$tmp/sink.err" &
sink=$!
for _ in $(seq 50); do ss -Hltn "sport = :$SINK_PORT" | grep -q . && break; sleep 0.1; done
t_start=$(now_ms)
start_server
timeout -k 5 "$max_secs" python3 "$here/chaos.py" inject "$SMTP_PORT" "$tmp/acked" "$SESSIONS" "$tmp/stop" \
  > "$tmp/inject.out" 2> "$tmp/inject.err" &
injector=$!

for round in $(seq "$ROUNDS"); do
  up=$(( MIN_UP_MS + (RANDOM * 32768 + RANDOM) % (MAX_UP_MS - MIN_UP_MS + 1) ))
  sleep "$(printf '%d.%03d' $((up / 1000)) $((up % 1000)))"
  kill -9 "$server"; wait "$server" 2>/dev/null || true
  printf 'chaos: round %d: killed after %d ms up; acknowledged so far %d, sink deliveries %d\n' \
    "$round" "$up" "$(lines "$tmp/acked")" "$(lines "$tmp/records")" >&2
  start_server
done

# Injection goes on a little on the last server, then stops; everything acknowledged must drain.
sleep 2
touch "$tmp/stop"
for _ in $(seq 600); do kill -0 "$injector" 2>/dev/null || break; sleep 0.1; done
stop_pid "$injector" TERM
injector=
drained=no
for _ in $(seq $(( DRAIN_SECS * 2 ))); do
  case $(health) in *'"queuedMessages":0'*) drained=yes; break;; esac
  sleep 0.5
done
sleep 1
stop_pid "$server" TERM
server=
secs=$(( ($(now_ms) - t_start) / 1000 ))
stop_pid "$sink" TERM
sink=

set +e
counts=$(python3 "$here/chaos.py" report "$tmp/acked" "$tmp/records")
status=$?
set -e
sorted=$(printf '%s\n' "${restart_ms[@]}" | sort -n)
restart_p50=$(sed -n "$(( (${#restart_ms[@]} + 1) / 2 ))p" <<<"$sorted")
restart_max=$(tail -n1 <<<"$sorted")
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "RESULT chaos rounds=$ROUNDS sessions=$SESSIONS durability=$DURABILITY up_ms=$MIN_UP_MS-$MAX_UP_MS secs=$secs" \
  "$counts drained=$drained injector=[$(cat "$tmp/inject.out")] restart_ms_p50=$restart_p50 restart_ms_max=$restart_max" \
  "date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$commit load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
[ "$drained" = yes ] || status=1
exit $status
