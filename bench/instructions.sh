#!/usr/bin/env bash
# Instruction counts of a hunt, under valgrind's callgrind: the same figure
# for the same binary and input whatever else the machine is doing, where
# the wall-clock figures of bench/hunt.sh drift by tens of percent on this
# shared 2-core machine. Instructions are not time (a cache miss costs many
# cycles and no instruction), so this is the ratio to compare changes with,
# and bench/hunt.sh the one that says how fast.
#
#   bench/instructions.sh [RUNS] [COPIES]
#       evtx-attack-samples (8,255 records), COPIES times over (default 1;
#       10 is the x10 input the matching target is set on, a few minutes a
#       run), 1 thread; median of RUNS runs, default 3
#
# The same binary gives counts within about 2% of each other: the output
# thread's waits and the per-process hash seeds vary a little.
#
# Prints, in millions of instructions: the parse floor, the no-rules hunt,
# start-up compiling the corpus and from the compiled-rule cache, the
# full-corpus hunt; then the matching ratio (full - start-up) / no-rules
# and no-rules / floor.
set -euo pipefail
runs=${1:-3}
copies=${2:-1}
command -v valgrind >/dev/null || { echo "bench: valgrind is missing" >&2; exit 1; }
source "$(dirname "$0")/common.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
touch "$work/empty.log"; mkdir "$work/norules"
export FERRET_CACHE_DIR="$work/cache"
input=$evtx
if (( copies > 1 )); then
    input="$work/copies"; mkdir "$input"
    for i in $(seq "$copies"); do cp -rs "$(realpath "$evtx")" "$input/$i"; done
fi
# Fill the compiled-rule cache first: hunts load from it, as by default.
"$ferret" hunt "$work/empty.log" "${rules[@]}" -q -f jsonl -o /dev/null

count() { # median over $runs runs, in millions of instructions
    for _ in $(seq "$runs"); do
        valgrind --tool=callgrind --callgrind-out-file="$work/out" "$@" >/dev/null 2>"$work/log" || true
        awk '/Collected :/ {printf "%.1f\n", $NF / 1e6}' "$work/log"
    done | median
}

echo "ferret instruction counts  $(date -u +%Y-%m-%dT%H:%MZ)  commit $(git rev-parse --short HEAD)  input evtx-attack-samples x$copies  runs=$runs"
i_floor=$(count "$floor" ferret "$input")
i_none=$(count "$ferret" -j1 hunt "$input" --no-builtin -r "$work/norules" -q -f jsonl -o /dev/null)
i_compile=$(count "$ferret" -j1 hunt "$work/empty.log" "${rules[@]}" --no-rule-cache -q -f jsonl -o /dev/null)
i_start=$(count "$ferret" -j1 hunt "$work/empty.log" "${rules[@]}" -q -f jsonl -o /dev/null)
i_full=$(count "$ferret" -j1 hunt "$input" "${rules[@]}" -q -f jsonl -o /dev/null)
printf '%-52s %9s M\n' "parse floor: records into the field view" "$i_floor" \
    "hunt: no rules" "$i_none" "start-up: full corpus, compiling" "$i_compile" \
    "start-up: full corpus, rule cache" "$i_start" "hunt: full corpus" "$i_full"
awk -v f="$i_floor" -v n="$i_none" -v s="$i_start" -v h="$i_full" -v records=$((8255 * copies)) 'BEGIN {
    printf "matching: (full hunt - start-up) / no-rules hunt:    %.3f\n", (h - s) / n
    printf "no-rules hunt / parse floor:                         %.3f\n", n / f
    printf "matching per record:                                 %.0f instructions\n", (h - s - n) * 1e6 / records
}'
