#!/usr/bin/env bash
# perf-grid.sh - the whole performance grid in one command, side by side on 127.0.0.1:
#   limit    smtp-source straight into smtp-sink (no MTA: the tools' own ceiling on this machine)
#   postfix  smtp-source -> Postfix (a separate relay instance, default settings, fsync per message) -> smtp-sink
#   commit   smtp-source -> FastMta (Mta:Spool:Durability=Commit, the default: 250 after the commit is on disk) -> smtp-sink
#   relaxed  smtp-source -> FastMta (Mta:Spool:Durability=Relaxed: 250 once the commit reached the page cache) -> smtp-sink
# For every grid point (size x sessions x mode) and repeat the targets run one after another (interleaved), so ratios
# are measured side by side. Per run: a throughput phase (e2e.sh: COUNT messages, accept and drain rate), then a
# latency phase on the same server (latency-probe.py: LAT_COUNT messages, p50/p99 time from the final "." to the 250).
# For FastMta (a fresh process and spool per run) also CPU seconds per 1,000 messages (utime+stime of the process from
# /proc/<pid>/stat, delta over the throughput phase) and peak RSS (VmHWM at the end of the throughput phase).
#
# Usage: perf-scripts/perf-grid.sh [OUTFILE]     (default perf-scripts/results/grid-<UTC time>.tsv; also writes
#                                                  OUTFILE's .md (machine details + tables) and .png (gnuplot chart))
# Env:   SIZES (default "1k 10k 100k")  CONC (default "16 64")  MODES (default "conn reuse")
#        COUNT (default 20000 messages per run; 100 KiB runs use COUNT_100K, default 5000)
#        LAT_COUNT (default 2000 messages per latency phase; 0 skips it)  REPEATS (default 1)
#        TARGETS (default "limit postfix commit relaxed")
#        DRAIN_MAX_SECS / MAX_SECS (default 300: bounds on drain and injection per run)
#        ARTIFACTS (default /tmp/art-perf: dotnet --artifacts-path of the Release build)  NO_BUILD=1 (use it as is)
#        SINK_PORT/POSTFIX_PORT/FASTMTA_PORT/FASTMTA_HTTP (default 10046/10045/10047/10048)  KEEP_TMP=1
# Quick check: COUNT=2000 COUNT_100K=500 LAT_COUNT=500 SIZES=1k perf-scripts/perf-grid.sh
# A run is ok only if every message was accepted and exactly COUNT reached the sink. Every line records load1 (the
# 1-minute load average) and whole-machine CPU use: on a shared machine figures taken under load are indicative only.
# Needs root (Postfix instance /etc/postfix-bench via postfix-relay.sh). Installs postfix (smtp-source, smtp-sink),
# curl, python3 and gnuplot-nox from Debian if missing; every server it starts is stopped on exit or interrupt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
out=${1:-$here/results/grid-$(date -u +%Y%m%dT%H%M%SZ).tsv}
SIZES=${SIZES:-1k 10k 100k} CONC=${CONC:-16 64} MODES=${MODES:-conn reuse}
COUNT=${COUNT:-20000} COUNT_100K=${COUNT_100K:-5000} LAT_COUNT=${LAT_COUNT:-2000} REPEATS=${REPEATS:-1}
TARGETS=${TARGETS:-limit postfix commit relaxed}
export DRAIN_MAX_SECS=${DRAIN_MAX_SECS:-300} MAX_SECS=${MAX_SECS:-300}
ARTIFACTS=${ARTIFACTS:-/tmp/art-perf}
SINK_PORT=${SINK_PORT:-10046} POSTFIX_PORT=${POSTFIX_PORT:-10045}
FASTMTA_PORT=${FASTMTA_PORT:-10047} FASTMTA_HTTP=${FASTMTA_HTTP:-10048}
dll=$ARTIFACTS/bin/FastMta.Server/release/FastMta.Server.dll
has() { [[ " $TARGETS " == *" $1 "* ]]; }
has_fastmta() { has commit || has relaxed; }

for p in $SINK_PORT $POSTFIX_PORT $FASTMTA_PORT $FASTMTA_HTTP; do
  if ss -Hltn "sport = :$p" | grep -q .; then echo "port $p is already in use; set *_PORT" >&2; exit 1; fi
done

