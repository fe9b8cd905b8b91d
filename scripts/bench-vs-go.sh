#!/usr/bin/env bash
# Runs the evidence-log core benchmarks (criterion) and the same workloads with Go's
# golang.org/x/mod/sumdb/{note,tlog} in one script, then prints the figures side by side
# with the physical limit measured in the same run. Usage: scripts/bench-vs-go.sh
# Needs: golang-go, golang-golang-x-mod-dev (scripts/test installs them), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench -p affix-merkle --bench merkle -- --noplot >/dev/null
cargo bench -p affix-note --bench receipt -- --noplot >/dev/null

gobin=$(mktemp -d)/affix-interop
GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$gobin" interop/go/affix-interop.go
"$gobin" bench -n 1048576 > target/go-bench.txt

python3 - <<'PY'
import json, pathlib
crit = pathlib.Path("target/criterion")

def rate(group, bench, elements):
    est = json.loads((crit / group / bench / "new" / "estimates.json").read_text())
    return elements / (est["mean"]["point_estimate"] * 1e-9)

go = {}
for line in pathlib.Path("target/go-bench.txt").read_text().split("\n"):
    parts = line.split()
    if len(parts) == 3 and parts[0] == "go":
        go[parts[1]] = float(parts[2])

compress = rate("limit", "sha256_compress_block", 4096)
ed25519 = rate("limit", "ed25519_verify", 1)
rows = [
    # name, rust ops/s, go ops/s, target, limit, limit explanation
    ("append (SHA-256, right edge only)", rate("append", "sha256_tree_builder", 1 << 20), go["append"],
     1_000_000, compress / 2, "2 SHA-256 compressions per append"),
    ("append (SHA-256, keeping tiles)", rate("append", "sha256_with_tiles", 1 << 20), go["append"],
     1_000_000, compress / 2, "2 SHA-256 compressions per append"),
    ("append (SM3, keeping tiles)", rate("append", "sm3_with_tiles", 1 << 20), None, None, None, ""),
    ("inclusion proof verify (2^20 tree)", rate("inclusion", "verify_1m_tree", 1000), go["verify_inclusion"],
     300_000, compress / 40, "20 node hashes x 2 compressions"),
    ("receipt verify (3 Ed25519 sigs + proof)", rate("receipt", "parse_and_verify_3_ed25519", 1),
     go["verify_checkpoint_proof"], 8_000, ed25519 / 3, "3 Ed25519 verifications"),
]
fmt = "{:<42} {:>12} {:>12} {:>7} {:>10} {:>12}  {}"
print(fmt.format("operation (ops/s, one core)", "Affix", "Go tlog", "ratio", "target", "limit", "limit is"))
for name, r, g, target, limit, why in rows:
    print(fmt.format(name, f"{r:,.0f}", f"{g:,.0f}" if g else "-", f"{r/g:.2f}x" if g else "-",
                     f"{target:,}" if target else "-", f"{limit:,.0f}" if limit else "-", why))
print(f"\nSHA-256 compression: {compress:,.0f} blocks/s; Ed25519 verify: {ed25519:,.0f}/s "
      f"(both measured in this run)")
PY
