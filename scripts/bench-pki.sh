#!/usr/bin/env bash
# PKI and trusted-time benchmark, in one script on one machine:
#   - in process: RFC 3161 tokens/s beside the raw ECDSA P-256 signing rate measured in
#     the same run (the limit), and certificate issuance/s (cargo benches);
#   - over HTTP: `affix tsa serve` under `affix-bench tsa` (2 cores shared by server and
#     client);
#   - OpenSSL as the TSA: `openssl ts -reply` with the same key and certificate, one
#     process per token (how it is used as a TSA), timed over a fixed number of tokens.
# Usage: scripts/bench-pki.sh [HTTP_REQUESTS] (default 30000). Needs cargo, openssl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-30000}"

tokens_line=$(cargo bench -q -p affix-tsp --bench tokens 2>/dev/null | grep '^P-256')
issue_line=$(cargo bench -q -p affix-pki --bench issuance 2>/dev/null | grep '^P-256')
cargo build --release -q -p affix -p affix-bench
affix="$PWD/target/release/affix"
bench="$PWD/target/release/affix-bench"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT

"$affix" ca init --dir "$work/ca" --name "Affix Bench" >/dev/null
"$affix" tsa init --dir "$work/tsa" --ca "$work/ca" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$affix" tsa serve --dir "$work/tsa" --listen "127.0.0.1:$port" 2>/dev/null &
pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$bench" tsa --url "http://127.0.0.1:$port" --requests 2000 --concurrency 32 >/dev/null  # warm-up
http_json=$("$bench" tsa --url "http://127.0.0.1:$port" --requests "$requests" --concurrency 32)

# OpenSSL as a TSA with the same key and certificate.
cat > "$work/ts.cnf" <<EOF
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = $work
serial = \$dir/ossl-serial
signer_cert = \$dir/tsa/tsa.pem
certs = \$dir/tsa/chain.pem
signer_key = \$dir/tsa/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.59999.1.1
digests = sha256
accuracy = secs:0, millisecs:100
ess_cert_id_alg = sha256
EOF
echo 01 > "$work/ossl-serial"
echo "benchmark" > "$work/data"
openssl ts -query -data "$work/data" -sha256 -cert -out "$work/q.tsq" 2>/dev/null
n=200
start=$(date +%s.%N)
for _ in $(seq $n); do
  openssl ts -reply -config "$work/ts.cnf" -queryfile "$work/q.tsq" -out "$work/r.tsr" 2>/dev/null
done
end=$(date +%s.%N)

python3 - "$tokens_line" "$issue_line" "$http_json" "$n" "$start" "$end" <<'PY'
import json, re, sys
tokens_line, issue_line, http_json, n, start, end = sys.argv[1:7]
raw = float(re.search(r"raw signatures (\d+)/s", tokens_line).group(1))
inproc = float(re.search(r"tokens \(parse \+ issue \+ encode response, certReq\) (\d+)/s", tokens_line).group(1))
issued = float(re.search(r"= (\d+)/s", issue_line).group(1))
http = json.loads(http_json)
ossl = int(n) / (float(end) - float(start))
print(f"{'ECDSA P-256 (RustCrypto), one core':44} {'per second':>12}")
print(f"{'raw signatures (the limit)':44} {raw:>12,.0f}")
print(f"{'RFC 3161 tokens, in process':44} {inproc:>12,.0f}   {inproc/raw:.0%} of raw (target >= 50%)")
print(f"{'RFC 3161 tokens over HTTP, 2 cores':44} {http['records_per_second']:>12,.0f}   p50 {http['commit_latency_p50_s']*1000:.1f} ms, p99 {http['commit_latency_p99_s']*1000:.1f} ms (target >= 5,000/s)")
print(f"{'openssl ts -reply, one process per token':44} {ossl:>12,.1f}   (Affix HTTP is {http['records_per_second']/ossl:,.0f}x)")
print(f"{'certificate issuance, in process':44} {issued:>12,.0f}   (target >= 5,000/s)")
PY
