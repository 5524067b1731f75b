#!/usr/bin/env bash
# profile-relay.sh - where FastMta's CPU goes while it relays: smtp-source -> FastMta -> smtp-sink on loopback,
# with a CPU profile of the server taken in the middle of the load.
#
# Usage: perf-scripts/profile-relay.sh [OUTDIR]         (default: a new /tmp/fastmta-profile.XXXXXX)
# Env:   SIZE (1024) CONC (16) MODE (reuse|conn, default reuse) COUNT (20000): the measured load (see load.sh),
#        after a warm-up load of WARMUP (3000) messages, so tiered JIT compilation is over when the profile starts
#        PROFILER = perf (default: Linux perf, kernel + JIT frames via DOTNET_PerfMapEnabled), trace (dotnet-trace
#        cpu-sampling; needs dotnet-trace on PATH or DOTNET_TRACE), or none (CPU time per message only)
#        PROFILE_SECS (8): profiling window, started 1 s into the measured load
#        ARTIFACTS (/tmp/art-prof): where the Release server is built; NO_BUILD=1 reuses it
#        SINK_PORT/FASTMTA_PORT/FASTMTA_HTTP (10246/10247/10248)
# Prints one RESULT line (accept and drain rate, server CPU ms per message user/system, load average) and writes
# OUTDIR/breakdown.txt (share of samples per stage, profile-breakdown.py), OUTDIR/report.txt (top symbols),
# OUTDIR/perf.data or OUTDIR/trace.nettrace, OUTDIR/server.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
SIZE=${SIZE:-1024} CONC=${CONC:-16} MODE=${MODE:-reuse} COUNT=${COUNT:-20000} WARMUP=${WARMUP:-3000}
PROFILER=${PROFILER:-perf} PROFILE_SECS=${PROFILE_SECS:-8} ARTIFACTS=${ARTIFACTS:-/tmp/art-prof}
SINK_PORT=${SINK_PORT:-10246} FASTMTA_PORT=${FASTMTA_PORT:-10247} FASTMTA_HTTP=${FASTMTA_HTTP:-10248}
out=${1:-$(mktemp -d /tmp/fastmta-profile.XXXXXX)}; mkdir -p "$out"
dll=$ARTIFACTS/bin/FastMta.Server/release/FastMta.Server.dll
export PERF_TMP=$out MAX_SECS=${MAX_SECS:-300}

for p in $SINK_PORT $FASTMTA_PORT $FASTMTA_HTTP; do
  if ss -Hltn "sport = :$p" | grep -q .; then echo "port $p is already in use; set *_PORT" >&2; exit 1; fi
done
if [ "${NO_BUILD:-0}" != 1 ]; then
  dotnet build "$root/src/FastMta.Server" -c Release --artifacts-path "$ARTIFACTS" -v q -nologo > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log"; echo "build failed" >&2; exit 1; }
fi

fastmta_pid= sink_pid=
cleanup() {
  [ -n "$fastmta_pid" ] && kill "$fastmta_pid" 2>/dev/null && wait "$fastmta_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && "$here/sink.sh" stop "$sink_pid" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r sink_pid countfile < <("$here/sink.sh" start "$SINK_PORT")
# DOTNET_PerfMapEnabled=1: the runtime writes /tmp/perf-PID.map so perf can name JIT-compiled methods; W^X off, or
# the code runs from a double-mapped memfd that the map does not describe.
perfmap=$([ "$PROFILER" = perf ] && echo 1 || echo 0)
DOTNET_PerfMapEnabled=$perfmap DOTNET_EnableWriteXorExecute=$((1 - perfmap)) Logging__LogLevel__Default=Warning dotnet "$dll" \
  --Mta:Smtp:Listen=127.0.0.1:$FASTMTA_PORT --Mta:Http:Listen=127.0.0.1:$FASTMTA_HTTP \
  --Mta:Spool:Path="$out/spool" --Mta:DeliveryLog:Path="$out/delivery.jsonl" \
  "--Mta:Routes:*=127.0.0.1:$SINK_PORT" --Mta:Hostname=relay.test --Mta:Limits:ExemptRelayNetworks=true > "$out/server.log" 2>&1 &
fastmta_pid=$!
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$FASTMTA_HTTP/health" >/dev/null 2>&1 && break
  kill -0 "$fastmta_pid" 2>/dev/null || { tail -20 "$out/server.log" >&2; exit 1; }
  sleep 0.1
done

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$fastmta_pid/stat"; }   # utime stime, in clock ticks
warm=0
if [ "$WARMUP" -gt 0 ]; then
  "$here/load.sh" "127.0.0.1:$FASTMTA_PORT" "$SIZE" "$CONC" "$WARMUP" "$MODE" > "$out/warmup.txt" 2>&1 || true
  warm=$WARMUP
  for _ in $(seq 600); do [ "$("$here/sink.sh" count "$countfile")" -ge "$warm" ] && break; sleep 0.1; done
fi
read -r u0 s0 < <(cpu_ticks)
t0=$EPOCHREALTIME
"$here/load.sh" "127.0.0.1:$FASTMTA_PORT" "$SIZE" "$CONC" "$COUNT" "$MODE" > "$out/load.txt" 2>&1 &
load_pid=$!
sleep 1
case $PROFILER in
  perf)  perf record -F 499 -g -p "$fastmta_pid" -o "$out/perf.data" -- sleep "$PROFILE_SECS" > "$out/perf.log" 2>&1 ;;
  trace) "${DOTNET_TRACE:-dotnet-trace}" collect -p "$fastmta_pid" --profile cpu-sampling \
           --duration "00:00:00:$PROFILE_SECS" -o "$out/trace.nettrace" > "$out/trace.log" 2>&1 ;;
esac
wait "$load_pid" || true
t1=$EPOCHREALTIME
for _ in $(seq 1200); do   # drain: up to 120 s for the sink to have every message
  [ "$("$here/sink.sh" count "$countfile")" -ge "$((warm + COUNT))" ] && break
  sleep 0.1
done
t2=$EPOCHREALTIME
read -r u1 s1 < <(cpu_ticks)
delivered=$(( $("$here/sink.sh" count "$countfile") - warm ))
hz=$(getconf CLK_TCK)
read -r l1 l5 l15 _ < /proc/loadavg
awk -v n="$COUNT" -v d="$delivered" -v a="$t0" -v b="$t1" -v c="$t2" -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v hz="$hz" \
    -v size="$SIZE" -v conc="$CONC" -v mode="$MODE" -v load="$l1 $l5 $l15" -v acc="$(grep -o 'done=[0-9]*' "$out/load.txt")" 'BEGIN {
  printf "RESULT profile size=%s conc=%s mode=%s %s/%d delivered=%d accept_rate=%.0f drain_rate=%.0f cpu_ms_per_msg=%.3f (user %.3f, system %.3f) loadavg=%s\n",
    size, conc, mode, acc, n, d, n / (b - a), d / (c - a), 1000 * (u + s) / hz / n, 1000 * u / hz / n, 1000 * s / hz / n, load }' | tee "$out/result.txt"

if [ "$PROFILER" = perf ]; then
  { perf report -i "$out/perf.data" --no-children -g none --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -15
    perf report -i "$out/perf.data" --children -g none --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -150
  } > "$out/report.txt" || true
  perf script -i "$out/perf.data" -F comm,tid,ip,sym,dso > "$out/stacks.txt" 2>/dev/null \
    && python3 "$here/profile-breakdown.py" "$out" | tee "$out/breakdown.txt"
fi
echo "output in $out" >&2
