#!/usr/bin/env bash
# load.sh - inject COUNT messages into an SMTP server with Postfix's smtp-source; print msgs/s.
#
# Usage: perf-scripts/load.sh HOST:PORT SIZE CONCURRENCY COUNT [MODE]
#   HOST      must be a loopback address (127.x.x.x); anything else is refused
#   SIZE      payload bytes, k = KiB (1k, 10k, 100k); smtp-source adds ~150 bytes of headers
#   MODE      conn  = one message per connection (default)
#             reuse = each session sends its messages over one connection (smtp-source -d)
# Env: MAX_SECS (default 60): hard wall-clock bound; the run is killed and reported as
#      status=timeout with the messages completed so far.
#      RCPTS (default 1): recipients per message.  FROM / TO: envelope addresses.
# Output, one line:
#   RESULT load target=.. size=.. conc=.. mode=.. done=D/COUNT secs=S rate=R msg/s status=.. load1=.. cpu_busy=..
# rate = messages whose DATA got a 2xx reply / wall-clock seconds of the whole run.
# load1 = 1-min load average at the end; cpu_busy = whole-machine CPU use during the run (all
# cores, all processes, including ones that are not part of the test: a noise indicator).
# Note: smtp-source speaks HELO (no ESMTP) and does not pipeline: ~6 round trips per message
# in conn mode, ~4 in reuse mode. Exit status 0 only if all COUNT messages were accepted.
set -euo pipefail

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 2; }
[ $# -ge 4 ] || usage
target=$1 size=$2 conc=$3 count=$4 mode=${5:-conn}
host=${target%:*}
[[ $host == 127.* && $target == *:* ]] || { echo "refusing non-loopback target '$target'" >&2; exit 2; }
case $size in *[kK]) size=$(( ${size%[kK]} * 1024 ));; esac
case $mode in conn) dflag=();; reuse) dflag=(-d);; *) usage;; esac

tmp=$(mktemp -d /tmp/fastmta-load.XXXXXX); trap 'rm -rf "$tmp"' EXIT
cpu() { read -r _ u n s i w q sq st _ < /proc/stat; echo "$((u+n+s+q+sq+st)) $((u+n+s+q+sq+st+i+w))"; }
read -r b0 a0 < <(cpu)
t0=$EPOCHREALTIME
set +e
# -c running counter of completed DATA; -N unique recipient per message; -M HELO name
timeout -k 5 "${MAX_SECS:-60}" smtp-source -c -N "${dflag[@]}" -s "$conc" -m "$count" -l "$size" \
  -r "${RCPTS:-1}" -M load.bench.example -f "${FROM:-sender@load.bench.example}" \
  -t "${TO:-rcpt@dest.bench.example}" "inet:$target" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
t1=$EPOCHREALTIME
read -r b1 a1 < <(cpu)
d=$(tail -c 32 "$tmp/out" | tr '\r' '\n' | grep -E '^[0-9]+$' | tail -1 || true); d=${d:-0}
case $rc in 0) st=ok;; 124|137) st=timeout;; *) st="error($(tail -1 "$tmp/err" | tr ' ' '_'))";; esac
[ "$rc" = 0 ] && [ "$d" -lt "$count" ] && st=short
read -r l1 _ < /proc/loadavg
awk -v t="$target" -v s="$size" -v c="$conc" -v m="$mode" -v d="$d" -v n="$count" \
    -v a="$t0" -v b="$t1" -v st="$st" -v l="$l1" -v cb="$((b1 - b0))" -v ca="$((a1 - a0))" 'BEGIN {
  secs = b - a; printf "RESULT load target=%s size=%d conc=%d mode=%s done=%d/%d secs=%.3f rate=%.1f msg/s status=%s load1=%s cpu_busy=%.0f%%\n",
  t, s, c, m, d, n, secs, d / secs, st, l, ca ? 100 * cb / ca : 0 }'
[ "$st" = ok ]
