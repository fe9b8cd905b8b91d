#!/usr/bin/env bash
# Regenerates fuzz/seeds/<target>/ from real artefacts (STYLE.md §11: fuzzing seeded from
# the vectors):
#   record      the evidence record vectors (crates/affix-evidence/tests/vectors/*.hex) and
#               records carried by real receipts;
#   bundle      not made here: seeds/bundle/ holds copies of the recorded bundles in
#               crates/affix-bundle/tests/vectors/, whose anchors the target compiles in;
#   note, checkpoint, receipt, keys, tile_path, proof
#               files written by the `affix` CLI: `affix demo`, plus two small logs signed
#               with the fixed fuzzing keys in fuzz/keys/ (SHA-256 + Ed25519 and
#               SM3 + SM2), so seeds reach signature and inclusion checks.
# Needs cargo, xxd, base64, sha256sum and openssl (for SM3). Timestamps and the demo's
# key are fresh on every run, so the output differs run to run; commit it only when a
# format changes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seeds="$root/fuzz/seeds"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
cargo build -q -p affix
affix() { cargo run -q -p affix -- "$@"; }

targets=(note checkpoint receipt record keys tile_path proof)
for t in "${targets[@]}"; do
    rm -rf "${seeds:?}/$t"
    mkdir -p "$seeds/$t"
done

# note text before the blank line (a checkpoint body)
body() { awk '/^$/ { exit } { print }' "$1"; }
# u64 big-endian
u64() { printf '%016x' "$1" | xxd -r -p; }
# the base64 hash lines of a receipt (after `index`, before the blank line)
proof_hashes() { awk '/^$/ { exit } found { print } /^index / { found = 1 }' "$1"; }
# the record bytes in a receipt's `extra` line
extra() { sed -n 's/^extra //p' "$1" | base64 -d; }
# the root hash line of a signed checkpoint
root_of() { sed -n 3p "$1"; }

# 1. `affix demo`: a real run directory.
affix demo --dir "$work/demo" >/dev/null
demo=$(echo "$work"/demo/run-*)

# 2. Two logs signed by the fixed fuzzing keys.
install -m 600 fuzz/keys/fixed-ed25519.key "$work/ed25519.key"
install -m 600 fuzz/keys/fixed-sm2.key "$work/sm2.key"
mkdir -p "$work/docs"
for i in $(seq 1 300); do
    printf 'fuzz seed document %d\n' "$i" >"$work/docs/doc-$(printf %03d "$i").txt"
done
docs=("$work"/docs/doc-*.txt)

affix log init --origin fuzz.example/log --key "$work/ed25519.key" "$work/log" >/dev/null
affix log append "$work/log" --metadata channel=fuzz "${docs[@]:0:2}" >/dev/null
affix log append "$work/log" --kind contract.signed --subject contract-42 "${docs[2]}" >/dev/null
affix log append "$work/log" "${docs[@]:3:2}" >/dev/null
affix log checkpoint "$work/log" >"$work/log-5.checkpoint"
affix log proof "$work/log" 0 >"$work/log-0.tlog-proof"
affix log proof "$work/log" 2 >"$work/log-2.tlog-proof"
affix log proof "$work/log" 4 >"$work/log-4.tlog-proof"
affix log append "$work/log" "${docs[@]:5}" >/dev/null
affix log checkpoint "$work/log" >"$work/log-300.checkpoint"
affix log consistency "$work/log" 5 300 >"$work/log-5-300.consistency"
affix log export "$work/log" "$work/static" >/dev/null

affix log init --origin fuzz.example/log/sm3 --key "$work/sm2.key" "$work/sm3" >/dev/null
affix log append "$work/sm3" "${docs[@]:0:3}" >/dev/null
affix log checkpoint "$work/sm3" >"$work/sm3-3.checkpoint"
affix log proof "$work/sm3" 1 >"$work/sm3-1.tlog-proof"

# note: signed notes (checkpoints are notes).
cp "$demo/checkpoint" "$seeds/note/demo-checkpoint"
cp "$work/log-5.checkpoint" "$seeds/note/ed25519-checkpoint"
cp "$work/sm3-3.checkpoint" "$seeds/note/sm2-checkpoint"

