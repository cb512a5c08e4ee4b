#!/usr/bin/env bash
# The fuzz campaign of docs/FUZZING.md: runs every libFuzzer harness of
# tests/fuzz for SECONDS each, one after the other (one process at a time,
# at nice 19: the machine is shared), growing a working corpus per harness.
#
#   scripts/fuzz-campaign.sh [SECONDS] [HARNESS...]
#
# SECONDS defaults to 240; HARNESS names (command, server_session, ...)
# default to every harness built. Needs the fuzz preset built first:
#   cmake --preset fuzz && cmake --build --preset fuzz
# Work goes to $FUZZ_OUT (default /work/fuzz-campaign, else build/fuzz-campaign):
#   corpus/<name>/     the working corpus, seeded from tests/fuzz/corpus/<name>
#   crashes/<name>-*   inputs that crashed (copy each, minimised, to
#                      tests/fuzz/regressions/<name>/ once fixed)
#   logs/<name>.<n>.log  libFuzzer's output per run; runs.tsv one line per run:
#   name, seconds, user+sys CPU seconds, execs, cov, ft, corpus size, exit status.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-240}
shift || true
bin=$root/build/fuzz/tests/fuzz
out=${FUZZ_OUT:-$([ -d /work ] && echo /work/fuzz-campaign || echo "$root/build/fuzz-campaign")}
mkdir -p "$out/corpus" "$out/crashes" "$out/logs"
[ -f "$out/runs.tsv" ] ||
  printf 'name\tseconds\tcpu\texecs\tcov\tft\tcorpus\tstatus\n' >"$out/runs.tsv"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for b in "$bin"/*_fuzz; do [ -x "$b" ] && names+=("$(basename "$b" _fuzz)"); done
fi

for name in "${names[@]}"; do
  [ -x "$bin/${name}_fuzz" ] || { echo "no harness $name (build the fuzz preset)" >&2; continue; }
  corpus=$out/corpus/$name
  mkdir -p "$corpus"
  n=$(ls "$out/logs" | grep -c "^$name\.") || true
  log=$out/logs/$name.$n.log
  # One plain process per run (no -jobs/-fork: those log to fuzz-N.log
  # and the machine has two shared cores); a crash ends the run early.
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$out/crashes/$name-")
  [ -f tests/fuzz/dict/$name.dict ] && args+=(-dict=tests/fuzz/dict/$name.dict)
  dirs=("$corpus")
  for d in tests/fuzz/corpus/$name tests/fuzz/regressions/$name; do [ -d "$d" ] && dirs+=("$d"); done
  echo "$(date -u +%H:%M:%S) $name ${seconds}s -> $log" >&2
  /usr/bin/time -f '%e %U %S' -o "$out/time.$$" \
    nice -n 19 "$bin/${name}_fuzz" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
  status=$?
  # The last line: time(1) puts "Command exited with non-zero status N" first.
  read -r wall user sys < <(tail -n 1 "$out/time.$$") || true
  rm -f "$out/time.$$"
  cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN{print u+s}')
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  size=$(ls "$corpus" | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${wall:-?}" "$cpu" "${execs:-?}" "${cov:-?}" \
    "${ft:-?}" "$size" "$status" >>"$out/runs.tsv"
done
