#!/usr/bin/env bash
# Sums up a fuzz campaign's runs.tsv (scripts/fuzz-campaign.sh) per harness,
# as the Markdown table of docs/FUZZING.md: runs, wall and CPU seconds,
# executions, the highest cov/ft libFuzzer reported, the final corpus size.
#   scripts/fuzz-summary.sh [RUNS_TSV]   (default /work/fuzz-campaign/runs.tsv)
set -euo pipefail
tsv=${1:-${FUZZ_OUT:-/work/fuzz-campaign}/runs.tsv}
awk -F'\t' '
  NR == 1 { next }
  {
    n = $1
    if (!(n in runs)) order[++k] = n
    runs[n]++; wall[n] += $2; cpu[n] += $3; execs[n] += $4
    if ($5 + 0 > cov[n]) cov[n] = $5 + 0
    if ($6 + 0 > ft[n]) ft[n] = $6 + 0
    corpus[n] = $7
    if ($8 != 0) bad[n]++
  }
  END {
    print "| harness | runs | wall s | CPU s | executions | cov | ft | corpus | runs ending in a finding |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= k; i++) {
      n = order[i]
      printf "| %s | %d | %.0f | %.0f | %d | %d | %d | %d | %d |\n", n, runs[n], wall[n], cpu[n], \
        execs[n], cov[n], ft[n], corpus[n], bad[n]
      tw += wall[n]; tc += cpu[n]; te += execs[n]; tr += runs[n]
    }
    printf "| **total** | %d | %.0f | %.0f | %d | | | | |\n", tr, tw, tc, te
  }' "$tsv"
