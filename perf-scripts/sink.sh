#!/usr/bin/env bash
# sink.sh - a counting SMTP sink (Postfix's smtp-sink: answers 250 to everything, discards mail).
#
# Usage:
#   perf-scripts/sink.sh start PORT      start a sink on 127.0.0.1:PORT; prints "PID COUNTFILE"
#   perf-scripts/sink.sh count COUNTFILE print the number of messages the sink has received so far
#   perf-scripts/sink.sh stop PID        stop the sink started with that PID
#
# Env: SINK_MAX_SECS (default 3600): the sink stops by itself after this many seconds.
#      PERF_TMP (default /tmp/fastmta-perf): where COUNTFILE and the sink's stderr go.
# The sink advertises ESMTP, PIPELINING, 8BITMIME; it keeps nothing on disk (no fsync).
set -euo pipefail

case "${1:-}" in
start)
  port=${2:?usage: sink.sh start PORT}
  dir=${PERF_TMP:-/tmp/fastmta-perf}; mkdir -p "$dir"
  if ss -Hltn "sport = :$port" | grep -q .; then echo "port $port already in use" >&2; exit 1; fi
  cf="$dir/sink-$port.count"; : > "$cf"
  user=(); [ "$(id -u)" = 0 ] && user=(-u nobody)   # smtp-sink refuses to run as root
  # -c: running counters "sess=N quit=N mesg=N" on stdout; 1024: listen backlog
  timeout -k 5 "${SINK_MAX_SECS:-3600}" smtp-sink "${user[@]}" -c "127.0.0.1:$port" 1024 \
    > "$cf" 2> "$dir/sink-$port.err" < /dev/null &
  pid=$!
  for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
  ss -Hltn "sport = :$port" | grep -q . || { echo "sink did not start: $(cat "$dir/sink-$port.err")" >&2; exit 1; }
  echo "$pid $cf"
  ;;
count)
  s=$(tail -c 80 "${2:?usage: sink.sh count COUNTFILE}" 2>/dev/null || true)
  s=${s%$'\r'}; s=${s##*mesg=}
  [[ $s =~ ^[0-9]+$ ]] && echo "$s" || echo 0
  ;;
stop)
  pid=${2:?usage: sink.sh stop PID}
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  echo "sink $pid still running" >&2; exit 1
  ;;
*) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 2 ;;
esac
