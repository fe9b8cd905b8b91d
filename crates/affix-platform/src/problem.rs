//! The vocabulary of the platform's refusals: one [`ProblemType`] per kind of problem a
//! caller can meet, each with the stable name that `affix-server` puts into an RFC 9457
//! problem (`type` = `https://affix.dev/problems/<name>`) beside the HTTP status it
//! chooses. Names are part of the public API: never rename one, add a new one.

macro_rules! problem_types {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// A kind of problem, named once for the whole API (platform and vault).
        ///
        /// Not `#[non_exhaustive]` on purpose: the server's status table matches every
        /// variant, so a new problem type cannot ship without its status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProblemType {
            $( $(#[$doc])* $variant, )*
        }

        impl ProblemType {
            /// Every problem type.
            pub const ALL: &'static [ProblemType] = &[$( ProblemType::$variant, )*];

            /// The stable name (`not-your-turn`): the last segment of the problem's
            /// `type` URI.
            pub fn name(self) -> &'static str {
                match self {
                    $( ProblemType::$variant => $name, )*
                }
            }
        }
    };
}

problem_types! {
    // ----- who is calling
    /// No credentials, or credentials that match nothing.
    Unauthenticated = "unauthenticated",
    /// The caller's kind or role may not do this.
    Forbidden = "forbidden",
    /// The caller is a party but not the one this step needs.
    NotAllowedForParty = "not-allowed-for-party",
    /// The identity checked is not the party's.
    IdentityMismatch = "identity-mismatch",
    /// Too many requests.
    RateLimited = "rate-limited",
    /// The invite link was replaced, or its party signed or declined, or the contract
    /// is final.
    InviteSpent = "invite-spent",

    // ----- malformed requests
    /// The body is not the JSON the endpoint takes.
    InvalidJson = "invalid-json",
    /// The query string does not parse.
    InvalidQuery = "invalid-query",
    /// Bytes or ids that do not parse (vault ids, hex, base64 inside a valid JSON body).
    InvalidInput = "invalid-input",
    /// The `Idempotency-Key` header is not 1 to 255 visible ASCII characters.
    InvalidIdempotencyKey = "invalid-idempotency-key",
    /// A body of the wrong media type.
    WrongContentType = "wrong-content-type",
    /// A body or field over its limit.
    TooLarge = "too-large",
    /// An uploaded PDF that cannot be signed or read: malformed, encrypted, certified
    /// against changes (DocMDP P=1), or with no pages or too many.
    InvalidPdf = "invalid-pdf",

    // ----- well-formed but refused values
    /// A contract template refused its fields (each listed).
    InvalidFields = "invalid-fields",
    /// A name empty, too long or with control characters.
    InvalidName = "invalid-name",
    /// An unknown API key role.
    InvalidRole = "invalid-role",
    /// A resident ID number that fails GB 11643.
    InvalidResidentId = "invalid-resident-id",
    /// A mobile number that is not a mainland one.
    InvalidMobile = "invalid-mobile",
    /// An e-mail address that does not parse.
    InvalidEmail = "invalid-email",
    /// Another identity value that does not parse.
    InvalidIdentity = "invalid-identity",
    /// An unknown signing order.
    InvalidSigningOrder = "invalid-signing-order",
    /// A contract lifetime out of range.
    InvalidExpiry = "invalid-expiry",
    /// A listing cursor we did not issue.
    InvalidCursor = "invalid-cursor",
    /// An unknown contract status in a filter.
    InvalidStatus = "invalid-status",
    /// A page size out of range.
    InvalidLimit = "invalid-limit",
    /// A date that is not `YYYY-MM-DD`.
    InvalidDate = "invalid-date",
    /// An amount that is not a positive yuan amount.
    InvalidAmount = "invalid-amount",
    /// An interest rate that does not parse.
    InvalidRate = "invalid-rate",
    /// An unknown repayment method.
    InvalidRepaymentMethod = "invalid-repayment-method",
    /// A digest that is not 64 hex digits.
    InvalidDigest = "invalid-digest",
    /// An image that is not an acceptable PNG.
    InvalidImage = "invalid-image",
    /// A device public key that is not 32 bytes of Ed25519.
    InvalidDeviceKey = "invalid-device-key",
    /// A signature that does not decode.
    InvalidSignature = "invalid-signature",
    /// A unified social credit code that fails GB 32100.
    InvalidCreditCode = "invalid-credit-code",
    /// A webhook URL we do not deliver to.
    InvalidWebhookUrl = "invalid-webhook-url",
    /// An unknown contract template.
    UnknownTemplate = "unknown-template",
    /// Fewer parties than the template needs.
    TooFewParties = "too-few-parties",
    /// The same person twice in one contract.
    DuplicateParty = "duplicate-party",
    /// A template that needs a document got none.
    MissingDocument = "missing-document",
    /// A document given to a template that takes none.
    UnexpectedDocument = "unexpected-document",
    /// Automation rules given to a template that takes none.
    UnexpectedRules = "unexpected-rules",
    /// The first identity check of a party needs a device public key.
    MissingDeviceKey = "missing-device-key",
    /// A first identity check without the name the signer's certificate will carry.
    MissingSignerName = "missing-signer-name",
    /// A one-time code that does not match.
    WrongCode = "wrong-code",
    /// The loan's rate is above the legal cap.
    RateAboveLegalCap = "rate-above-legal-cap",
    /// A repayment larger than what is owed.
    Overpayment = "overpayment",
    /// An extension the loan's state does not allow.
    ExtensionRefused = "extension-refused",
    /// Another refusal of the contract core.
    ContractRefused = "contract-refused",
    /// The same `Idempotency-Key` was used for another request.
    IdempotencyKeyReused = "idempotency-key-reused",
    /// The operation does not apply to this key's algorithm or payload.
    Unsupported = "unsupported",

    // ----- not found
    /// No such object in the caller's tenant (other tenants' objects look the same).
    NotFound = "not-found",
    /// No such vault key in the tenant.
    KeyNotFound = "key-not-found",
    /// No such vault credential for the owner.
    CredentialNotFound = "credential-not-found",
    /// No such grant for the key.
    GrantNotFound = "grant-not-found",
    /// No such recovery for the owner.
    RecoveryNotFound = "recovery-not-found",

    // ----- conflicts with the current state
    /// Not this party's turn in a sequential contract.
    NotYourTurn = "not-your-turn",
    /// The party already signed.
    AlreadySigned = "already-signed",
    /// The party is not at the step this needs.
    WrongStep = "wrong-step",
    /// The contract is not open for this step.
    ContractNotOpen = "contract-not-open",
    /// The contract is final (effective, declined, revoked or expired).
    ContractFinal = "contract-final",
    /// The content digest given is not the contract's.
    WrongContentDigest = "wrong-content-digest",
    /// A concurrent change won; retry.
    ConcurrentChange = "concurrent-change",
    /// No one-time code was sent, or it was used.
    NoCode = "no-code",
    /// The one-time code was already used.
    CodeUsed = "code-used",
    /// The party has no enrolled device.
    NotEnrolled = "not-enrolled",
    /// The device is not the one the party enrolled.
    DeviceMismatch = "device-mismatch",
    /// The party's signer account has no passkey (a signing URL needs one).
    NoPasskey = "no-passkey",
    /// Sign after preparing the signature.
    NotPrepared = "not-prepared",
    /// Sign after uploading the handwritten signature image.
    NoSignatureImage = "no-signature-image",
    /// Only the holder of the organization's seal signs with it.
    NotSealHolder = "not-seal-holder",
    /// The seal holder is set once the seal exists.
    SealHolderSet = "seal-holder-set",
    /// The repayment was already confirmed or disputed.
    RepaymentDecided = "repayment-decided",
    /// The loan is settled.
    LoanSettled = "loan-settled",
    /// Repayments wait for the lender's answer.
    RepaymentsPending = "repayments-pending",
    /// Interest is in arrears.
    InterestInArrears = "interest-in-arrears",
    /// An acknowledgement of this repayment was already requested.
    AcknowledgementRequested = "receipt-requested",
    /// The tenant has as many webhooks as allowed.
    TooManyWebhooks = "too-many-webhooks",
    /// A request with this `Idempotency-Key` is still running.
    IdempotencyKeyInFlight = "idempotency-key-in-flight",
    /// The request with this `Idempotency-Key` finished, but its answer held a secret
    /// (an API key, invite tokens, a webhook secret) and was not kept for replay.
    ReplayUnavailable = "replay-unavailable",
    /// The vault key is disabled.
    KeyDisabled = "key-disabled",
    /// A write-once vault object exists already.
    AlreadyExists = "already-exists",
    /// The recovery policy refused the step.
    RecoveryRefused = "recovery-refused",
    /// The CA directory holds a CA already (`affix ca init` never overwrites one).
    CaExists = "ca-exists",
    /// The TSA directory holds a TSA already (`affix tsa init` never overwrites one).
    TsaExists = "tsa-exists",
    /// The certificate is revoked already.
    AlreadyRevoked = "already-revoked",
    /// The vault refused the owner's authorization.
    AuthorizationRefused = "authorization-refused",

    // ----- expired
    /// The invite link, code or prepared signature expired.
    Expired = "expired",
    /// The contract expired unsigned.
    ContractExpired = "contract-expired",
    /// The one-time code expired.
    CodeExpired = "code-expired",
    /// The one-time code's attempts are used up.
    CodeAttemptsExhausted = "code-attempts-exhausted",
    /// The party's identity check is locked (too many codes requested in an hour, or
    /// too many wrong codes in a day) until the sender re-invites the party.
    IdentityLocked = "identity-locked",

    // ----- ours or our dependencies'
    /// Too many requests in flight, or a queue is full; retry shortly.
    Busy = "busy",
    /// Some events have no ledger receipt yet; retry shortly.
    ReceiptsPending = "receipts-pending",
    /// The ledger cannot be reached.
    LedgerUnavailable = "ledger-unavailable",
    /// The operator's LPR table does not cover the day: the rate cap cannot be checked.
    LprTableOutdated = "lpr-table-outdated",
    /// A notification could not be handed over.
    NotificationFailed = "notification-failed",
    /// A fault of ours; the server log says more.
    Internal = "internal",
}

#[cfg(test)]
mod tests {
    use super::ProblemType;

    #[test]
    fn names_are_unique_and_url_safe() {
        let mut seen = std::collections::BTreeSet::new();
        for p in ProblemType::ALL {
            let name = p.name();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
        }
    }
}
