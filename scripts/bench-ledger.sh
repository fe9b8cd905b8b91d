#!/usr/bin/env bash
# Ledger benchmark, in one script on one machine so the ratio is fair:
#   1. a four-authority Affix consortium (`affix devnet`, four `affix node` processes on
#      loopback) takes RECORDS evidence records and returns a quorum-signed receipt for
#      each batch (`affix-bench ledger`: sustained records/s, commit latency p50/p99);
#      then bytes stored per record are read off the nodes' data directories;
#   2. a three-member etcd cluster (Debian etcd-server 3.4, loopback) takes the same
#      number of replicated puts of the same size (`affix-bench etcd`, v3 JSON gateway).
# Usage: scripts/bench-ledger.sh [RECORDS]   (default 200000). Needs: cargo, apt (etcd-server), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-200000}"

if ! command -v etcd >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends etcd-server
fi
cargo build --release -q -p affix -p affix-bench
affix="$PWD/target/release/affix"
bench="$PWD/target/release/affix-bench"
work=$(mktemp -d)
pids=()
stop() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT

echo "== Affix: 4 authorities, $records records"
"$affix" devnet --dir "$work/devnet" --nodes 4 --no-start >/dev/null
for n in operator notary arbitration appraisal; do
  AFFIX_LOG=warn "$affix" node --config "$work/devnet/$n/node.toml" 2>"$work/$n.log" &
  pids+=($!)
done
for url in $(cat "$work/devnet/nodes"); do
  for _ in $(seq 100); do curl -sf "$url/v1/status" >/dev/null 2>&1 && break; sleep 0.2; done
done
"$bench" ledger --nodes "$work/devnet/nodes" --keys "$work/devnet/verifier-keys" \
  --records "$records" --batch 1000 --concurrency 16 > "$work/affix.json"
sleep 2
stop
data="$work/devnet/notary/data"
log_bytes=$(du -sb "$data/log" | cut -f1)
engine_bytes=$(du -sb "$data/consensus" | cut -f1)
other_bytes=$(find "$data" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')

echo "== etcd: 3 members, $records puts"
clients=()
peers=""
for i in 1 2 3; do peers+="e$i=http://127.0.0.1:$((23800 + i)),"; done
peers=${peers%,}
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$work/etcd$i" \
    --listen-client-urls "http://127.0.0.1:$((23700 + i))" --advertise-client-urls "http://127.0.0.1:$((23700 + i))" \
    --listen-peer-urls "http://127.0.0.1:$((23800 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((23800 + i))" \
    --initial-cluster "$peers" --initial-cluster-state new --log-level error >"$work/etcd$i.log" 2>&1 &
  pids+=($!)
  clients+=(--endpoint "http://127.0.0.1:$((23700 + i))")
done
for _ in $(seq 100); do curl -sf http://127.0.0.1:23701/health >/dev/null 2>&1 && break; sleep 0.2; done
"$bench" etcd "${clients[@]}" --records "$records" --concurrency 64 > "$work/etcd.json"
etcd_bytes=$(du -sb "$work/etcd1" | cut -f1)
stop

python3 - "$work/affix.json" "$work/etcd.json" "$log_bytes" "$engine_bytes" "$other_bytes" "$etcd_bytes" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
log_b, engine_b, other_b, etcd_b = map(int, sys.argv[3:7])
n, rb = a["records"], a["record_bytes"]
print(f"{'':34} {'Affix (4 authorities)':>22} {'etcd 3.4 (3 members)':>22}")
print(f"{'records/s (with receipts for Affix)':34} {a['records_per_second']:>22,.0f} {e['records_per_second']:>22,.0f}")
print(f"{'commit latency p50':34} {a['commit_latency_p50_s']*1000:>19.0f} ms {e['commit_latency_p50_s']*1000:>19.1f} ms")
print(f"{'commit latency p99':34} {a['commit_latency_p99_s']*1000:>19.0f} ms {e['commit_latency_p99_s']*1000:>19.1f} ms")
print(f"{'ratio of throughput':34} {a['records_per_second']/e['records_per_second']:>21.2f}x")
print(f"\nAffix latency is per batch of {a['batch']} records, submit to verified receipt "
      f"({a['concurrency']} batches in flight); etcd's per put ({e['concurrency']} in flight).")
print(f"bytes per record on one node ({n} records of {rb} bytes):")
print(f"  evidence log (entries, index, tile hashes): {log_b/n:8.1f} total, {log_b/n - rb:6.1f} beyond the record")
print(f"  + certificates, checkpoints:               {other_b/n:8.1f}")
print(f"  consensus engine (journal, block archive):  {engine_b/n:8.1f} (a bounded window of blocks; see docs/benchmarks.md)")
print(f"  etcd member data dir:                       {etcd_b/n:8.1f}")
PY
