#!/usr/bin/env bash
# e2e.sh - end-to-end relay benchmark: smtp-source -> RELAY (TARGET) -> smtp-sink (SINKPORT).
#
# Usage: perf-scripts/e2e.sh TARGET SINKPORT SIZE CONCURRENCY COUNT [MODE]
#   TARGET    HOST:PORT of the relay under test (loopback only); it must already be running
#             and must forward all mail to 127.0.0.1:SINKPORT
#   SINKPORT  e2e.sh starts its own fresh counting sink there (port must be free) and stops it
#   SIZE, CONCURRENCY, COUNT, MODE: as for load.sh (SIZE bytes or 1k/10k/100k; MODE conn|reuse)
# Env: MAX_SECS (default 120) bound on injection; DRAIN_MAX_SECS (default 120) bound on
#      the wait for the sink, counted from the start of injection. PERF_TMP: where the sink's files go.
# Output, one line:
#   RESULT e2e target=.. size=.. conc=.. mode=.. accepted=A/N accept_secs=.. accept_rate=..
#          delivered=D drain_secs=.. drain_rate=.. tail_secs=.. status=.. load1=.. cpu_busy=..
# accept_rate = A / time for smtp-source to finish (relay said 250 to A messages)
# drain_rate  = D / time from start of injection until the sink had all A messages
# tail_secs   = drain_secs - accept_secs (how far delivery lagged behind acceptance)
# status      = ok only if all N were accepted and exactly N reached the sink (checked again 1 s after the
#               drain); otherwise inject_<load status>, drain_timeout, and/or extra=K (duplicates/leftovers)
# cpu_busy    = whole-machine CPU use from start to drain (all processes: a noise indicator)
# The relay's queue should be empty before a run: leftovers would be counted as delivered.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 5 ] || { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 2; }
target=$1 sinkport=$2 size=$3 conc=$4 count=$5 mode=${6:-conn}
case $size in *[kK]) size=$(( ${size%[kK]} * 1024 ));; esac

read -r spid cf < <("$here/sink.sh" start "$sinkport")
[ -n "${spid:-}" ] || exit 1
echo "$spid" > "${PERF_TMP:-/tmp/fastmta-perf}/sink-$sinkport.pid"   # lets a caller's cleanup stop it
trap '"$here/sink.sh" stop "$spid" >/dev/null 2>&1 || true' EXIT

cpu() { read -r _ u n s i w q sq st _ < /proc/stat; echo "$((u+n+s+q+sq+st)) $((u+n+s+q+sq+st+i+w))"; }
read -r b0 a0 < <(cpu)
t0=$EPOCHREALTIME
set +e
lr=$(MAX_SECS=${MAX_SECS:-120} "$here/load.sh" "$target" "$size" "$conc" "$count" "$mode")
set -e
t1=$EPOCHREALTIME
acc=$(sed -n 's/.* done=\([0-9]*\)\/.*/\1/p' <<<"$lr"); acc=${acc:-0}
lst=$(sed -n 's/.* status=\([^ ]*\) .*/\1/p' <<<"$lr"); lst=${lst:-none}

# wait (bounded) until the sink has received every accepted message; poll every 50 ms
# (one cheap fork per poll, so the poller itself costs ~1% of a core)
count() { local s; s=$(tail -c 80 "$cf"); s=${s%$'\r'}; s=${s##*mesg=}; [[ $s =~ ^[0-9]+$ ]] && echo "$s" || echo 0; }
deadline=$(awk -v a="$t0" -v m="${DRAIN_MAX_SECS:-120}" 'BEGIN { printf "%d", a + m }')
while :; do
  got=$(count)
  t2=$EPOCHREALTIME
  [ "$got" -ge "$acc" ] && st=ok && break
  [ "${t2%.*}" -ge "$deadline" ] && st=drain_timeout && break
  sleep 0.05
done
read -r b1 a1 < <(cpu)
sleep 1; late=$(count)   # anything more after 1 s = duplicates/leftovers
[ "$lst" = ok ] || st="inject_$lst"
[ "$late" -gt "$acc" ] && st="$st,extra=$((late - acc))"
[ "$st" = ok ] && [ "$late" -ne "$count" ] && st="count_mismatch($late/$count)"
read -r l1 _ < /proc/loadavg
awk -v t="$target" -v s="$size" -v c="$conc" -v m="$mode" -v n="$count" -v a="$acc" -v d="$got" \
    -v t0="$t0" -v t1="$t1" -v t2="$t2" -v st="$st" -v l="$l1" -v cb="$((b1 - b0))" -v ca="$((a1 - a0))" 'BEGIN {
  as = t1 - t0; ds = t2 - t0
  printf "RESULT e2e target=%s size=%d conc=%d mode=%s accepted=%d/%d accept_secs=%.3f accept_rate=%.1f delivered=%d drain_secs=%.3f drain_rate=%.1f tail_secs=%.3f status=%s load1=%s cpu_busy=%.0f%%\n",
    t, s, c, m, a, n, as, a / as, d, ds, d / ds, ds - as, st, l, ca ? 100 * cb / ca : 0 }'
[ "$st" = ok ]
