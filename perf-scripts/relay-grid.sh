#!/usr/bin/env bash
# relay-grid.sh - end-to-end relay throughput, smtp-source -> MTA -> smtp-sink on 127.0.0.1, for Postfix (a separate
# relay instance, default settings, fsync per message) and FastMta (Release build, default durability: 250 only after
# the spool commit), in one sitting, interleaved per grid point: p1 f1 p2 f2 ...
#
# Usage: perf-scripts/relay-grid.sh [OUTFILE]           (default perf-scripts/results/relay-<UTC time>.tsv)
# Env:   SIZES (default "1024 10240"; bytes or 1k/10k)  CONC (default "16 64")  MODES (default "reuse conn")
#        COUNT (default 5000 messages per run)  REPEATS (default 3)  TARGETS (default "postfix fastmta")
#        DRAIN_MAX_SECS (default 120: a run is ok only if exactly COUNT reach the sink within this many seconds
#        of the start of injection)  MAX_SECS (default 120: bound on injection)
#        ARTIFACTS (default /tmp/art-perf: dotnet --artifacts-path of the Release build)  NO_BUILD=1 (use it as is)
#        SINK_PORT/POSTFIX_PORT/FASTMTA_PORT/FASTMTA_HTTP (default 10046/10045/10047/10048)  KEEP_TMP=1
# Per run (one TSV line): accept rate = COUNT / time for smtp-source to finish; drain rate = COUNT / time from the
# start of injection until the sink (fresh for every run, counting with smtp-sink -c) had all COUNT; load1; status.
# FastMta starts on a fresh spool for every run and relays everything to the sink ('--Mta:Routes:*=127.0.0.1:SINK');
# its log (Warning level) stays in the run's temp dir, and its tail is printed when a run fails.
# Prints machine facts and a markdown table of medians (min–max) over the ok runs; also written to OUTFILE's .md.
# Needs root for Postfix (it runs /etc/postfix-bench via postfix-relay.sh; shared with accept-grid.sh, so do not
# run both at once). Installs postfix (for smtp-source/smtp-sink) if missing; every server it starts is stopped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
out=${1:-$here/results/relay-$(date -u +%Y%m%dT%H%M%SZ).tsv}
SIZES=${SIZES:-1024 10240} CONC=${CONC:-${CONCS:-16 64}} MODES=${MODES:-${MODE:-reuse conn}}
COUNT=${COUNT:-5000} REPEATS=${REPEATS:-3} TARGETS=${TARGETS:-postfix fastmta}
export DRAIN_MAX_SECS=${DRAIN_MAX_SECS:-120} MAX_SECS=${MAX_SECS:-120}
ARTIFACTS=${ARTIFACTS:-/tmp/art-perf}
SINK_PORT=${SINK_PORT:-10046} POSTFIX_PORT=${POSTFIX_PORT:-10045}
FASTMTA_PORT=${FASTMTA_PORT:-10047} FASTMTA_HTTP=${FASTMTA_HTTP:-10048}
dll=$ARTIFACTS/bin/FastMta.Server/release/FastMta.Server.dll
has() { [[ " $TARGETS " == *" $1 "* ]]; }

for p in $SINK_PORT $POSTFIX_PORT $FASTMTA_PORT $FASTMTA_HTTP; do
  if ss -Hltn "sport = :$p" | grep -q .; then echo "port $p is already in use; set *_PORT" >&2; exit 1; fi
done

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null || ! command -v postfix >/dev/null; then
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
command -v curl >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

