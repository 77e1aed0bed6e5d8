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

# Writes one large EVTX file to $1: every chunk that holds records in the
# samples (357 chunks, 8,255 records, 23 MB) behind the first sample's file
# header. Chunks carry their own strings and templates, so each reads as in
# its own file. For reading one file on several threads.
large_evtx() {
    local out=$1 f size i
    : > "$out"
    while IFS= read -r -d '' f; do
        [ "$(head -c 7 "$f")" = ElfFile ] || continue
        [ -s "$out" ] || head -c 4096 "$f" > "$out"
        size=$(stat -c %s "$f")
        for (( i = 0; i < (size - 4096) / 65536; i++ )); do
            [ "$(dd if="$f" bs=4096 skip=$(( 1 + 16 * i )) count=1 2>/dev/null | head -c 7 | tr -d "\\0")" = ElfChnk ] || continue
            dd if="$f" bs=4096 skip=$(( 1 + 16 * i )) count=16 2>/dev/null >> "$out"
        done
    done < <(find "$evtx" -name '*.evtx' -print0 | sort -z)
}

# One large file of JSON records: windows-json's largest set (43 MB of
# Windows events, one object a line) ten times over, 430 MB: read in
# segments on several threads.
large_json() {
    local out=$1 i
    : > "$out"
    for i in $(seq 10); do unzip -p "$data/windows-json/empire_mimikatz_logonpasswords.zip" >> "$out"; done
}
