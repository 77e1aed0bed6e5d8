#!/usr/bin/env bash
# Hunt benchmark: prints, side by side in one run, the parse floor, the
# full-corpus hunt and start-up, with medians of N runs and peak RSS.
#
#   bench/hunt.sh [RUNS]        (default 5 runs after one warm-up)
#
# Needs ../shared/data. Compare figures as ratios within one run: the
# machine is small and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
data=../shared/data
[ -d "$data" ] || { echo "bench: ../shared/data is missing" >&2; exit 1; }
cargo build --release --quiet -p ferret-cli -p ferret-read --example parse_floor
ferret=target/release/ferret
floor=target/release/examples/parse_floor
evtx=$data/evtx-attack-samples
rules=(-r "$data/sigma/rules" -r "$data/sigma/rules-emerging-threats" -r "$data/sigma/rules-threat-hunting")
empty=$(mktemp -d); touch "$empty/empty.log"
trap 'rm -rf "$empty"' EXIT

# median wall seconds and max peak RSS (KB) of a command over $runs runs
measure() {
    "$@" >/dev/null 2>&1 || true   # warm-up
    local times=() rss=0
    for _ in $(seq "$runs"); do
        local out
        /usr/bin/time -o "$empty/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$empty/time")
        times+=("${out% *}")
        local r=${out#* }
        (( r > rss )) && rss=$r
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$median $rss"
}

row() { # label, median, rss
    printf '%-52s %8s s %9s KB\n' "$1" "$2" "$3"
}

echo "ferret hunt benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  commit $(git rev-parse --short HEAD)  runs=$runs  cores=$(nproc)"
read -r t_floor m_floor < <(measure "$floor" evtx-crate "$evtx")
row "parse floor: evtx crate only, 1 thread" "$t_floor" "$m_floor"
read -r t_read m_read < <(measure "$floor" ferret "$evtx")
row "ferret readers (field view), 1 thread" "$t_read" "$m_read"
read -r t_start m_start < <(measure "$ferret" hunt "$empty" "${rules[@]}" -q -o /dev/null)
row "start-up: full corpus, empty input" "$t_start" "$m_start"
read -r t_hunt1 m_hunt1 < <(measure "$ferret" -j1 hunt "$evtx" "${rules[@]}" -q -o /dev/null)
row "hunt: full corpus, 1 thread" "$t_hunt1" "$m_hunt1"
read -r t_hunt m_hunt < <(measure "$ferret" hunt "$evtx" "${rules[@]}" -q -o /dev/null)
row "hunt: full corpus, all cores" "$t_hunt" "$m_hunt"
awk -v h="$t_hunt1" -v s="$t_start" -v f="$t_read" -v n="$t_hunt" 'BEGIN {
    printf "ratio (1-thread hunt - start-up) / reader floor: %.1f\n", (h - s) / f
    printf "thread scaling (1 thread / all cores):          %.2f\n", h / n
}'
