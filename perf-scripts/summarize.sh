#!/usr/bin/env bash
# summarize.sh - markdown table of median [min-max] msg/s per (size, conc, mode) and target from accept-grid output.
# Usage: perf-scripts/summarize.sh RESULTFILE...
set -euo pipefail
[ $# -ge 1 ] || { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 2; }
awk '
  /^target=/ {
    t = ""; s = ""; c = ""; m = ""; r = ""
    for (i = 1; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == "target") { if (t == "") t = kv[2] } else if (kv[1] == "size") s = kv[2]
      else if (kv[1] == "conc") c = kv[2]; else if (kv[1] == "mode") m = kv[2]; else if (kv[1] == "rate") r = kv[2]
    }
    if (r == "") next
    key = s SUBSEP c SUBSEP m
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    if (!(t in tseen)) { tseen[t] = 1; targets[++nt] = t }
    n = ++cnt[key, t]; v[key, t, n] = r + 0
  }
  function cell(key, t,    n, i, j, x, a) {
    n = cnt[key, t]; if (!n) return "-"
    for (i = 1; i <= n; i++) a[i] = v[key, t, i]
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return sprintf("%.0f [%.0f-%.0f]", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
  }
  END {
    printf "| size | conc | mode |"; for (i = 1; i <= nt; i++) printf " %s msg/s |", targets[i]; print ""
    printf "|---|---|---|"; for (i = 1; i <= nt; i++) printf "---|"; print ""
    for (k = 1; k <= nk; k++) {
      split(keys[k], p, SUBSEP); printf "| %s | %s | %s |", p[1], p[2], p[3]
      for (i = 1; i <= nt; i++) printf " %s |", cell(keys[k], targets[i]); print ""
    }
  }' "$@"
