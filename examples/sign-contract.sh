#!/usr/bin/env bash
# A contract from creation to offline verification, against a running `affix serve`,
# with nothing but curl, jq, openssl and the affix binary. Read it as the walkthrough
# of the API: every step is one HTTP call or one affix command, printed as it runs.
#
#   examples/sign-contract.sh [URL] [DATA_DIR] [WORK_DIR]
#
#   URL       the platform (default $AFFIX_URL, else http://127.0.0.1:8080)
#   DATA_DIR  the data directory `affix serve` uses (default $AFFIX_DATA_DIR, else
#             ./affix-data): the operator token and the e-mail outbox are read from it
#   WORK_DIR  where device keys, the bundle and the extracted files go (default
#             $AFFIX_WORK_DIR, else a new directory under /tmp)
#   AFFIX_BIN the affix binary (default: `affix` on PATH, else target/release/affix)
#
# On the embedded defaults no e-mail is sent: messages are appended to
# DATA_DIR/outbox/email.jsonl, and this script reads each signer's one-time code there.
# Exits non-zero at the first failure, printing the server's answer.
set -euo pipefail

URL="${1:-${AFFIX_URL:-http://127.0.0.1:8080}}"
URL="${URL%/}"
DATA="${2:-${AFFIX_DATA_DIR:-./affix-data}}"
WORK="${3:-${AFFIX_WORK_DIR:-}}"

# shellcheck source=examples/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
platform_check

step "1. a tenant (the operator's token creates it; its admin API key does the rest)"
tenant=$(api POST /v1/tenants "$OPERATOR" '{"name": "Example Trading Co."}')
ADMIN=$(jq -r .admin_api_key <<<"$tenant")
say "tenant $(jq -r .tenant_id <<<"$tenant"), admin API key $(short "$ADMIN")"

step "2. two persons"
NAMES=("张三" "李四")
EMAILS=("zhangsan@example.com" "lisi@example.com")
FILES=("zhangsan" "lisi")
PERSONS=()
for n in 0 1; do
  body=$(jq -n --arg name "${NAMES[$n]}" --arg email "${EMAILS[$n]}" '{name: $name, email: $email}')
  person=$(api POST /v1/persons "$ADMIN" "$body")
  PERSONS+=("$(jq -r .id <<<"$person")")
  say "${NAMES[$n]} <${EMAILS[$n]}>: person ${PERSONS[$n]}"
done

step "3. a generic contract: a small document, two parties signing in order"
printf '%s\n' \
  "Sale agreement" \
  "张三 sells 李四 100 units of tea at CNY 12.50 each, delivery by 2026-12-31." >"$WORK/document.txt"
body=$(jq -n \
  --arg doc "$(base64 -w0 "$WORK/document.txt")" \
  --arg a "${PERSONS[0]}" --arg b "${PERSONS[1]}" \
  '{template: "generic_contract",
    fields: {title: "Sale agreement", description: "100 units of tea"},
    parties: [$a, $b],
    signing_order: "sequential",
    document: $doc,
    document_name: "document.txt"}')
contract=$(api POST /v1/contracts "$ADMIN" "$body")
ID=$(jq -r .id <<<"$contract")
say "contract $ID: $(jq -r .status <<<"$contract"), content digest $(jq -r .content_digest <<<"$contract")"

step "4. send it: each party is e-mailed its own invite link (the sender never sees it)"
sent=$(api POST "/v1/contracts/$ID/send" "$ADMIN" '{}')
INVITES=()
for n in 0 1; do
  INVITES+=("$(received_invite "${EMAILS[$n]}" "$ID")")
  say "${NAMES[$n]}: invite $(short "${INVITES[$n]}")"
done

for n in 0 1; do
  step "5.$((n + 1)) ${NAMES[$n]} signs"
  sign_party "${NAMES[$n]}" "${EMAILS[$n]}" "${INVITES[$n]}" "${FILES[$n]}" "${PERSONS[$n]}"
done

step "6. the contract is effective"
contract=$(api GET "/v1/contracts/$ID" "$ADMIN")
status=$(jq -r .status <<<"$contract")
[ "$status" = effective ] || fail "the contract is $status, not effective"
jq -r '.parties[] | "    \(.name): \(.status)"' <<<"$contract"

step "7. the trust anchors, fetched from the platform's published endpoints (not from the bundle)"
trust_anchors "$ADMIN"

step "8. the evidence bundle: content, document, every event with its ledger receipt, every signature"
api GET "/v1/contracts/$ID/bundle?wait=30" "$ADMIN" >"$WORK/bundle.json"
say "$WORK/bundle.json: $(jq '.events | length' "$WORK/bundle.json") events, $(jq '.signatures | length' "$WORK/bundle.json") signatures"

step "9. offline: affix verify-bundle (receipts, event chain, CMS signatures, time-stamps, document)"
"$AFFIX_BIN" verify-bundle "$WORK/bundle.json" --keys "$WORK/verifier-keys" --ca "$WORK/root.pem"

step "10. offline, with a tool we did not write: openssl checks ${NAMES[0]}'s CMS signature"
jq -r .content "$WORK/bundle.json" | base64 -d >"$WORK/content.bin"
jq -r '.signatures[0].cms' "$WORK/bundle.json" | base64 -d >"$WORK/${FILES[0]}.p7s"
openssl cms -verify -binary -inform DER -in "$WORK/${FILES[0]}.p7s" -content "$WORK/content.bin" \
  -CAfile "$WORK/root.pem" -purpose any -signer "$WORK/${FILES[0]}.pem" -out /dev/null
say "signer: $(openssl x509 -in "$WORK/${FILES[0]}.pem" -noout -subject -nameopt RFC2253,-esc_msb)"

step "done: contract $ID is signed and its evidence verified offline (files in $WORK)"