# checkpoint: signed checkpoints and bare bodies.
cp "$demo/checkpoint" "$seeds/checkpoint/demo-signed"
cp "$work/log-5.checkpoint" "$seeds/checkpoint/ed25519-signed"
cp "$work/sm3-3.checkpoint" "$seeds/checkpoint/sm2-signed"
body "$demo/checkpoint" >"$seeds/checkpoint/demo-body"
body "$work/sm3-3.checkpoint" >"$seeds/checkpoint/sm3-body"

# receipt: tlog-proof files.
cp "$demo/iou.txt.tlog-proof" "$seeds/receipt/demo-iou"
cp "$work/log-0.tlog-proof" "$seeds/receipt/ed25519-index-0"
cp "$work/log-4.tlog-proof" "$seeds/receipt/ed25519-index-4"
cp "$work/sm3-1.tlog-proof" "$seeds/receipt/sm2-index-1"
grep -v '^extra ' "$work/log-2.tlog-proof" >"$seeds/receipt/ed25519-index-2-no-extra"

# record: the frozen vectors and records from real receipts.
for hex in crates/affix-evidence/tests/vectors/*.hex; do
    head -n 1 "$hex" | xxd -r -p >"$seeds/record/vector-$(basename "$hex" .hex)"
done
extra "$demo/iou.txt.tlog-proof" >"$seeds/record/demo-iou"
extra "$work/log-0.tlog-proof" >"$seeds/record/with-metadata"
extra "$work/log-2.tlog-proof" >"$seeds/record/contract-signed"

# keys: verifier keys, the fixed (fuzzing-only) signer keys and a verifier keys file.
cp "$demo/notary.vkey" "$seeds/keys/demo.vkey"
affix log status "$work/log" | sed -n 's/^signer //p' >"$seeds/keys/fixed-ed25519.vkey"
affix log status "$work/sm3" | sed -n 's/^signer //p' >"$seeds/keys/fixed-sm2.vkey"
cp fuzz/keys/fixed-ed25519.key "$seeds/keys/fixed-ed25519.key"
cp fuzz/keys/fixed-sm2.key "$seeds/keys/fixed-sm2.key"
cp crates/affix-bundle/tests/vectors/verifier-keys "$seeds/keys/verifier-keys"

# tile_path: the paths of an exported log of 300 entries (no trailing newline).
(cd "$work/static" && find tile -type f | sort) | while read -r path; do
    printf '%s' "$path" >"$seeds/tile_path/$(echo "$path" | tr '/.' '__')"
done

# proof: real inclusion and consistency proofs in the target's binary layout
# (suite byte, a, b, first hash, second hash, proof hashes).
{
    printf '\x00'; u64 4; u64 5
    (printf '\x00'; extra "$work/log-4.tlog-proof") | sha256sum | cut -d' ' -f1 | xxd -r -p
    root_of "$work/log-5.checkpoint" | base64 -d
    proof_hashes "$work/log-4.tlog-proof" | base64 -d
} >"$seeds/proof/inclusion-sha256"
{
    printf '\x01'; u64 1; u64 3
    (printf '\x00'; extra "$work/sm3-1.tlog-proof") | openssl dgst -sm3 -r | cut -d' ' -f1 | xxd -r -p
    root_of "$work/sm3-3.checkpoint" | base64 -d
    proof_hashes "$work/sm3-1.tlog-proof" | base64 -d
} >"$seeds/proof/inclusion-sm3"
{
    printf '\x00'; u64 5; u64 300
    root_of "$work/log-5.checkpoint" | base64 -d
    root_of "$work/log-300.checkpoint" | base64 -d
    base64 -d <"$work/log-5-300.consistency"
} >"$seeds/proof/consistency-sha256"

for t in "${targets[@]}"; do
    echo "$t: $(find "$seeds/$t" -type f | wc -l) seeds, $(cat "$seeds/$t"/* | wc -c) bytes"
done
