#!/usr/bin/env bash
# accept-grid.sh - how fast FastMta accepts mail into its durable spool, side by side with the tools' own limit
# (smtp-source -> smtp-sink, nothing durable) and with Postfix (accepting and relaying to a sink), in one sitting.
#
# Usage: perf-scripts/accept-grid.sh [OUTFILE]         (default perf-scripts/results/accept-<date>.txt)
# Env:   SIZES (default "1k 10k")  CONCS (default "16 64")  MODES (default "conn reuse")
#        REPEATS (default 3)  COUNT (default 5000 per FastMta/Postfix run; the limit runs use 4x)
#        TARGETS (default "limit postfix fastmta"; postfix needs root, it runs a separate instance)
# It installs what it needs (postfix for smtp-source/smtp-sink), builds FastMta in Release, starts every server it
# uses on 127.0.0.1 (FastMta on a fresh spool in a temp dir), interleaves the repeats (each grid point's samples are
# minutes apart) and prints a markdown table of medians [min-max] msg/s. Every server is stopped on exit.
# What FastMta is measured doing: 250 only after the message is fsync'd to the FASTER spool (group commit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
out=${1:-$here/results/accept-$(date -u +%Y%m%dT%H%M%S).txt}
SIZES=${SIZES:-1k 10k} CONCS=${CONCS:-16 64} MODES=${MODES:-conn reuse} REPEATS=${REPEATS:-3} COUNT=${COUNT:-5000}
TARGETS=${TARGETS:-limit postfix fastmta}
SINK_PORT=10026 POSTFIX_PORT=10025 FASTMTA_PORT=10027 FASTMTA_HTTP=10028
mkdir -p "$(dirname "$out")"; : > "$out"

if ! command -v smtp-source >/dev/null; then
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi

tmp=$(mktemp -d /tmp/fastmta-accept.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ " $TARGETS " == *" postfix "* ]] && "$here/postfix-relay.sh" stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

read -r sink_pid _ < <(SINK_MAX_SECS=7200 "$here/sink.sh" start "$SINK_PORT"); pids+=("$sink_pid")

if [[ " $TARGETS " == *" postfix "* ]]; then
  "$here/postfix-relay.sh" start "$POSTFIX_PORT" "$SINK_PORT" >/dev/null
fi

start_fastmta() {
  rm -rf "$tmp/spool"
  dotnet "$root/src/FastMta.Server/bin/Release/net10.0/FastMta.Server.dll" \
    --Mta:Smtp:Listen=127.0.0.1:$FASTMTA_PORT --Mta:Http:Listen=127.0.0.1:$FASTMTA_HTTP \
    --Mta:Spool:Path="$tmp/spool" --Mta:Hostname=fastmta.bench.example --Mta:Limits:MaxConnections=5000 \
    > "$tmp/fastmta.log" 2>&1 &
  fastmta_pid=$!; pids+=("$fastmta_pid")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$FASTMTA_HTTP/health" >/dev/null && return 0; sleep 0.1; done
  echo "FastMta did not start:"; cat "$tmp/fastmta.log"; exit 1
}
stop_fastmta() { kill "$fastmta_pid" 2>/dev/null || true; wait "$fastmta_pid" 2>/dev/null || true; }

if [[ " $TARGETS " == *" fastmta "* ]]; then
  dotnet build "$root/src/FastMta.Server" -c Release -v q -nologo >/dev/null
fi

{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
       "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
} | tee -a "$out"

for rep in $(seq "$REPEATS"); do
  for size in $SIZES; do for conc in $CONCS; do for mode in $MODES; do
    for target in $TARGETS; do
      case $target in
        limit)   line=$("$here/load.sh" "127.0.0.1:$SINK_PORT" "$size" "$conc" $((COUNT * 4)) "$mode" || true) ;;
        postfix) line=$("$here/load.sh" "127.0.0.1:$POSTFIX_PORT" "$size" "$conc" "$COUNT" "$mode" || true) ;;
        fastmta) start_fastmta   # a fresh spool for every run: the same starting point each time
                 line=$("$here/load.sh" "127.0.0.1:$FASTMTA_PORT" "$size" "$conc" "$COUNT" "$mode" || true)
                 stop_fastmta ;;
      esac
      echo "target=$target rep=$rep $line" | tee -a "$out"
    done
  done; done; done
done

"$here/summarize.sh" "$out" | tee "${out%.txt}.md"
