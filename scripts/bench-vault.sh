#!/usr/bin/env bash
# The key-vault benchmark (issue 5) in one process, with SoftHSM2 over PKCS#11 as the peer:
#   scripts/bench-vault.sh [KEYS]          default 10,000,000 keys
# Needs softhsm2 (apt). Prints the tables recorded in docs/benchmarks.md, among them
# "WebAuthn assertion verifications/s" beside "raw P-256 ECDSA verifications/s" (same
# run, same threads; the section "Owner-authorization verification alone").
set -euo pipefail
cd "$(dirname "$0")/.."
keys="${1:-10000000}"
module=$( (dpkg -L softhsm2 libsofthsm2 2>/dev/null || true) | grep -m1 'libsofthsm2\.so$' || true)
[ -n "$module" ] || { echo "softhsm2 is not installed (apt-get install softhsm2)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
softhsm2-util --init-token --free --label affix-bench --pin 1234 --so-pin 5678 >/dev/null
export AFFIX_PKCS11_PIN=1234
cargo build --release --locked -p affix-bench --quiet
target/release/affix-bench vault --keys "$keys" --pkcs11-module "$module" --pkcs11-token affix-bench "${@:2}"
