#!/usr/bin/env bash
# An e-IOU (借条) from creation to a litigation bundle verified offline, against a running
# `affix serve`, with nothing but curl, jq, openssl and the affix binary: a loan note
# between 张三 (lender) and 李四 (borrower), signed by both; a repayment reported with a
# transfer receipt image; the lender's own signed receipt (收条), which confirms it; the
# litigation bundle checked by `affix verify-bundle`, and the receipt's signature by
# openssl.
#
#   examples/iou.sh [URL] [DATA_DIR] [WORK_DIR]      (as examples/sign-contract.sh)
#
# Loan notes need a current LPR table (the legal rate cap is four times the one-year LPR
# in force): start the platform with one, e.g.
#   printf '2025-05-20 3.00\nthrough 2027-12-31\n' > lpr.txt    # the published rates
#   AFFIX_LPR_TABLE=lpr.txt affix serve
# Exits non-zero at the first failure, printing the server's answer.
set -euo pipefail

URL="${1:-${AFFIX_URL:-http://127.0.0.1:8080}}"
URL="${URL%/}"
DATA="${2:-${AFFIX_DATA_DIR:-./affix-data}}"
WORK="${3:-${AFFIX_WORK_DIR:-}}"

# shellcheck source=examples/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
platform_check

step "1. a tenant and two persons: 张三 lends, 李四 borrows"
tenant=$(api POST /v1/tenants "$OPERATOR" '{"name": "Example IOU app"}')
ADMIN=$(jq -r .admin_api_key <<<"$tenant")
NAMES=("张三" "李四")
EMAILS=("zhangsan@example.com" "lisi@example.com")
FILES=("zhangsan" "lisi")
PERSONS=()
for n in 0 1; do
  body=$(jq -n --arg name "${NAMES[$n]}" --arg email "${EMAILS[$n]}" '{name: $name, email: $email}')
  PERSONS+=("$(api POST /v1/persons "$ADMIN" "$body" | jq -r .id)")
  say "${NAMES[$n]} <${EMAILS[$n]}>: person ${PERSONS[$n]}"
done

step "2. the loan note: CNY 3,000.00 at 12 % a year, 3 months, equal principal, from today"
today=$(TZ=Asia/Shanghai date +%F)
body=$(jq -n --arg a "${PERSONS[0]}" --arg b "${PERSONS[1]}" --arg today "$today" \
  '{template: "loan_note", parties: [$a, $b],
    fields: {lender: "张三", borrower: "李四", principal: "CNY 3000.00",
             annual_rate_percent: "12.00", start_date: $today, term_months: "3",
             repayment_method: "equal_principal", purpose: "tuition"}}')
status=$(curl -sS --max-time 60 -o "$WORK/answer" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data-binary "$body" "$URL/v1/contracts")
if [ "$status" = 503 ] && grep -q lpr-table-outdated "$WORK/answer"; then
  fail "the platform has no current LPR table: start it with AFFIX_LPR_TABLE=<file> (see the top of this script)"
fi
[ "$status" = 201 ] || fail "POST /v1/contracts answered $status: $(cat "$WORK/answer")"
ID=$(jq -r .id "$WORK/answer")
say "loan note $ID; the schedule and the reminder rules are signed with it (loan_terms_sha256 $(jq -r .fields.loan_terms_sha256 "$WORK/answer"))"

step "3. both sign"
sent=$(api POST "/v1/contracts/$ID/send" "$ADMIN" '{}')
for n in 0 1; do
  token=$(received_invite "${EMAILS[$n]}" "$ID")
  step "3.$((n + 1)) ${NAMES[$n]} signs"
  sign_party "${NAMES[$n]}" "${EMAILS[$n]}" "$token" "${FILES[$n]}" "${PERSONS[$n]}"
done
[ "$SIGNED_STATUS" = effective ] || fail "the loan note is $SIGNED_STATUS, not effective"
loan=$(api GET "/v1/loans/$ID" "$ADMIN")
say "the loan is $(jq -r .status <<<"$loan"), CNY $(jq -r .outstanding <<<"$loan") owed:"
jq -r '.instalments[] | "      instalment \(.number) due \(.due_date): CNY \(.unpaid)"' <<<"$loan"

step "4. 李四 reports the first instalment paid, with the transfer receipt's image"
amount=$(jq -r '.instalments[0].unpaid' <<<"$loan")
body=$(jq -n --arg amount "$amount" --arg today "$today" --arg proof "$(base64 -w0 "$WORK/signature.png")" \
  '{amount: $amount, paid_on: $today, proof: $proof}')
loan=$(api POST "/v1/loans/$ID/repayments" "$ADMIN" "$body")
say "repayment 1: CNY $amount, $(jq -r '.repayments[0].status' <<<"$loan") (pending CNY $(jq -r .pending <<<"$loan"))"

step "5. 张三 signs a receipt (收条) for it: that confirms the repayment"
receipt=$(api POST "/v1/loans/$ID/repayments/1/receipt" "$ADMIN" '{}')
RECEIPT=$(jq -r .id <<<"$receipt")
say "receipt contract $RECEIPT: \"$(jq -r .title <<<"$receipt")\""
sent=$(api POST "/v1/contracts/$RECEIPT/send" "$ADMIN" '{}')
token=$(received_invite "${EMAILS[0]}" "$RECEIPT")
sign_party "${NAMES[0]}" "${EMAILS[0]}" "$token" "${FILES[0]}" "${PERSONS[0]}"
for _ in $(seq 1 60); do
  loan=$(api GET "/v1/loans/$ID" "$ADMIN")
  [ "$(jq -r '.repayments[0].status' <<<"$loan")" = confirmed ] && break
  sleep 0.5
done
[ "$(jq -r '.repayments[0].status' <<<"$loan")" = confirmed ] || fail "the repayment was not confirmed"
say "repayment 1 confirmed; CNY $(jq -r .outstanding <<<"$loan") still owed"

step "6. the trust anchors, fetched from the platform's published endpoints"
trust_anchors "$ADMIN"

step "7. the litigation bundle: the note's bundle, the signed rules, every loan event and reminder, the signed receipt"
api GET "/v1/loans/$ID/bundle?wait=30" "$ADMIN" >"$WORK/loan.json"
say "$WORK/loan.json: $(jq -r .format "$WORK/loan.json"), $(jq '.events | length' "$WORK/loan.json") loan events, $(jq '.documents | length' "$WORK/loan.json") signed document"

step "8. offline: affix verify-bundle"
"$AFFIX_BIN" verify-bundle "$WORK/loan.json" --keys "$WORK/verifier-keys" --ca "$WORK/root.pem"

step "9. offline, with a tool we did not write: openssl checks 张三's signature on the receipt"
jq -r '.documents[0].bundle.content' "$WORK/loan.json" | base64 -d >"$WORK/receipt-content.bin"
jq -r '.documents[0].bundle.signatures[0].cms' "$WORK/loan.json" | base64 -d >"$WORK/receipt.p7s"
openssl cms -verify -binary -inform DER -in "$WORK/receipt.p7s" -content "$WORK/receipt-content.bin" \
  -CAfile "$WORK/root.pem" -purpose any -signer "$WORK/receipt-signer.pem" -out /dev/null
say "signer: $(openssl x509 -in "$WORK/receipt-signer.pem" -noout -subject -nameopt RFC2253,-esc_msb)"
say "the receipt text it covers (by its SHA-256 in the signed content):"
jq -r '.documents[0].bundle.document.bytes' "$WORK/loan.json" | base64 -d | sed 's/^/      /'

step "done: loan $ID, signed, repaid in part, receipted, and its evidence verified offline (files in $WORK)"
