#!/usr/bin/env bash
# Hunt benchmark: prints, side by side in one run, the parse floor, the
# full-corpus hunt and start-up (compiling, and from the compiled-rule
# cache), with medians of N runs and peak RSS. Hunts use the cache, as by
# default.
#
#   bench/hunt.sh [RUNS]        (default 5 runs after one warm-up)
#
# The parse floor is the issue's: every record read into the field view
# rules match on, and nothing else (`parse_floor ferret`, ferret's readers
# with no rule). The evtx crate alone rendering records to JSON values
# (`parse_floor evtx-crate`, no field view) is printed beside it.
#
# Needs ../shared/data. Compare figures as ratios within one run: the
# machine is small and noisy.
set -euo pipefail
runs=${1:-5}
source "$(dirname "$0")/common.sh"
empty=$(mktemp -d); touch "$empty/empty.log"; mkdir "$empty/norules"
# evtx-attack-samples replicated 10 times (symlinks), for scaling and RSS.
x10="$empty/x10"; mkdir "$x10"
for i in $(seq 10); do cp -rs "$(realpath "$evtx")" "$x10/$i"; done
# windows-json unzipped, and the Linux logs replicated 10 times.
wjson="$empty/windows-json"; mkdir "$wjson"
for z in "$data"/windows-json/*.zip; do unzip -q -o "$z" -d "$wjson"; done
# One large EVTX file (read in segments of its chunks on several threads).
large="$empty/large.evtx"; large_evtx "$large"
large_records="$empty/large.json"; large_json "$large_records"
linux="$empty/linux"; mkdir "$linux"
for i in $(seq 10); do for f in "$data"/linux/*.log; do cp "$f" "$linux/$i-$(basename "$f")"; done; done
trap 'rm -rf "$empty"' EXIT
# A private compiled-rule cache: the warm-up run of each command fills it.
export FERRET_CACHE_DIR="$empty/cache"

# median wall seconds (ms resolution) and max peak RSS (KB) of a command
# over $runs runs
measure() {
    "$@" >/dev/null 2>&1 || true   # warm-up
    local times=() rss=0
    for _ in $(seq "$runs"); do
        local start end r
        start=$(date +%s%N)
        /usr/bin/time -o "$empty/time" -f '%M' "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=("$(awk -v n=$((end - start)) 'BEGIN {printf "%.3f", n / 1e9}')")
        r=$(tail -1 "$empty/time")
        (( r > rss )) && rss=$r
    done
    echo "$(printf '%s\n' "${times[@]}" | median) $rss"
}

row() { # label, median, rss
    printf '%-52s %8s s %9s KB\n' "$1" "$2" "$3"
}

# The full-corpus hunt of an input on one thread, then on all cores: prints
# both rows and sets t_NAME_1, m_NAME_1 (one thread) and t_NAME, m_NAME.
full_corpus() { # name, input, label
    local name=$1 input=$2 label=$3 t m
    read -r t m < <(measure "$ferret" -j1 hunt "$input" "${rules[@]}" -q -f jsonl -o /dev/null)
    row "$label: full corpus, 1 thread" "$t" "$m"
    printf -v "t_${name}_1" %s "$t"; printf -v "m_${name}_1" %s "$m"
    read -r t m < <(measure "$ferret" hunt "$input" "${rules[@]}" -q -f jsonl -o /dev/null)
    row "$label: full corpus, all cores" "$t" "$m"
    printf -v "t_${name}" %s "$t"; printf -v "m_${name}" %s "$m"
}

echo "ferret hunt benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  commit $(git rev-parse --short HEAD)  runs=$runs  cores=$(nproc)"
read -r t_floor m_floor < <(measure "$floor" evtx-crate "$evtx")
row "evtx crate alone (records to JSON values), 1 thread" "$t_floor" "$m_floor"
read -r t_read m_read < <(measure "$floor" ferret "$evtx")
row "parse floor: records into the field view, 1 thread" "$t_read" "$m_read"
read -r t_none m_none < <(measure "$ferret" -j1 hunt "$evtx" --no-builtin -r "$empty/norules" -q -f jsonl -o /dev/null)
row "hunt: no rules (read + parse + route), 1 thread" "$t_none" "$m_none"
read -r t_compile m_compile < <(measure "$ferret" hunt "$empty/empty.log" "${rules[@]}" --no-rule-cache -q -f jsonl -o /dev/null)
row "start-up: full corpus, empty input, compiling" "$t_compile" "$m_compile"
read -r t_start m_start < <(measure "$ferret" hunt "$empty/empty.log" "${rules[@]}" -q -f jsonl -o /dev/null)
row "start-up: full corpus, empty input, rule cache" "$t_start" "$m_start"
full_corpus hunt "$evtx" "hunt"
read -r t_x10_none m_x10_none < <(measure "$ferret" -j1 hunt "$x10" --no-builtin -r "$empty/norules" -q -f jsonl -o /dev/null)
row "hunt x10 input: no rules, 1 thread" "$t_x10_none" "$m_x10_none"
full_corpus x10 "$x10" "hunt x10 input"
full_corpus large "$large" "one large EVTX (23 MB)"
full_corpus json "$large_records" "one large JSON file (430 MB)"
for input in "$wjson" "$linux"; do
    read -r t_in_none m_in_none < <(measure "$ferret" -j1 hunt "$input" --no-builtin -r "$empty/norules" -q -f jsonl -o /dev/null)
    row "$(basename "$input"): no rules, 1 thread" "$t_in_none" "$m_in_none"
    read -r t_in m_in < <(measure "$ferret" -j1 hunt "$input" "${rules[@]}" -q -f jsonl -o /dev/null)
    row "$(basename "$input"): full corpus, 1 thread" "$t_in" "$m_in"
done
# The same ratios from runs taken in turns (full, all cores, no rules; no
# rules, parse floor), a ratio per pair, median of the pairs: the machine's speed
# drifts over a run, and a drift between two blocks of runs moves a ratio
# of their medians, not a ratio of neighbours.
wall() { # seconds of one run
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    awk -v n=$((end - start)) 'BEGIN {printf "%.4f", n / 1e9}'
}
match_ratios=() floor_ratios=() scaling_ratios=()
for _ in $(seq "$runs"); do
    full=$(wall "$ferret" -j1 hunt "$x10" "${rules[@]}" -q -f jsonl -o /dev/null)
    both=$(wall "$ferret" hunt "$x10" "${rules[@]}" -q -f jsonl -o /dev/null)
    scaling_ratios+=("$(awk -v one="$full" -v all="$both" 'BEGIN {printf "%.3f", one / all}')")
    none=$(wall "$ferret" -j1 hunt "$x10" --no-builtin -r "$empty/norules" -q -f jsonl -o /dev/null)
    match_ratios+=("$(awk -v f="$full" -v n="$none" -v s="$t_start" 'BEGIN {printf "%.3f", (f - s) / n}')")
    none=$(wall "$ferret" -j1 hunt "$evtx" --no-builtin -r "$empty/norules" -q -f jsonl -o /dev/null)
    read_only=$(wall "$floor" ferret "$evtx")
    floor_ratios+=("$(awk -v n="$none" -v f="$read_only" 'BEGIN {printf "%.3f", n / f}')")
done
match_pairs=$(printf '%s\n' "${match_ratios[@]}" | median)
floor_pairs=$(printf '%s\n' "${floor_ratios[@]}" | median)
scaling_pairs=$(printf '%s\n' "${scaling_ratios[@]}" | median)

awk -v h="$t_hunt_1" -v s="$t_start" -v f="$t_floor" -v r="$t_read" -v n="$t_none" -v x1="$t_x10_1" -v xn="$t_x10" \
    -v m1="$m_hunt" -v m10="$m_x10" -v xz="$t_x10_none" -v c="$t_compile" \
    -v mp="$match_pairs" -v fp="$floor_pairs" -v mr="${match_ratios[*]}" -v fr="${floor_ratios[*]}" \
    -v sp="$scaling_pairs" -v sr="${scaling_ratios[*]}" -v l1="$t_large_1" -v ln="$t_large" \
    -v j1="$t_json_1" -v jn="$t_json" 'BEGIN {
    printf "start-up compiling the corpus:                             %.3f s  (target < 0.3)\n", c
    printf "start-up from the compiled-rule cache:                     %.3f s  (target < 0.05)\n", s
    printf "matching x1: (full hunt - start-up) / no-rules hunt, 1 thread:   %.2f\n", (h - s) / n
    printf "matching x10: (full hunt - start-up) / no-rules hunt, 1 thread:  %.2f  (target <= 1.5)\n", (x1 - s) / xz
    printf "  the same, runs in turns (median of pairs):                     %.2f  (%s)\n", mp, mr
    printf "no-rules hunt / parse floor (records into the field view): %.2f  (target <= 1.3)\n", n / r
    printf "  the same, runs in turns (median of pairs):               %.2f  (%s)\n", fp, fr
    printf "no-rules hunt / evtx crate alone (no field view):          %.2f\n", n / f
    printf "parse floor / evtx crate alone:                            %.2f\n", r / f
    printf "thread scaling on x10 (1 thread / all cores):              %.2f  (target >= 1.8)\n", x1 / xn
    printf "  the same, runs in turns (median of pairs):               %.2f  (%s)\n", sp, sr
    printf "thread scaling on one large EVTX file:                     %.2f\n", l1 / ln
    printf "thread scaling on one large JSON file:                     %.2f\n", j1 / jn
    printf "peak RSS x10 / x1:                                         %.2f  (target <= 1.1)\n", m10 / m1
}'
