#!/usr/bin/env bash
# Usage: campaign.sh [SECONDS [TARGET...]]
# Runs every fuzz target (or the TARGETs named) in turn, one process on one core, for SECONDS
# each (default 180), from the seed corpora in corpus/ (see README.md), and prints each
# target's final libFuzzer statistics. A crash stops that target; its input is saved under
# artifacts/TARGET/.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-180}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(splitter dump ziplist listpack intset zipmap lzf stream module)
bin=target/x86_64-unknown-linux-gnu/release
stat() { grep -o "stat::$1: *[0-9]*" "logs/$2.log" | grep -o '[0-9]*$'; }
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target" logs
    "$bin/$target" "corpus/$target" -max_total_time="$seconds" \
        -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=5 -max_len=65536 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 \
        > "logs/$target.log" 2>&1
    status=$?
    coverage=$(grep -o 'cov: [0-9]*' "logs/$target.log" | tail -1 | grep -o '[0-9]*$')
    crashes=$(find "artifacts/$target" -type f | wc -l)
    echo "$target: exit $status, $(stat number_of_executed_units "$target") executions," \
        "$(stat average_exec_per_sec "$target")/s, coverage $coverage," \
        "$(stat new_units_added "$target") new units, peak RSS $(stat peak_rss_mb "$target") MB," \
        "$crashes artifacts"
done