tmp=$(mktemp -d /tmp/fastmta-relay.XXXXXX); export PERF_TMP=$tmp
fastmta_pid=
postfix_started=
cleanup() {
  [ -n "$fastmta_pid" ] && kill "$fastmta_pid" 2>/dev/null || true
  if [ -f "$tmp/sink-$SINK_PORT.pid" ]; then "$here/sink.sh" stop "$(cat "$tmp/sink-$SINK_PORT.pid")" >/dev/null 2>&1 || true; fi
  wait 2>/dev/null || true
  [ -n "$postfix_started" ] && "$here/postfix-relay.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "temp dir kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if has fastmta && [ "${NO_BUILD:-0}" != 1 ]; then
  echo "building FastMta (Release) into $ARTIFACTS ..." >&2
  dotnet build "$root/src/FastMta.Server" -c Release --artifacts-path "$ARTIFACTS" -v q -nologo > "$tmp/build.log" 2>&1 \
    || { tail -30 "$tmp/build.log"; echo "FastMta build failed" >&2; exit 1; }
fi
has fastmta && [ ! -f "$dll" ] && { echo "no $dll" >&2; exit 1; }

if has postfix; then
  "$here/postfix-relay.sh" start "$POSTFIX_PORT" "$SINK_PORT" >/dev/null; postfix_started=1
fi
pf_queued() { "$here/postfix-relay.sh" status 2>/dev/null | sed -n 's/^queued=//p'; }

run_dir=
start_fastmta() {   # a fresh spool and delivery log for every run
  run_dir=$(mktemp -d "$tmp/fastmta.XXXX")
  Logging__LogLevel__Default=Warning dotnet "$dll" \
    --Mta:Smtp:Listen=127.0.0.1:$FASTMTA_PORT --Mta:Http:Listen=127.0.0.1:$FASTMTA_HTTP \
    --Mta:Spool:Path="$run_dir/spool" --Mta:DeliveryLog:Path="$run_dir/delivery.jsonl" \
    "--Mta:Routes:*=127.0.0.1:$SINK_PORT" --Mta:Hostname=relay.test \
    > "$run_dir/server.log" 2>&1 &
  fastmta_pid=$!
  for _ in $(seq 600); do   # up to 60 s: the VM is shared and a cold start can be slow
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

mkdir -p "$(dirname "$out")"
md=${out%.tsv}.md
facts() {
  echo "# $(date -u +%FT%TZ) host $(hostname), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo '+dirty')"
  echo "# nproc $(nproc), cpu \"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\", $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# postfix $(postconf -h mail_version 2>/dev/null || echo '?'), dotnet $(dotnet --version 2>/dev/null || echo '?'), loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# COUNT=$COUNT REPEATS=$REPEATS SIZES=\"$SIZES\" CONC=\"$CONC\" MODES=\"$MODES\" DRAIN_MAX_SECS=$DRAIN_MAX_SECS"
}
facts | tee "$out" >&2
printf 'target\trep\tsize\tconc\tmode\tcount\taccepted\taccept_secs\taccept_rate\tdelivered\tdrain_secs\tdrain_rate\ttail_secs\tstatus\tload1\tcpu_busy\tqueued_after\tlog_warnings\n' >> "$out"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
record() {   # target rep size conc mode RESULT-line queued_after log_warnings
  local l=$6
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$COUNT" \
    "$(field accepted "$l" | cut -d/ -f1)" "$(field accept_secs "$l")" "$(field accept_rate "$l")" "$(field delivered "$l")" \
    "$(field drain_secs "$l")" "$(field drain_rate "$l")" "$(field tail_secs "$l")" "$(field status "$l")" \
    "$(field load1 "$l")" "$(field cpu_busy "$l")" "$7" "$8" >> "$out"
  printf '%-8s rep=%s size=%s conc=%s mode=%-5s %s queued_after=%s log_warnings=%s\n' "$1" "$2" "$3" "$4" "$5" \
    "$(sed 's/^RESULT e2e target=[^ ]* size=[^ ]* conc=[^ ]* mode=[^ ]* //' <<<"$l")" "$7" "$8" >&2
}

for size in $SIZES; do
  case $size in *[kK]) size=$(( ${size%[kK]} * 1024 ));; esac
  for conc in $CONC; do for mode in $MODES; do for rep in $(seq "$REPEATS"); do
    if has postfix; then
      q=$(pf_queued); [ "${q:-0}" -gt 0 ] && { echo "postfix: $q left queued, deleting" >&2; "$here/postfix-relay.sh" clean >/dev/null; }
      pl=$(wc -l < /var/log/postfix-bench.log 2>/dev/null || echo 0)
      line=$("$here/e2e.sh" "127.0.0.1:$POSTFIX_PORT" "$SINK_PORT" "$size" "$conc" "$COUNT" "$mode" || true)
      [ -n "$line" ] || line="RESULT e2e status=no_result"
      q=$(pf_queued)
      record postfix "$rep" "$size" "$conc" "$mode" "$line" "${q:-?}" \
        "$(tail -n +$((pl + 1)) /var/log/postfix-bench.log 2>/dev/null | grep -c -E 'warning|error|fatal|panic' || true)"
      if [ "$(field status "$line")" != ok ]; then
        echo "--- postfix run failed; tail of /var/log/postfix-bench.log:" >&2; tail -20 /var/log/postfix-bench.log >&2 || true
      fi
    fi
    if has fastmta; then
      if start_fastmta; then
        line=$("$here/e2e.sh" "127.0.0.1:$FASTMTA_PORT" "$SINK_PORT" "$size" "$conc" "$COUNT" "$mode" || true)
        [ -n "$line" ] || line="RESULT e2e status=no_result"
        q=$(fm_queued)
        kill -0 "$fastmta_pid" 2>/dev/null || line="${line/status=/status=server_died,}"
      else
        line="RESULT e2e status=start_failed"; q=?
      fi
      stop_fastmta
      # warn/fail/crit entries and exceptions, less the expected start-up note about the self-signed STARTTLS certificate
      warns=$(awk '/^(warn|fail|crit):/ { h = 1; next } h { if ($0 !~ /CertificatePath is not set/) n++; h = 0; next }
                   /Exception/ { n++ } END { print n + 0 }' "$run_dir/server.log")
      record fastmta "$rep" "$size" "$conc" "$mode" "$line" "${q:-?}" "$warns"
      if [ "$(field status "$line")" != ok ] || [ "$warns" != 0 ]; then
        echo "--- fastmta: status=$(field status "$line") log_warnings=$warns; delivery log: $(grep -o '"type":"[A-Za-z]*"' "$run_dir/delivery.jsonl" 2>/dev/null | sort | uniq -c | tr -s ' \n' ' '); tail of $run_dir/server.log:" >&2
        tail -30 "$run_dir/server.log" >&2
      fi
    fi
  done; done; done
done
echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out" >&2

# markdown table: median (min–max) over the ok runs; "k/n failed" marks points with failed runs
summary() {
  awk -F'\t' '
    /^#/ || $1 == "target" { next }
    {
      key = $3 SUBSEP $4 SUBSEP $5
      if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
      tot[key, $1]++
      if ($14 != "ok") { bad[key, $1]++; next }
      n = ++cnt[key, $1]; acc[key, $1, n] = $9 + 0; drn[key, $1, n] = $12 + 0
    }
    function sort(a, n,    i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
    function med(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function stat(which, key, t,    n, i, a) {
      n = cnt[key, t]; M[which, t] = ""
      if (!tot[key, t]) return "–"
      if (!n) return sprintf("– (%d/%d failed)", bad[key, t], tot[key, t])
      for (i = 1; i <= n; i++) a[i] = (which == "a") ? acc[key, t, i] : drn[key, t, i]
      sort(a, n); M[which, t] = med(a, n)
      return sprintf("%.0f (%.0f–%.0f)%s", M[which, t], a[1], a[n], bad[key, t] ? sprintf(" %d/%d failed", bad[key, t], tot[key, t]) : "")
    }
    END {
      print "| size | conc | mode | Postfix accept | Postfix drain | FastMta accept | FastMta drain | drain ratio FastMta/Postfix |"
      print "|---|---|---|---|---|---|---|---|"
      for (k = 1; k <= nk; k++) {
        split(keys[k], p, SUBSEP)
        pa = stat("a", keys[k], "postfix"); pd = stat("d", keys[k], "postfix")
        fa = stat("a", keys[k], "fastmta"); fd = stat("d", keys[k], "fastmta")
        r = (M["d", "postfix"] != "" && M["d", "fastmta"] != "" && M["d", "postfix"] > 0) ? sprintf("%.2f", M["d", "fastmta"] / M["d", "postfix"]) : "–"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], p[3], pa, pd, fa, fd, r
      }
    }' "$1"
}
{
  echo
  echo "Relay: smtp-source -> MTA -> smtp-sink, 127.0.0.1, msgs/s, median (min–max) of the ok runs; COUNT=$COUNT per run."
  grep '^#' "$out" | sed 's/^# /    /'
  echo
  summary "$out"
} | tee "$md"
echo "raw: $out" >&2
