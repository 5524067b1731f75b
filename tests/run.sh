#!/usr/bin/env bash
# Runs every FastMta test. Installs the Debian tools the end-to-end tests drive (swaks, Postfix's smtp-source,
# Prometheus' promtool) when they are missing, then runs `dotnet test` on the solution in Release.
# Usage: bash tests/run.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v swaks >/dev/null 2>&1 || need+=(swaks)
# swaks needs Net::SSLeay for --tls (a Recommends, so name it explicitly).
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || need+=(libnet-ssleay-perl)
command -v smtp-source >/dev/null 2>&1 || need+=(postfix)
# promtool lints /metrics (MetricsTests). The package also ships a Prometheus server unit, which Debian starts only
# where systemd runs (`systemctl disable --now prometheus` if it is unwanted there).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  # Postfix is only needed for its smtp-source/smtp-sink tools: configure it "Local only" and never start it.
  echo "postfix postfix/main_mailer_type select Local only" | "${sudo[@]}" debconf-set-selections
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

dotnet test FastMta.sln -c Release "$@"
