# Shared by the walkthroughs in examples/ (sourced, not run): output helpers, the `api`
# call, a party's whole signing ceremony, and the trust anchors. The caller sets URL,
# DATA and WORK (see examples/sign-contract.sh) before sourcing this file.

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
    AFFIX_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/affix"
    [ -x "$AFFIX_BIN" ] || fail "no affix binary: build it (cargo build --release --bin affix) or set AFFIX_BIN"
  fi
fi
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/affix-walkthrough.XXXXXX")"
fi
mkdir -p "$WORK"
OUTBOX="$DATA/outbox/email.jsonl"

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

# The platform answers, and the operator token is where `affix serve` wrote it.
platform_check() {
  step "the platform at $URL (data directory $DATA, files in $WORK)"
  curl -sSf --max-time 10 "$URL/healthz" >/dev/null || fail "nothing answers at $URL/healthz: start it with: affix serve"
  [ -r "$DATA/operator.token" ] || fail "no $DATA/operator.token: pass the data directory affix serve printed"
  OPERATOR="$(tr -d '[:space:]' <"$DATA/operator.token")"
  say "operator token from $DATA/operator.token: $(short "$OPERATOR")"
}

# The handwritten signature: a 16×6 grayscale PNG of a wavy stroke (made once with
# Python's zlib; any PNG up to the platform's size limit will do).
signature_png() {
  printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAGCAAAAADvF0E7AAAAI0lEQVR42mP4jwYYgIgBymSACDCARf/DaAZkDpxG1saAbigA4VdPsdsk5S8AAAAASUVORK5CYII=' |
    base64 -d >"$WORK/signature.png"
}

# received_invite EMAIL CONTRACT_ID: the invite token e-mailed to EMAIL for the contract.
# The sender's `send` answer holds no link (a sender holding a party's link could act as
# the party); each party receives its own, here read from the file outbox.
received_invite() {
  local email=$1 contract=$2 token
  [ -r "$OUTBOX" ] || fail "no e-mail outbox at $OUTBOX (is SMTP configured?)"
  token=$(jq -rs --arg to "$email" --arg c "(contract $contract)" \
    '[.[] | select(.to == $to and .event_type == "contract.invite" and (.body | contains($c))) | .body
      | capture("/sign#(?<t>afi_[0-9a-f]+)").t] | last // empty' "$OUTBOX")
  [ -n "$token" ] || fail "no invite for $contract e-mailed to $email in $OUTBOX"
  printf '%s' "$token"
}

# sign_party NAME EMAIL INVITE_TOKEN FILE PERSON_ID: one party's whole ceremony, from the
# invite to the signature; prints the contract's status afterwards in $SIGNED_STATUS.
sign_party() {
  local name=$1 email=$2 token=$3 file=$4 person=$5
  [ -r "$WORK/signature.png" ] || signature_png

  # The signer's device: an Ed25519 key that authorizes each use of the signer's
  # vault key. In production it lives in the signer's app; here, in a file, made once.
  local device="$WORK/$file.device" device_public
  if [ -r "$device.pub" ]; then
    device_public=$(cat "$device.pub")
    say "device key $device (public $device_public), enrolled before"
  else
    device_public=$("$AFFIX_BIN" device keygen --out "$device")
    printf '%s\n' "$device_public" >"$device.pub"
    say "device key $device (public $device_public)"
  fi

  local invite digest shown
  invite=$(api GET /v1/invite "$token")
  digest=$(jq -r .contract.content_digest <<<"$invite")
  # What is being signed: the document's SHA-256 is a field of the content.
  if [ "$(jq -r '.document // empty' <<<"$invite")" != "" ]; then
    shown=$(jq -r .document <<<"$invite" | base64 -d | sha256sum | cut -d' ' -f1)
    [ "$shown" = "$(jq -r .contract.fields.document_sha256 <<<"$invite")" ] ||
      fail "the document shown is not the one in the contract"
    say "invite: \"$(jq -r .contract.title <<<"$invite")\", document SHA-256 $shown"
  else
    say "invite: \"$(jq -r .contract.title <<<"$invite")\""
  fi

  api POST /v1/invite/identity/email "$token" '{}' >/dev/null
  [ -r "$OUTBOX" ] || fail "no e-mail outbox at $OUTBOX (is SMTP configured?)"
  # One JSON object a line; the last identity.code message to this address holds the code.
  local code
  code=$(jq -rs --arg to "$email" \
    '[.[] | select(.to == $to and .event_type == "identity.code") | .body
      | capture("\\b(?<code>[0-9]{6})\\b").code] | last // empty' "$OUTBOX")
  [ -n "$code" ] || fail "no one-time code for $email in $OUTBOX"
  say "one-time code e-mailed to $email (read from the outbox): $code"

  local body verified
  # The signer's own name goes into the signer's certificate (first check only).
  body=$(jq -n --arg code "$code" --arg key "$device_public" --arg name "$name" \
    '{code: $code, device_public_key: $key, signer_name: $name}')
  verified=$(api POST /v1/invite/identity/email/verify "$token" "$body")
  say "identity verified; the device is enrolled (party: $(jq -r --arg p "$person" '.parties[] | select(.person_id == $p) | .status' <<<"$verified"))"

  body=$(jq -n --arg d "$digest" '{content_digest: $d}')
  api POST /v1/invite/view "$token" "$body" >/dev/null
  api POST /v1/invite/consent "$token" "$body" >/dev/null
  say "viewed and consented to content $digest"

  local status
  status=$(curl -sS --max-time 120 -o "$WORK/answer" -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $token" -H 'Content-Type: image/png' \
    --data-binary "@$WORK/signature.png" "$URL/v1/invite/signature-image")
  [ "$status" = 200 ] || fail "PUT /v1/invite/signature-image answered $status: $(cat "$WORK/answer")"
  say "signature image uploaded (SHA-256 $(jq -r .sha256 "$WORK/answer"))"

  local prepared device_signature signed
  prepared=$(api POST /v1/invite/sign/prepare "$token" '{}')
  say "prepared: the vault will sign CMS signed attributes with digest $(jq -r .payload_digest <<<"$prepared")"
  # The device shows what it approves (stderr) and checks that the signed attributes
  # (content, document, image, time, certificate) are what the statement authorizes.
  device_signature=$("$AFFIX_BIN" device sign --key "$device" \
    --attributes "$(jq -r .signed_attributes <<<"$prepared")" \
    "$(jq -r .statement <<<"$prepared")" 2>"$WORK/device.txt") ||
    fail "the device refused to sign: $(cat "$WORK/device.txt")"
  say "the device approved: $(grep -E '^  (document|image) ' "$WORK/device.txt" | tr -s ' ' | paste -sd ';')"
  body=$(jq -n --arg s "$device_signature" '{device_signature: $s}')
  signed=$(api POST /v1/invite/sign "$token" "$body")
  SIGNED_STATUS=$(jq -r .status <<<"$signed")
  say "signed: $name is $(jq -r --arg p "$person" '.parties[] | select(.person_id == $p) | .status' <<<"$signed"), the contract is $SIGNED_STATUS"
}

# The trust anchors, fetched from the platform's published endpoints (not from a
# bundle): $WORK/verifier-keys and $WORK/root.pem.
trust_anchors() {
  api GET /v1/ledger/verifier-keys "$1" >"$WORK/verifier-keys"
  # -j: the PEM exactly as served (jq -r would add a blank line after it).
  curl -sSf --max-time 60 "$URL/v1/ca" | jq -j .root >"$WORK/root.pem"
  say "$WORK/verifier-keys (the ledger's keys) and $WORK/root.pem (the CA root)"
}