need=()
command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null && command -v postfix >/dev/null || need+=(postfix)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} ..." >&2
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d /tmp/fastmta-grid.XXXXXX); export PERF_TMP=$tmp
fastmta_pid= postfix_started=
cleanup() {
  [ -n "$fastmta_pid" ] && kill "$fastmta_pid" 2>/dev/null || true
  if [ -f "$tmp/sink-$SINK_PORT.pid" ]; then "$here/sink.sh" stop "$(cat "$tmp/sink-$SINK_PORT.pid")" >/dev/null 2>&1 || true; fi
  wait 2>/dev/null || true
  [ -n "$postfix_started" ] && "$here/postfix-relay.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "temp dir kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if has_fastmta && [ "${NO_BUILD:-0}" != 1 ]; then
  echo "building FastMta (Release) into $ARTIFACTS ..." >&2
  dotnet build "$root/src/FastMta.Server" -c Release --artifacts-path "$ARTIFACTS" -v q -nologo > "$tmp/build.log" 2>&1 \
    || { tail -30 "$tmp/build.log"; echo "FastMta build failed" >&2; exit 1; }
fi
has_fastmta && [ ! -f "$dll" ] && { echo "no $dll" >&2; exit 1; }

if has postfix; then
  "$here/postfix-relay.sh" start "$POSTFIX_PORT" "$SINK_PORT" >/dev/null; postfix_started=1
fi
pf_queued() { "$here/postfix-relay.sh" status 2>/dev/null | sed -n 's/^queued=//p'; }

run_dir=
start_fastmta() {   # DURABILITY; a fresh spool and delivery log for every run
  run_dir=$(mktemp -d "$tmp/fastmta.XXXX")
  Logging__LogLevel__Default=Warning dotnet "$dll" \
    --Mta:Smtp:Listen=127.0.0.1:$FASTMTA_PORT --Mta:Http:Listen=127.0.0.1:$FASTMTA_HTTP \
    --Mta:Spool:Path="$run_dir/spool" --Mta:Spool:Durability="$1" --Mta:DeliveryLog:Path="$run_dir/delivery.jsonl" \
    "--Mta:Routes:*=127.0.0.1:$SINK_PORT" --Mta:Hostname=relay.test --Mta:Limits:ExemptRelayNetworks=true \
    > "$run_dir/server.log" 2>&1 &
  fastmta_pid=$!
  for _ in $(seq 600); do   # up to 60 s: the machine is shared and a cold start can be slow
    curl -sf "http://127.0.0.1:$FASTMTA_HTTP/health" >/dev/null 2>&1 && return 0
    kill -0 "$fastmta_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FastMta did not become healthy; log tail:" >&2; tail -40 "$run_dir/server.log" >&2; return 1
}
fm_queued() { curl -sf "http://127.0.0.1:$FASTMTA_HTTP/health" 2>/dev/null | sed -n 's/.*"queuedMessages":\([0-9a-z]*\).*/\1/p'; }
stop_fastmta() {
  [ -n "$fastmta_pid" ] || return 0
  kill "$fastmta_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$fastmta_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$fastmta_pid" 2>/dev/null && { echo "FastMta did not stop in 10 s; killing" >&2; kill -9 "$fastmta_pid" 2>/dev/null || true; }
  wait "$fastmta_pid" 2>/dev/null || true
  fastmta_pid=
}
clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime (the comm field has no spaces: "(dotnet)")
hwm_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# latency phase: needs the sink for relays (they deliver while the probe runs); the limit target IS the sink
latency() {   # TARGET_PORT SIZE CONC MODE -> "p50 p99 ok"
  [ "$LAT_COUNT" -gt 0 ] || { echo "- - 0"; return; }
  local l s
  # a sink for the probe (limit) or for the relay's deliveries; its pid file lets cleanup stop it (this runs in $(...))
  read -r s _ < <("$here/sink.sh" start "$SINK_PORT"); echo "$s" > "$tmp/sink-$SINK_PORT.pid"
  l=$(MAX_SECS=$MAX_SECS python3 "$here/latency-probe.py" "127.0.0.1:$1" "$2" "$3" "$LAT_COUNT" "$4" 2>>"$tmp/latency.err" || true)
  # Postfix must deliver the probe's messages before the sink goes: refused deliveries would mark the sink a dead
  # destination and stall Postfix's next run. (FastMta is stopped after this phase: fresh spool per run.)
  if [ "$1" = "$POSTFIX_PORT" ]; then
    for _ in $(seq 1200); do [ "$("$here/sink.sh" count "$tmp/sink-$SINK_PORT.count")" -ge "$(field ok "$l")" ] && break; sleep 0.1; done
  fi
  "$here/sink.sh" stop "$s" >/dev/null 2>&1 || true
  echo "$(field p50_ms "$l") $(field p99_ms "$l") $(field ok "$l")"
}

mkdir -p "$(dirname "$out")"
md=${out%.tsv}.md png=${out%.tsv}.png
facts() {
  echo "# date $(date -u +%FT%TZ), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty(src)')"
  echo "# cpu \"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\", $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r)"
  echo "# postfix $(postconf -h mail_version 2>/dev/null || echo '?'), dotnet SDK $(dotnet --version 2>/dev/null || echo '?'), $(python3 --version 2>&1), $(gnuplot --version 2>/dev/null || echo 'gnuplot ?')"
  echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# COUNT=$COUNT COUNT_100K=$COUNT_100K LAT_COUNT=$LAT_COUNT REPEATS=$REPEATS SIZES=\"$SIZES\" CONC=\"$CONC\" MODES=\"$MODES\" TARGETS=\"$TARGETS\""
}
facts | tee "$out" >&2
printf 'target\trep\tsize\tconc\tmode\tcount\taccepted\taccept_secs\taccept_rate\tdelivered\tdrain_secs\tdrain_rate\ttail_secs\tstatus\tload1\tcpu_busy\tlat_p50_ms\tlat_p99_ms\tlat_ok\tcpu_s_per_1k\tpeak_rss_mib\tqueued_after\tlog_warnings\n' >> "$out"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
record() {   # target rep size conc mode count RESULT-line lat(p50 p99 ok) cpu rss queued_after log_warnings
  local l=$7
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
    "$(field accepted "$l" | cut -d/ -f1)" "$(field accept_secs "$l")" "$(field accept_rate "$l")" "$(field delivered "$l")" \
    "$(field drain_secs "$l")" "$(field drain_rate "$l")" "$(field tail_secs "$l")" "$(field status "$l")" \
    "$(field load1 "$l")" "$(field cpu_busy "$l")" $8 "$9" "${10}" "${11}" "${12}" >> "$out"
  printf '%-8s rep=%s size=%s conc=%s mode=%-5s accept=%s drain=%s status=%s load1=%s lat_p50/p99=%s/%s ms cpu_s/1k=%s rss=%s MiB\n' \
    "$1" "$2" "$3" "$4" "$5" "$(field accept_rate "$l")" "$(field drain_rate "$l")" "$(field status "$l")" "$(field load1 "$l")" \
    $(cut -d' ' -f1-2 <<<"$8") "$9" "${10}" >&2
}

for size in $SIZES; do
  case $size in *[kK]) size=$(( ${size%[kK]} * 1024 ));; esac
  n=$COUNT; [ "$size" -ge 102400 ] && n=$COUNT_100K
  for conc in $CONC; do for mode in $MODES; do for rep in $(seq "$REPEATS"); do
    for target in $TARGETS; do
      case $target in
      limit)
        line=$("$here/e2e.sh" "127.0.0.1:$SINK_PORT" "$SINK_PORT" "$size" "$conc" "$n" "$mode" || true)
        [ -n "$line" ] || line="RESULT e2e status=no_result"
        record limit "$rep" "$size" "$conc" "$mode" "$n" "$line" "$(latency "$SINK_PORT" "$size" "$conc" "$mode")" - - - -
        ;;
      postfix)
        q=$(pf_queued); [ "${q:-0}" -gt 0 ] && { echo "postfix: $q left queued, deleting" >&2; "$here/postfix-relay.sh" clean >/dev/null; }
        pl=$(wc -l < /var/log/postfix-bench.log 2>/dev/null || echo 0)
        line=$("$here/e2e.sh" "127.0.0.1:$POSTFIX_PORT" "$SINK_PORT" "$size" "$conc" "$n" "$mode" || true)
        [ -n "$line" ] || line="RESULT e2e status=no_result"
        lat=$(latency "$POSTFIX_PORT" "$size" "$conc" "$mode")
        record postfix "$rep" "$size" "$conc" "$mode" "$n" "$line" "$lat" - - "$(pf_queued)" \
          "$(tail -n +$((pl + 1)) /var/log/postfix-bench.log 2>/dev/null | grep -c -E 'warning|error|fatal|panic' || true)"
        [ "$(field status "$line")" = ok ] || { echo "--- postfix run failed; log tail:" >&2; tail -20 /var/log/postfix-bench.log >&2 || true; }
        ;;
      commit|relaxed)
        cpu=- rss=- lat="- - 0" q=?
        if start_fastmta "${target^}"; then
          c0=$(cpu_ticks "$fastmta_pid")
          line=$("$here/e2e.sh" "127.0.0.1:$FASTMTA_PORT" "$SINK_PORT" "$size" "$conc" "$n" "$mode" || true)
          [ -n "$line" ] || line="RESULT e2e status=no_result"
          if kill -0 "$fastmta_pid" 2>/dev/null; then
            cpu=$(awk -v a="$c0" -v b="$(cpu_ticks "$fastmta_pid")" -v hz="$clk" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / hz / n * 1000 }')
            rss=$(hwm_mib "$fastmta_pid")
            lat=$(latency "$FASTMTA_PORT" "$size" "$conc" "$mode")
            q=$(fm_queued)
          else
            line="${line/status=/status=server_died,}"
          fi
        else
          line="RESULT e2e status=start_failed"
        fi
        stop_fastmta
        # warn/fail/crit entries and exceptions, less the expected start-up notes (self-signed certificate, Relaxed)
        warns=$(awk '/^(warn|fail|crit):/ { h = 1; next } h { if ($0 !~ /CertificatePath is not set|Durability is Relaxed/) n++; h = 0; next }
                     /Exception/ { n++ } END { print n + 0 }' "$run_dir/server.log")
        record "$target" "$rep" "$size" "$conc" "$mode" "$n" "$line" "$lat" "$cpu" "$rss" "${q:-?}" "$warns"
        if [ "$(field status "$line")" != ok ] || [ "$warns" != 0 ]; then
          echo "--- fastmta $target: status=$(field status "$line") log_warnings=$warns; tail of its log:" >&2; tail -30 "$run_dir/server.log" >&2
        fi
        ;;
      *) echo "unknown target $target" >&2; exit 2 ;;
      esac
    done
  done; done; done
done
echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out" >&2

python3 "$here/grid-report.py" "$out" "$md" "$png"
cat "$md"
echo "raw: $out  table: $md  chart: $png" >&2
