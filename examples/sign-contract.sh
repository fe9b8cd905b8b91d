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

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
# Shows the start of a secret only: API keys and invite tokens are bearer credentials.
short() { printf '%s…' "${1:0:12}"; }

for tool in curl jq openssl base64 sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required (Debian package: ${tool/sha256sum/coreutils})"
done
if [ -z "${AFFIX_BIN:-}" ]; then
  if command -v affix >/dev/null 2>&1; then
    AFFIX_BIN=affix
  else
    AFFIX_BIN="$(cd "$(dirname "$0")/.." && pwd)/target/release/affix"
    [ -x "$AFFIX_BIN" ] || fail "no affix binary: build it (cargo build --release --bin affix) or set AFFIX_BIN"
  fi
fi
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/affix-walkthrough.XXXXXX")"
fi
mkdir -p "$WORK"

# api METHOD PATH TOKEN [JSON BODY]: prints the JSON answer; stops the script with the
# problem+json answer on any HTTP error.
api() {
  local method=$1 path=$2 token=$3
  local args=(-sS --max-time 120 -X "$method" -o "$WORK/answer" -w '%{http_code}' -H "Authorization: Bearer $token")
  if [ $# -ge 4 ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$4")
  fi
  local status
  status=$(curl "${args[@]}" "$URL$path") || fail "$method $path: no answer from $URL"
  if [ "$status" -ge 400 ]; then
    printf 'error: %s %s answered HTTP %s:\n' "$method" "$path" "$status" >&2
    cat "$WORK/answer" >&2
    echo >&2
    exit 1
  fi
  cat "$WORK/answer"
}

step "the platform at $URL (data directory $DATA, files in $WORK)"
curl -sSf --max-time 10 "$URL/healthz" >/dev/null || fail "nothing answers at $URL/healthz: start it with: affix serve"
[ -r "$DATA/operator.token" ] || fail "no $DATA/operator.token: pass the data directory affix serve printed"
OPERATOR="$(tr -d '[:space:]' <"$DATA/operator.token")"
OUTBOX="$DATA/outbox/email.jsonl"
say "operator token from $DATA/operator.token: $(short "$OPERATOR")"

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

step "4. send it: one invite per party (a bearer token, also e-mailed as a link)"
sent=$(api POST "/v1/contracts/$ID/send" "$ADMIN" '{}')
INVITES=()
for n in 0 1; do
  INVITES+=("$(jq -r --arg p "${PERSONS[$n]}" '.invites[] | select(.person_id == $p) | .token' <<<"$sent")")
  say "${NAMES[$n]}: invite $(short "${INVITES[$n]}")"
done

# The handwritten signature: a 16×6 grayscale PNG of a wavy stroke (made once with
# Python's zlib; any PNG up to the platform's size limit will do).
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAGCAAAAADvF0E7AAAAI0lEQVR42mP4jwYYgIgBymSACDCARf/DaAZkDpxG1saAbigA4VdPsdsk5S8AAAAASUVORK5CYII=' |
  base64 -d >"$WORK/signature.png"

for n in 0 1; do
  name=${NAMES[$n]} email=${EMAILS[$n]} token=${INVITES[$n]} file=${FILES[$n]}
  step "5.$((n + 1)) $name signs"

  # The signer's device: an Ed25519 key that authorizes each use of the signer's
  # vault key. In production it lives in the signer's app; here, in a file.
  device="$WORK/$file.device"
  device_public=$("$AFFIX_BIN" device keygen --out "$device")
  say "device key $device (public $device_public)"

  invite=$(api GET /v1/invite "$token")
  digest=$(jq -r .contract.content_digest <<<"$invite")
  # What is being signed: the document's SHA-256 is a field of the content.
  shown=$(jq -r .document <<<"$invite" | base64 -d | sha256sum | cut -d' ' -f1)
  [ "$shown" = "$(jq -r .contract.fields.document_sha256 <<<"$invite")" ] ||
    fail "the document shown is not the one in the contract"
  say "invite: \"$(jq -r .contract.title <<<"$invite")\", document SHA-256 $shown"

  api POST /v1/invite/identity/email "$token" '{}' >/dev/null
  [ -r "$OUTBOX" ] || fail "no e-mail outbox at $OUTBOX (is SMTP configured?)"
  # One JSON object a line; the last identity.code message to this address holds the code.
  code=$(jq -rs --arg to "$email" \
    '[.[] | select(.to == $to and .event_type == "identity.code") | .body
      | capture("\\b(?<code>[0-9]{6})\\b").code] | last // empty' "$OUTBOX")
  [ -n "$code" ] || fail "no one-time code for $email in $OUTBOX"
  say "one-time code e-mailed to $email (read from the outbox): $code"

  body=$(jq -n --arg code "$code" --arg key "$device_public" '{code: $code, device_public_key: $key}')
  verified=$(api POST /v1/invite/identity/email/verify "$token" "$body")
  say "identity verified; the device is enrolled (party: $(jq -r --arg p "${PERSONS[$n]}" '.parties[] | select(.person_id == $p) | .status' <<<"$verified"))"

  body=$(jq -n --arg d "$digest" '{content_digest: $d}')
  api POST /v1/invite/view "$token" "$body" >/dev/null
  api POST /v1/invite/consent "$token" "$body" >/dev/null
  say "viewed and consented to content $digest"

  status=$(curl -sS --max-time 120 -o "$WORK/answer" -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $token" -H 'Content-Type: image/png' \
    --data-binary "@$WORK/signature.png" "$URL/v1/invite/signature-image")
  [ "$status" = 200 ] || fail "PUT /v1/invite/signature-image answered $status: $(cat "$WORK/answer")"
  say "signature image uploaded (SHA-256 $(jq -r .sha256 "$WORK/answer"))"

  prepared=$(api POST /v1/invite/sign/prepare "$token" '{}')
  say "prepared: the vault will sign CMS signed attributes with digest $(jq -r .payload_digest <<<"$prepared")"
  device_signature=$("$AFFIX_BIN" device sign --key "$device" "$(jq -r .statement <<<"$prepared")" 2>/dev/null)
  body=$(jq -n --arg s "$device_signature" '{device_signature: $s}')
  signed=$(api POST /v1/invite/sign "$token" "$body")
  say "signed: $name is $(jq -r --arg p "${PERSONS[$n]}" '.parties[] | select(.person_id == $p) | .status' <<<"$signed"), the contract is $(jq -r .status <<<"$signed")"
done

step "6. the contract is effective"
contract=$(api GET "/v1/contracts/$ID" "$ADMIN")
status=$(jq -r .status <<<"$contract")
[ "$status" = effective ] || fail "the contract is $status, not effective"
jq -r '.parties[] | "    \(.name): \(.status)"' <<<"$contract"

step "7. the trust anchors, fetched from the platform's published endpoints (not from the bundle)"
api GET /v1/ledger/verifier-keys "$ADMIN" >"$WORK/verifier-keys"
# -j: the PEM exactly as served (jq -r would add a blank line after it).
curl -sSf --max-time 60 "$URL/v1/ca" | jq -j .root >"$WORK/root.pem"
say "$WORK/verifier-keys (the ledger's keys) and $WORK/root.pem (the CA root)"

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
