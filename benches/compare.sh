#!/usr/bin/env bash
# Throughput on a synthetic mixed dump (default 1 GiB, RDB 9 so the rdb crate reads it), warm
# page cache, commands run in alternation for several rounds; the best round of each counts.
#
#   cat DUMP >/dev/null              the machine's limit for reading the file
#   rdb --format nil DUMP            the rdb crate's CLI (decodes everything, prints nothing)
#   rdbscope info --threads 1|2      splitter + inspect and price every key + CRC-64
#   rdbscope analyze --threads 1|2   the main job: inspect, price, classify, aggregate, report
#
# Prints a markdown table (MB/s, ratios to cat and to rdb, peak RSS and peak anonymous RSS,
# i.e. resident memory apart from the file mapping, from one more run of each, so that
# sampling memory does not slow the timed rounds) and the machine's description.
# Environment: SIZE (default 1GiB), ROUNDS (default 3), RDB_CLI (an installed `rdb` binary;
# default: installed once with cargo into target/rdb-cli).
set -euo pipefail
cd "$(dirname "$0")/.."

size=${SIZE:-1GiB}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin rdbscope --example gen_dump
rdbscope=target/release/rdbscope
rdb_cli=${RDB_CLI:-target/rdb-cli/bin/rdb}
if [ ! -x "$rdb_cli" ]; then
    cargo install rdb --version '^0.4' --locked --quiet --root target/rdb-cli
fi

dump=$work/mixed.rdb
target/release/examples/gen_dump --size "$size" --version 9 --seed 1 \
    --clock-ms 1893456000000 "$dump" >&2
bytes=$(stat -c %s "$dump")

# Runs a command with stdout to /dev/null and prints its wall seconds. Nothing else runs
# meanwhile: sampling /proc beside it took a tenth of a core, which a 2-thread run on 2 cores
# pays for.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# Runs a command once more, printing "peak_rss_kb peak_anon_kb": memory is sampled from /proc
# every 20 ms (VmHWM is the kernel's own peak; RssAnon is sampled).
memory() {
    local pid hwm=0 anon=0 v
    "$@" >/dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ -r "/proc/$pid/status" ]; then
            v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
            v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$v" ] && [ "$v" -gt "$anon" ] && anon=$v
        fi
        sleep 0.02
    done
    wait "$pid"
    echo "$hwm $anon"
}

names=("cat" "rdb --format nil" "rdbscope info --threads 1" "rdbscope info --threads 2"
    "rdbscope analyze --threads 1" "rdbscope analyze --threads 2")
commands=("cat $dump" "$rdb_cli --format nil $dump"
    "$rdbscope info $dump --threads 1" "$rdbscope info $dump --threads 2"
    "$rdbscope analyze -q $dump --threads 1" "$rdbscope analyze -q $dump --threads 2")

cat "$dump" >/dev/null # warm the page cache
declare -A best peak anon
for round in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086 # the command strings are split on purpose
        secs=$(seconds ${commands[$i]})
        echo "round $round: ${names[$i]}: ${secs}s" >&2
        if [ -z "${best[$i]:-}" ] || (($(echo "$secs < ${best[$i]}" | bc -l))); then
            best[$i]=$secs
        fi
    done
done
for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    read -r peak[$i] anon[$i] < <(memory ${commands[$i]})
done

echo "Dump: $(numfmt --to=iec "$bytes") ($bytes bytes), RDB 9 mixed, seed 1; best of $rounds rounds, warm cache."
echo
echo "| command | seconds | MB/s | vs cat | vs rdb | peak RSS | peak RSS apart from the map |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for i in "${!names[@]}"; do
    secs=${best[$i]}
    printf '| `%s` | %.2f | %.0f | %.2f | %.2f | %s | %s |\n' "${names[$i]}" "$secs" \
        "$(echo "$bytes / $secs / 1000000" | bc -l)" \
        "$(echo "${best[0]} / $secs" | bc -l)" \
        "$(echo "${best[1]} / $secs" | bc -l)" \
        "$(numfmt --to=iec --from-unit=1024 "${peak[$i]}")" \
        "$(numfmt --to=iec --from-unit=1024 "${anon[$i]}")"
done
echo
echo "threads 2 vs 1: info $(echo "${best[2]} / ${best[3]}" | bc -l | cut -c1-4)x, analyze $(echo "${best[4]} / ${best[5]}" | bc -l | cut -c1-4)x"
echo
echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), \
$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) memory, Linux $(uname -r | cut -d- -f1), \
$(rustc --version | cut -d' ' -f1-2)"
