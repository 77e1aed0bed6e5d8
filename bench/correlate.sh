#!/usr/bin/env bash
# Correlation scaling benchmark: `ferret hunt` with the built-in rules
# (correlation rules included) over synthetic auth.log of N and 10xN lines
# from the gen_authlog example, next to the read + parse floor (no rules).
# Prints medians of wall time and peak RSS over RUNS runs after a warm-up,
# events per second, and the 10x/1x ratios.
#
#   N=300000 bench/correlate.sh [RUNS]     (defaults: N=300000, RUNS=5, SEED=1)
#
# Needs about 130 MB of temporary disk per 1M lines (mktemp -d, removed on
# exit). Compare figures as ratios within one run: the machine is small and
# noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
n=${N:-300000}
seed=${SEED:-1}
cargo build --release --quiet -p ferret-cli
cargo build --release --quiet -p ferret-app --example gen_authlog
ferret=target/release/ferret
gen=target/release/examples/gen_authlog
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/norules"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD 2>/dev/null; then commit="$commit+dirty"; fi
echo "ferret correlation benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  commit $commit  runs=$runs  cores=$(nproc)"
echo "command: N=$n SEED=$seed bench/correlate.sh $runs"
echo "hunt:    $ferret hunt <file> -f jsonl -o /dev/null -q"
echo "floor:   $ferret hunt <file> --no-builtin -r <empty dir> -f jsonl -o /dev/null -q"

# median wall seconds and median peak RSS (KB) of a command over $runs runs
measure() {
    "$@" >/dev/null 2>&1 || true   # warm-up
    local times=() rss=()
    for _ in $(seq "$runs"); do
        local out
        /usr/bin/time -o "$tmp/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$tmp/time")
        times+=("${out% *}")
        rss+=("${out#* }")
    done
    local median='{a[NR]=$1} END {print a[int((NR+1)/2)]}'
    echo "$(printf '%s\n' "${times[@]}" | sort -n | awk "$median") $(printf '%s\n' "${rss[@]}" | sort -n | awk "$median")"
}

row() { # label, seconds, rss, lines
    awk -v l="$1" -v t="$2" -v m="$3" -v n="$4" \
        'BEGIN { printf "%-46s %8.2f s %9d KB %12.0f events/s\n", l, t, m, (t > 0 ? n / t : 0) }'
}

# Generate both inputs (same seed: the 10x file is a longer run of the same
# activity, with 10x the campaigns, not copies).
for scale in 1 10; do
    lines=$((n * scale))
    /usr/bin/time -o "$tmp/time" -f '%e %M' \
        "$gen" --events "$lines" --seed "$seed" -o "$tmp/x$scale.log" --truth "$tmp/x$scale.truth.json" 2>"$tmp/gen.err"
    read -r t m < <(tail -1 "$tmp/time")
    size=$(du -m "$tmp/x$scale.log" | cut -f1)
    row "generate x$scale: $lines lines, $size MB" "$t" "$m" "$lines"
    sed -n 's/^gen_authlog: /    /p' "$tmp/gen.err"
done

# One checked run per input: must read every line, none skipped.
for scale in 1 10; do
    "$ferret" hunt "$tmp/x$scale.log" -f jsonl -o "$tmp/alerts$scale.jsonl" 2>"$tmp/summary" || {
        cat "$tmp/summary" >&2
        exit 1
    }
    grep -E '^ +(events read|skipped|rules|alerts) ' "$tmp/summary" | sed "s/^ */    x$scale: /"
    if ! grep -qE '^ +skipped +0 records' "$tmp/summary"; then
        echo "bench: records skipped on x$scale input" >&2
        exit 1
    fi
done
echo "alerts by rule, x1 (truth: $(jq -c '.summary | {campaigns, brute_force, password_spray, distributed_brute_force, successes}' "$tmp/x1.truth.json")):"
jq -r '.rule.title' "$tmp/alerts1.jsonl" | sort | uniq -c | sort -rn | sed 's/^/    /'

read -r t1 m1 < <(measure "$ferret" hunt "$tmp/x1.log" -f jsonl -o /dev/null -q)
row "hunt x1: built-in rules" "$t1" "$m1" "$n"
read -r t10 m10 < <(measure "$ferret" hunt "$tmp/x10.log" -f jsonl -o /dev/null -q)
row "hunt x10: built-in rules" "$t10" "$m10" "$((n * 10))"
# Alerts of one input are held until the input ends; the benign password
# logins alone give ~4% of the lines a low alert. --min-level medium leaves
# them out, so that RSS shows the rules' own state.
read -r h1 hm1 < <(measure "$ferret" hunt "$tmp/x1.log" --min-level medium -f jsonl -o /dev/null -q)
row "hunt x1: built-in rules, --min-level medium" "$h1" "$hm1" "$n"
read -r h10 hm10 < <(measure "$ferret" hunt "$tmp/x10.log" --min-level medium -f jsonl -o /dev/null -q)
row "hunt x10: built-in rules, --min-level medium" "$h10" "$hm10" "$((n * 10))"
read -r f1 fm1 < <(measure "$ferret" hunt "$tmp/x1.log" --no-builtin -r "$tmp/norules" -f jsonl -o /dev/null -q)
row "floor x1: read + parse, no rules" "$f1" "$fm1" "$n"
read -r f10 fm10 < <(measure "$ferret" hunt "$tmp/x10.log" --no-builtin -r "$tmp/norules" -f jsonl -o /dev/null -q)
row "floor x10: read + parse, no rules" "$f10" "$fm10" "$((n * 10))"
awk -v t1="$t1" -v t10="$t10" -v m1="$m1" -v m10="$m10" -v f1="$f1" -v f10="$f10" -v fm1="$fm1" -v fm10="$fm10" \
    -v h1="$h1" -v h10="$h10" -v hm1="$hm1" -v hm10="$hm10" '
function ratio(a, b) { return b > 0 ? a / b : 0 }
function line(label, value, note) { printf "%-40s %6.2f%s\n", label ":", value, note }
BEGIN {
    line("hunt time x10 / x1", ratio(t10, t1), "  (target <= 11)")
    line("hunt peak RSS x10 / x1", ratio(m10, m1), "  (target: flat, ~1.0)")
    line("hunt --min-level medium time x10 / x1", ratio(h10, h1), "")
    line("hunt --min-level medium RSS x10 / x1", ratio(hm10, hm1), "")
    line("floor time x10 / x1", ratio(f10, f1), "")
    line("floor peak RSS x10 / x1", ratio(fm10, fm1), "")
    line("hunt / floor time, x1", ratio(t1, f1), "")
    line("hunt / floor time, x10", ratio(t10, f10), "")
}'
