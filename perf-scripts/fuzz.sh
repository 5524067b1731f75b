#!/usr/bin/env bash
# fuzz.sh - coverage-guided fuzzing of one SMTP codec target with AFL++ and SharpFuzz for a given time.
#
# Usage: perf-scripts/fuzz.sh TARGET SECONDS      TARGET: command | data | header | reply | sasl
# Env:   WORK (default: a temp dir, removed at exit) publish folder and afl-fuzz output; KEEP=1 keeps it
#        NICE (default 10): niceness of afl-fuzz and the target (the machine may be shared)
# What it does: installs afl++ (apt-get) and the SharpFuzz.CommandLine dotnet tool (2.3.0) when missing, publishes
# fuzz/FastMta.Fuzz in Release to WORK, instruments the published FastMta.Smtp.dll (the copy, never bin/), and runs
# afl-fuzz for SECONDS on the target with every file of tests/FastMta.Smtp.Tests/FuzzCorpus/TARGET/ (seeds and
# earlier findings) as the initial queue and fuzz/smtp.dict as the dictionary. Each crash or hang it finds (an
# exception, including a FuzzInvariantException, is a crash) is copied into that corpus directory as
# crash-<sha1> / hang-<sha1>, where FuzzCorpusTests replays it in every test run; the harness then prints what each
# one raises. Prints one summary line: target, seconds, executions, executions/s, paths, crashes, hangs, load.
# Exit status 0 whether or not it found something (look at the summary and `git status`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
target=${1:-} seconds=${2:-}
case "$target" in command|data|header|reply|sasl) ;; *) echo "usage: $0 command|data|header|reply|sasl SECONDS" >&2; exit 2;; esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 TARGET SECONDS" >&2; exit 2; }
NICE=${NICE:-10}
corpus=$root/tests/FastMta.Smtp.Tests/FuzzCorpus/$target

sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz: installing afl++" >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi
export PATH="$PATH:$HOME/.dotnet/tools"
if ! command -v sharpfuzz >/dev/null; then
  echo "fuzz: installing the SharpFuzz.CommandLine dotnet tool" >&2
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else work=$(mktemp -d "${TMPDIR:-/tmp}/fastmta-fuzz.XXXXXX"); fi
afl=
cleanup() {
  if [ -n "$afl" ] && kill -0 "$afl" 2>/dev/null; then kill "$afl" 2>/dev/null || true; wait "$afl" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ] || [ -n "${WORK:-}" ]; then echo "fuzz: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "fuzz: publishing the harness to $work/app" >&2
rm -rf "$work/app" "$work/plain" "$work/out"
nice -n "$NICE" dotnet publish "$root/fuzz/FastMta.Fuzz" -c Release -o "$work/app" -v q -nologo >/dev/null
# A plain copy replays findings afterwards: the instrumented code needs afl-fuzz's shared memory to run.
rm -rf "$work/plain"; cp -r "$work/app" "$work/plain"
sharpfuzz "$work/app/FastMta.Smtp.dll" >/dev/null

# The target is `dotnet`, not an instrumented binary (AFL_SKIP_BIN_CHECK); crashing seeds are kept, not fatal
# (AFL_SKIP_CRASHES), as the corpus keeps findings that may not be fixed yet.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
echo "fuzz: afl-fuzz on '$target' for ${seconds}s" >&2
nice -n "$NICE" afl-fuzz -V "$seconds" -i "$corpus" -o "$work/out" -x "$root/fuzz/smtp.dict" -t 5000 -m none \
  -- dotnet "$work/app/FastMta.Fuzz.dll" "$target" > "$work/afl.log" 2>&1 &
afl=$!
wait "$afl" || { echo "fuzz: afl-fuzz failed; the end of its log:" >&2; tail -n 30 "$work/afl.log" >&2; exit 1; }
afl=

stats=$work/out/default/fuzzer_stats
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
found=0
for kind in crashes hangs; do
  for file in "$work/out/default/$kind"/id:*; do
    [ -e "$file" ] || continue
    name=${kind%es}; name=${name%s}-$(sha1sum "$file" | cut -c1-16)
    if [ ! -e "$corpus/$name" ]; then cp "$file" "$corpus/$name"; echo "fuzz: new finding $corpus/$name" >&2; found=$((found + 1)); fi
    dotnet "$work/plain/FastMta.Fuzz.dll" "$target" "$corpus/$name" >&2 || true
  done
done
printf 'fuzz: target=%s seconds=%s execs=%s execs_per_sec=%s paths=%s crashes=%s hangs=%s new_findings=%s load=%s\n' \
  "$target" "$seconds" "$(stat execs_done)" "$(stat execs_per_sec)" "$(stat corpus_count)" "$(stat saved_crashes)" \
  "$(stat saved_hangs)" "$found" "$(cut -d' ' -f1-3 /proc/loadavg)"
