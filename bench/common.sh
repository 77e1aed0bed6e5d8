# Sourced by the bench scripts: checks the shared data, builds ferret and
# the parse floor, and names the inputs and the full SigmaHQ corpus.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=../shared/data
[ -d "$data" ] || { echo "bench: ../shared/data is missing" >&2; exit 1; }
cargo build --release --quiet -p ferret-cli
cargo build --release --quiet -p ferret-read --example parse_floor
ferret=target/release/ferret
floor=target/release/examples/parse_floor
evtx=$data/evtx-attack-samples
rules=(-r "$data/sigma/rules" -r "$data/sigma/rules-emerging-threats" -r "$data/sigma/rules-threat-hunting")

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
