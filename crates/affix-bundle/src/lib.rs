//! The evidence bundle, formats v1 and v2: everything needed to prove, without Affix,
//! what happened to one contract. A JSON document:
//!
//! ```json
//! {
//!   "format": "affix-evidence-bundle/v1",
//!   "contract_id": "…",
//!   "content": "<base64 AFCT v1 canonical content>",
//!   "document": {"name": "…", "sha256": "…", "bytes": "<base64>"},   // generic contracts
//!   "events": [{"event": "<base64 AFEV v1>", "record": "<base64 evidence record v1>",
//!               "receipt": "<C2SP tlog-proof text>"}],
//!   "signatures": [{"party": "…", "cms": "<base64 DER>", "certificate": "<base64 DER>",
//!                   "timestamp_token": "<base64 DER>", "image_png": "<base64>",
//!                   "approval": {                                  // v2 only
//!                     "credential_kind": "ed25519 | ecdsa-p256 | browser-p256 |
//!                                         passkey-es256 | passkey-ed25519",
//!                     "credential_public_key": "<base64: raw Ed25519, SEC1 P-256, COSE_Key>",
//!                     "authorization": "<base64 affix_vault Authorization::encode>",
//!                     "rp_id": "…", "origin": "…"}}],              // passkeys
//!   "certificates": {"root": "<PEM>", "issuing": "<PEM>"},
//!   "ledger": {"verifier_keys": "<verifier-keys file text>"}
//! }
//! ```
//!
//! [`verify`] checks, with trust anchors that come from outside the bundle (the
//! consortium's verifier keys, the CA root):
//! 1. every event's evidence record is exactly the record the event yields, and every
//!    receipt proves that record in the ledger under a quorum of the authorities;
//! 2. the event chain replays through the contract state machine from the content to
//!    the last event, whose hash the last receipt anchors;
//! 3. every signed event's digests match the bundled CMS signature, certificate,
//!    time-stamp token and signature image, and every CMS signature verifies over the
//!    canonical content to the CA root, with its time-stamp token checked by the TSA
//!    code against the same root; where a signature carries Affix's signed attributes,
//!    the signature image digest it binds is the bundled image's and the document
//!    digest the one the content names;
//! 4. the document's SHA-256 is the one the content names;
//! 5. (v2) every signature's approval: the vault authorization is a `sign` statement
//!    over exactly the SHA-256 of the CMS signed attributes the signature value covers,
//!    and its proof verifies under the bundled credential public key — a device or
//!    browser-held key's signature over the statement, or a passkey's WebAuthn assertion
//!    (RP id hash, origin, type, challenge = SHA-256 of the statement, user presence and
//!    verification, the signature over `authenticatorData ‖ SHA-256(clientDataJSON)`).
//!    That the credential is the signer's own is what the vault's registration record
//!    in the ledger (`vault.credential.registered`, by public-key digest) and the
//!    certificate policy (credential kind) say.
//!
//! v1 is v2 without approvals (signatures made before the platform kept them).
//!
//! The same files check with standard tools: `openssl cms -verify` for each signature
//! (content = the decoded `content`), `openssl ts -verify` for each token, Go's sumdb
//! `tlog`/`note` for each receipt.
//!
//! Pure: no I/O and no clock; the platform builds bundles, and `affix verify-bundle`
//! (or any program linking this crate) checks them, without the platform.

use std::time::SystemTime;

use affix_contract::{ContractContent, ContractEvent, EventKind, verify_chain};
use affix_note::{Receipt, TrustPolicy};
use base64::Engine as _;
use der::Decode as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;

mod error;

pub use error::{Entry, Error, SignatureFault, SignaturePart, TimestampFault};

/// The format name of v1.
pub const FORMAT_V1: &str = "affix-evidence-bundle/v1";

/// The format name of v2: v1 with every signature's approval.
pub const FORMAT_V2: &str = "affix-evidence-bundle/v2";

/// Largest bundle [`verify`] reads.
pub const BUNDLE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A bundle (v1 or v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT_V1`] or [`FORMAT_V2`].
    pub format: String,
    /// The contract id.
    pub contract_id: String,
    /// Canonical content, base64.
    pub content: String,
    /// The uploaded document, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<BundleDocument>,
    /// Events in order.
    pub events: Vec<BundleEvent>,
    /// Signatures.
    pub signatures: Vec<BundleSignature>,
    /// The CA certificates.
    pub certificates: BundleCertificates,
    /// The ledger's verifier keys (for convenience; verify against your own copy).
    pub ledger: BundleLedger,
}

/// The document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleDocument {
    /// File name.
    pub name: Option<String>,
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes, base64.
    pub bytes: String,
}

/// One event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// AFEV v1 bytes, base64.
    pub event: String,
    /// Evidence record v1 bytes, base64.
    pub record: String,
    /// The tlog-proof receipt.
    pub receipt: Option<String>,
}

/// One signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSignature {
    /// Party id.
    pub party: String,
    /// CMS SignedData DER, base64.
    pub cms: String,
    /// Signer certificate DER, base64.
    pub certificate: String,
    /// RFC 3161 token DER, base64.
    pub timestamp_token: String,
    /// Handwritten signature image, base64 PNG.
    pub image_png: String,
    /// What the signer's credential approved (v2; absent in v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<BundleApproval>,
}

/// What the signer's credential approved: the vault authorization the signature was
/// made under, and the credential that proved it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleApproval {
    /// The credential kind, as the vault names it (`ed25519` for device keys,
    /// `browser-p256`, `passkey-es256`, `passkey-ed25519`, …).
    pub credential_kind: String,
    /// The credential's public key, base64: raw Ed25519 (32 bytes), SEC1 P-256, or the
    /// passkey's COSE_Key.
    pub credential_public_key: String,
    /// `affix_vault::Authorization::encode`, base64: the statement and its proof (for
    /// passkeys the raw WebAuthn assertion: authenticator data, client data JSON,
    /// signature).
    pub authorization: String,
    /// Passkeys: the WebAuthn relying party id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Passkeys: the origin the platform accepted the ceremony from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// CA certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleCertificates {
    /// Root CA, PEM.
    pub root: String,
    /// Issuing CA, PEM.
    pub issuing: String,
}

/// Ledger facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleLedger {
    /// The verifier-keys file text.
    pub verifier_keys: String,
}

/// What [`verify`] established.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// Contract id.
    pub contract_id: String,
    /// Final status of the replayed chain.
    pub status: affix_contract::ContractStatus,
    /// Number of events, each proven in the ledger.
    pub events: usize,
    /// Ledger index of each event's record.
    pub leaf_indices: Vec<u64>,
    /// Signer subjects and time-stamp times of each verified signature.
    pub signatures: Vec<(String, SystemTime)>,
    /// The credential kind whose approval was re-checked, per signature (none in v1).
    pub approvals: Vec<Option<String>>,
}

/// A [`Error::Malformed`] without a decoder's error.
fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed {
        what: what.into(),
        source: None,
    }
}

/// A [`Error::Malformed`] keeping the decoder's error.
fn malformed_by(
    what: impl Into<String>,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> Error {
    let what = what.into();
    move |source| Error::Malformed {
        what,
        source: Some(source),
    }
}

fn unb64(what: impl std::fmt::Display, text: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| malformed_by(format!("{what} is not base64"))(e.into()))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Verifies a bundle against the ledger's trust policy and the CA root (both from
/// outside the bundle). Certificates are validated at the time of each signature's
/// time-stamp: a certificate valid when time-stamped stays valid evidence after it
/// expires.
///
/// # Errors
/// The first fault found, as a typed [`Error`]: malformed input, a record or receipt
/// that does not prove its event ([`Error::RecordMismatch`], [`Error::ReceiptInvalid`]),
/// a broken chain ([`Error::ChainBroken`]), a signature or time-stamp that does not hold
/// ([`Error::SignatureInvalid`], [`Error::TimestampInvalid`]), a document that is not
/// the signed one ([`Error::DocumentDigestMismatch`]).
pub fn verify(
    bytes: &[u8],
    ledger: &TrustPolicy,
    ca_roots: &[Certificate],
) -> Result<VerifiedBundle, Error> {
    if bytes.len() > BUNDLE_BYTES_MAX {
        return Err(Error::TooLarge {
            bundle_bytes: bytes.len(),
        });
    }
    let bundle: Bundle = serde_json::from_slice(bytes)
        .map_err(|e| malformed_by("not an evidence bundle v1")(e.into()))?;
    let approvals_required = match bundle.format.as_str() {
        FORMAT_V1 => false,
        FORMAT_V2 => true,
        _ => {
            return Err(Error::UnknownFormat {
                found: bundle.format,
            });
        }
    };
    let content_bytes = unb64("content", &bundle.content)?;
    let content =
        ContractContent::decode(&content_bytes).map_err(|e| malformed_by("content")(e.into()))?;
    if content.contract_id().to_string() != bundle.contract_id {
        return Err(Error::ContractIdMismatch {
            bundled: bundle.contract_id,
            content: content.contract_id().to_string(),
        });
    }
    // 1. Records and receipts.
    let mut events = Vec::with_capacity(bundle.events.len());
    let mut leaf_indices = Vec::with_capacity(bundle.events.len());
    for (n, e) in bundle.events.iter().enumerate() {
        let entry = Entry::Event(n);
        let event_bytes = unb64(entry, &e.event)?;
        let event = ContractEvent::decode(&event_bytes)
            .map_err(|err| malformed_by(entry.to_string())(err.into()))?;
        let record = unb64(format_args!("the record of {entry}"), &e.record)?;
        check_record(entry, &record, |parsed| {
            event
                .to_evidence(parsed.submitter())
                .map(|r| r.encode())
                .map_err(|err| malformed_by(format!("{entry} (its evidence record)"))(err.into()))
        })?;
        let verified = verify_receipt(entry, &record, e.receipt.as_deref(), ledger)?;
        leaf_indices.push(verified.index().0);
        events.push(event);
    }
    // 2. The chain, anchored by the last receipt.
    let last = events.last().ok_or(Error::NoEvents)?;
    let chain = verify_chain(&content, &events, &last.hash())
        .map_err(|source| Error::ChainBroken { source })?;
    // 3. Signatures.
    let mut signatures = Vec::new();
    let mut approvals = Vec::new();
    for event in &events {
        let EventKind::Signed(evidence) = event.kind() else {
            continue;
        };
        let party = event
            .actor()
            .ok_or_else(|| malformed("a signed event without a party"))?
            .party;
        let signature_invalid = |fault| Error::SignatureInvalid { party, fault };
        let timestamp_invalid = |fault| Error::TimestampInvalid { party, fault };
        let sig = bundle
            .signatures
            .iter()
            .find(|s| s.party == party.to_string())
            .ok_or_else(|| signature_invalid(SignatureFault::Missing))?;
        let cms = unb64(format_args!("the CMS signature of party {party}"), &sig.cms)?;
        let cert = unb64(
            format_args!("the certificate of party {party}"),
            &sig.certificate,
        )?;
        let token = unb64(
            format_args!("the time-stamp token of party {party}"),
            &sig.timestamp_token,
        )?;
        let image = unb64(
            format_args!("the signature image of party {party}"),
            &sig.image_png,
        )?;
        let recorded = |digest: &affix_contract::Sha256Digest, bytes: &[u8]| {
            digest.as_bytes() == &sha256(bytes)
        };
        for (digest, bytes, part) in [
            (&evidence.cms_signature, &cms, SignaturePart::Cms),
            (
                &evidence.signer_certificate,
                &cert,
                SignaturePart::Certificate,
            ),
            (&evidence.signature_image, &image, SignaturePart::Image),
        ] {
            if !recorded(digest, bytes) {
                return Err(signature_invalid(SignatureFault::NotRecorded(part)));
            }
        }
        if !recorded(&evidence.timestamp_token, &token) {
            return Err(timestamp_invalid(TimestampFault::NotRecorded));
        }
        let parsed = affix_cms::DetachedSignature::from_der(&cms)
            .map_err(|e| signature_invalid(SignatureFault::Cms(e)))?;
        let embedded = parsed
            .embedded_timestamp()
            .map_err(|e| timestamp_invalid(TimestampFault::Cms(e)))?
            .ok_or_else(|| timestamp_invalid(TimestampFault::Missing))?;
        if embedded.token_der() != token.as_slice() {
            return Err(timestamp_invalid(TimestampFault::NotEmbedded));
        }
        let at = affix_tsp::TimeStampToken::from_der(embedded.token_der())
            .map_err(|e| timestamp_invalid(TimestampFault::Token(e)))?
            .tst_info()
            .gen_time
            .to_system_time();
        // The certificate path first (at the time-stamp's time): it establishes the CA
        // certificates between the signer and the root, which then vouch for the TSA.
        let path = parsed
            .verify(&content_bytes, ca_roots, at)
            .map_err(|e| signature_invalid(SignatureFault::Cms(e)))?;
        let mut cas: Vec<Certificate> = path.chain().to_vec();
        cas.extend_from_slice(ca_roots);
        // The signature itself verified just above, at the same time: what fails here is
        // the time-stamp (its TSA path, its imprint, its time).
        let verified = parsed
            .verify_timestamped(
                &content_bytes,
                ca_roots,
                &affix_tsp::TsaTrust::IssuedBy(&cas),
            )
            .map_err(|e| timestamp_invalid(TimestampFault::Cms(e)))?;
        let signer = Certificate::from_der(&cert)
            .map_err(|e| signature_invalid(SignatureFault::Certificate(e)))?;
        if verified.signer_certificate() != &signer {
            return Err(signature_invalid(SignatureFault::OtherCertificate));
        }
        // What the signer's credential approved (Affix signed attributes, when the
        // signature has them): the image recorded in the event, the document the
        // content names.
        let shown = verified.affix_attributes();
        if shown
            .signature_image_digest()
            .is_some_and(|signed| signed != &sha256(&image))
        {
            return Err(signature_invalid(SignatureFault::NotSigned(
                SignaturePart::Image,
            )));
        }
        if let Some(signed) = shown.document_digest() {
            let named = content.fields().get("document_sha256");
            if named.is_none_or(|named| *named != hex::encode(signed)) {
                return Err(signature_invalid(SignatureFault::NotSigned(
                    SignaturePart::Document,
                )));
            }
        }
        // 5. What the signer's credential approved.
        approvals.push(match (&sig.approval, approvals_required) {
            (Some(approval), true) => Some(
                check_approval(approval, verified.signed_attributes_der())
                    .map_err(signature_invalid)?,
            ),
            (None, true) => return Err(signature_invalid(SignatureFault::ApprovalMissing)),
            (Some(_), false) => {
                return Err(malformed("a v1 bundle carries no approvals"));
            }
            (None, false) => None,
        });
        signatures.push((verified.signer_subject().to_owned(), at));
    }
    // 4. The document.
    if let Some(doc) = &bundle.document {
        let bytes = unb64("document", &doc.bytes)?;
        let named = content
            .fields()
            .get("document_sha256")
            .ok_or(Error::DocumentNotNamed)?;
        if hex::encode(sha256(&bytes)) != *named {
            return Err(Error::DocumentDigestMismatch);
        }
    }
    Ok(VerifiedBundle {
        contract_id: bundle.contract_id,
        status: chain.status(),
        events: events.len(),
        leaf_indices,
        signatures,
        approvals,
    })
}

/// Re-checks a signature's approval against the signed attributes its signature value
/// covers; returns the credential kind.
fn check_approval(
    approval: &BundleApproval,
    signed_attributes_der: &[u8],
) -> Result<String, SignatureFault> {
    use affix_vault::{Action, Authorization, CredentialKind};
    let bad = |what: &str| SignatureFault::ApprovalMalformed(what.to_owned());
    let b64 = base64::engine::general_purpose::STANDARD;
    let kind = CredentialKind::from_name(&approval.credential_kind)
        .map_err(|_| bad("unknown credential kind"))?;
    let public_key = b64
        .decode(&approval.credential_public_key)
        .map_err(|_| bad("credential public key is not base64"))?;
    let authorization = b64
        .decode(&approval.authorization)
        .map_err(|_| bad("authorization is not base64"))
        .and_then(|bytes| {
            Authorization::decode(&bytes)
                .map_err(|e| SignatureFault::ApprovalMalformed(e.to_string()))
        })?;
    let statement = &authorization.statement;
    // A `sign` of a message (payload kind 1) whose SHA-256 is the signed attributes'.
    if statement.action != Action::Sign
        || statement.payload_kind != 1
        || statement.digest != sha256(signed_attributes_der)
    {
        return Err(SignatureFault::NotApproved);
    }
    let rp = if kind.is_passkey() {
        let (Some(id), Some(origin)) = (&approval.rp_id, &approval.origin) else {
            return Err(bad(
                "a passkey approval names its relying party id and origin",
            ));
        };
        affix_vault::affix_webauthn::RelyingParty::new(id.clone(), vec![origin.clone()])
            .map_err(|e| SignatureFault::ApprovalMalformed(e.to_string()))?
    } else {
        affix_vault::default_relying_party()
    };
    authorization
        .verify_proof(kind, &public_key, &rp)
        .map_err(|e| SignatureFault::ApprovalInvalid(e.to_string()))?;
    Ok(kind.name().to_owned())
}

/// Decodes an entry's evidence record and checks it is `expected` — the record the
/// entry yields, computed by `expected` from the decoded record's submitter (and time).
fn check_record(
    entry: Entry,
    record: &[u8],
    expected: impl FnOnce(&affix_evidence::EvidenceRecord) -> Result<Vec<u8>, Error>,
) -> Result<(), Error> {
    let parsed = affix_evidence::EvidenceRecord::decode(record)
        .map_err(|e| malformed_by(format!("the record of {entry}"))(e.into()))?;
    if expected(&parsed)? != record {
        return Err(Error::RecordMismatch { entry });
    }
    Ok(())
}

/// Checks that `receipt` proves `record` in the ledger under `ledger`.
fn verify_receipt(
    entry: Entry,
    record: &[u8],
    receipt: Option<&str>,
    ledger: &TrustPolicy,
) -> Result<affix_note::VerifiedReceipt, Error> {
    let text = receipt.ok_or(Error::ReceiptMissing { entry })?;
    Receipt::parse(text.as_bytes())
        .and_then(|r| r.verify_entry(ledger, record))
        .map_err(|source| Error::ReceiptInvalid { entry, source })
}

// ------------------------------------------------------------------ litigation bundle

/// Format tag of the litigation bundle v1.
pub const LITIGATION_FORMAT_V1: &str = "affix-litigation-bundle/v1";
/// Format tag of the litigation bundle v2: v1 plus `documents`, the signed documents
/// (repayment receipts, extension addenda) the loan's steps rest on. Emitted only when
/// there are such documents, so bundles without them stay readable by v1 verifiers.
pub const LITIGATION_FORMAT_V2: &str = "affix-litigation-bundle/v2";

/// The litigation bundle v1 of a loan (e-IOU): the signed loan note's evidence bundle,
/// the automation rules it signed, every loan event (repayments reported, confirmed,
/// disputed; settlement) with its proof attachment, and every rule action (reminders,
/// overdue notices) with its delivery results — each with its evidence record and
/// ledger receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LitigationBundle {
    /// [`LITIGATION_FORMAT_V1`].
    pub format: String,
    /// The loan note's evidence bundle v1.
    pub contract: Bundle,
    /// The rule set JSON (`affix-loan-rules`) whose digest the note's
    /// `loan_terms_sha256` covers.
    pub rules: String,
    /// Loan events in chain order.
    pub events: Vec<LoanBundleEvent>,
    /// Rule actions in the order taken.
    pub actions: Vec<LoanBundleAction>,
    /// v2: the signed documents loan steps rest on, each as its own evidence bundle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<LoanBundleDocument>,
}

/// A signed document a loan step rests on (v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanBundleDocument {
    /// `receipt` (收条, signed by the lender; the repayment's confirmation rests on it)
    /// or `extension` (展期 addendum, signed by both parties).
    pub kind: String,
    /// Its contract's evidence bundle v1; the document is the receipt or addendum text.
    pub bundle: Bundle,
}

/// One loan event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanBundleEvent {
    /// `affix-loan-event v1` text.
    pub text: String,
    /// Base64 evidence record v1.
    pub record: String,
    /// Tlog-proof receipt.
    pub receipt: Option<String>,
    /// Base64 proof attachment of a reported repayment, if any.
    #[serde(default)]
    pub proof: Option<String>,
}

/// One rule action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanBundleAction {
    /// Idempotency key.
    pub key: String,
    /// Day it was due.
    pub day: String,
    /// Rule id.
    pub rule: String,
    /// What it does.
    pub action: String,
    /// Delivery results (the platform's statement of what its channels reported).
    pub deliveries: Option<serde_json::Value>,
    /// Base64 evidence record v1.
    pub record: String,
    /// Tlog-proof receipt.
    pub receipt: Option<String>,
}

/// What [`verify_litigation`] established.
#[derive(Debug, Clone)]
pub struct VerifiedLitigation {
    /// The loan note's bundle.
    pub contract: VerifiedBundle,
    /// Loan events replayed and proven.
    pub events: usize,
    /// Rule actions proven.
    pub actions: usize,
    /// Outstanding after the last event, yuan.
    pub outstanding_yuan: String,
    /// Whether the last event settled the loan.
    pub settled: bool,
    /// Signed documents verified and matched to the loan step they back (v2).
    pub documents: usize,
}

/// Verifies a litigation bundle: the loan note's bundle as [`verify`] does; the rules
/// and the schedule recomputed from the signed fields give the signed
/// `loan_terms_sha256`; every loan event's record is the record of that event, its
/// receipt proves it, its proof attachment has the digest the event names, and the
/// chain replays through `affix-contract`'s loan book from the terms to the last
/// (receipt-anchored) event; every signed document (v2) verifies and backs a step of its
/// own; every action's record is proven by its receipt and names its key.
///
/// # Errors
/// The first fault found, as a typed [`Error`]: those of [`verify`] for the note's
/// bundle; [`Error::LoanTermsMismatch`], [`Error::LoanChainBroken`],
/// [`Error::ProofAttachmentMismatch`]; for a signed document, [`Error::Document`] (its
/// bundle's own fault as the source) or a variant naming how it fails to back its step.
pub fn verify_litigation(
    bytes: &[u8],
    ledger: &TrustPolicy,
    ca_roots: &[Certificate],
) -> Result<VerifiedLitigation, Error> {
    use affix_contract::{LoanBook, LoanEvent, LoanNote, LoanTerms, RuleSet, Template};
    if bytes.len() > BUNDLE_BYTES_MAX {
        return Err(Error::TooLarge {
            bundle_bytes: bytes.len(),
        });
    }
    let bundle: LitigationBundle = serde_json::from_slice(bytes)
        .map_err(|e| malformed_by("not a litigation bundle v1 or v2")(e.into()))?;
    match bundle.format.as_str() {
        LITIGATION_FORMAT_V2 => {}
        LITIGATION_FORMAT_V1 if bundle.documents.is_empty() => {}
        LITIGATION_FORMAT_V1 => return Err(malformed("a v1 bundle carries no documents")),
        _ => {
            return Err(Error::UnknownFormat {
                found: bundle.format,
            });
        }
    }
    let contract_bytes =
        serde_json::to_vec(&bundle.contract).map_err(|e| malformed_by("contract")(e.into()))?;
    let contract = verify(&contract_bytes, ledger, ca_roots)?;
    // The terms both parties signed.
    let content = ContractContent::decode(&unb64("content", &bundle.contract.content)?)
        .map_err(|e| malformed_by("content")(e.into()))?;
    if content.template_id() != affix_contract::LOAN_NOTE_ID {
        return Err(Error::NotLoanNote);
    }
    let signed = content
        .fields()
        .get("loan_terms_sha256")
        .ok_or(Error::LoanTermsNotSigned)?
        .clone();
    let fields = Template::loan_note()
        .parse(content.fields())
        .map_err(|e| malformed_by("the loan note's fields")(e.into()))?;
    let schedule = LoanNote::from_fields(&fields)
        .and_then(|n| n.schedule())
        .map_err(|e| malformed_by("the loan note's schedule")(e.into()))?;
    let rules = RuleSet::from_json(&bundle.rules).map_err(|e| malformed_by("rules")(e.into()))?;
    let terms = LoanTerms::new(content.contract_id(), schedule, rules);
    if terms.digest().to_string() != signed {
        return Err(Error::LoanTermsMismatch);
    }
    // Events: records, receipts, proofs, chain.
    let mut events = Vec::with_capacity(bundle.events.len());
    for (n, e) in bundle.events.iter().enumerate() {
        let entry = Entry::LoanEvent(n);
        let event =
            LoanEvent::parse(&e.text).map_err(|err| malformed_by(entry.to_string())(err.into()))?;
        let record = unb64(format_args!("the record of {entry}"), &e.record)?;
        check_record(entry, &record, |parsed| {
            event
                .to_evidence(parsed.submitter(), parsed.event_time().0)
                .map(|r| r.encode())
                .map_err(|err| malformed_by(format!("{entry} (its evidence record)"))(err.into()))
        })?;
        verify_receipt(entry, &record, e.receipt.as_deref(), ledger)?;
        let named = match event.kind() {
            affix_contract::LoanEventKind::RepaymentReported { transfer_proof, .. } => {
                *transfer_proof
            }
            _ => None,
        };
        let given = e
            .proof
            .as_deref()
            .map(|b| unb64(format_args!("the proof attachment of {entry}"), b))
            .transpose()?
            .map(|b| sha256(&b));
        match (named, given) {
            (Some(d), Some(g)) if g != *d.as_bytes() => {
                return Err(Error::ProofAttachmentMismatch { entry, named: true });
            }
            (None, Some(_)) => {
                return Err(Error::ProofAttachmentMismatch {
                    entry,
                    named: false,
                });
            }
            _ => {}
        }
        events.push(event);
    }
    let head = events
        .last()
        .map_or_else(|| terms.digest(), LoanEvent::digest);
    let (book, backing) = LoanBook::replay_with_documents(terms, &events, &head)
        .map_err(|source| Error::LoanChainBroken { source })?;
    // Each signed document backs a step of its own.
    if bundle.documents.len() > backing.len() {
        return Err(Error::DocumentsUnbacked {
            documents: bundle.documents.len(),
            steps: backing.len(),
        });
    }
    let mut backed = std::collections::BTreeSet::new();
    for (n, d) in bundle.documents.iter().enumerate() {
        let event = verify_loan_document(n, d, &bundle.contract, &backing, ledger, ca_roots)?;
        if !backed.insert(event) {
            return Err(Error::DocumentBacksBackedStep { document: n, event });
        }
    }
    // Actions: proven records of this loan.
    let subject = format!("contract:{}", content.contract_id());
    for (n, a) in bundle.actions.iter().enumerate() {
        let entry = Entry::Action(n);
        let record = unb64(format_args!("the record of {entry}"), &a.record)?;
        let parsed = affix_evidence::EvidenceRecord::decode(&record)
            .map_err(|err| malformed_by(format!("the record of {entry}"))(err.into()))?;
        if parsed.kind() != "loan.action" || parsed.subject() != subject {
            return Err(Error::ActionOfAnotherLoan {
                action: n,
                part: "record",
            });
        }
        if !a.key.starts_with(&format!("{}/", content.contract_id())) {
            return Err(Error::ActionOfAnotherLoan {
                action: n,
                part: "key",
            });
        }
        verify_receipt(entry, &record, a.receipt.as_deref(), ledger)?;
    }
    Ok(VerifiedLitigation {
        contract,
        events: events.len(),
        actions: bundle.actions.len(),
        outstanding_yuan: book.outstanding_yuan().to_string(),
        settled: book.settled_on().is_some(),
        documents: bundle.documents.len(),
    })
}

/// One signed document of a litigation bundle: its own bundle verifies and is
/// effective; it was signed with the signing keys of the note's lender (a receipt) or of
/// the note's signers (an addendum); and its text is exactly the receipt or addendum the
/// loan book made just before an event of the chain (`backing`, from
/// [`affix_contract::LoanBook::replay_with_documents`]). Returns that event's index.
fn verify_loan_document(
    n: usize,
    d: &LoanBundleDocument,
    note_bundle: &Bundle,
    backing: &[affix_contract::BackingDocument],
    ledger: &TrustPolicy,
    ca_roots: &[Certificate],
) -> Result<usize, Error> {
    let kind = match d.kind.as_str() {
        "receipt" => affix_contract::DocumentKind::Acknowledgement,
        "extension" => affix_contract::DocumentKind::Addendum,
        other => return Err(malformed(format!("document {n}: unknown kind {other:?}"))),
    };
    let bytes = serde_json::to_vec(&d.bundle)
        .map_err(|e| malformed_by(format!("document {n}"))(e.into()))?;
    let verified = verify(&bytes, ledger, ca_roots).map_err(|e| Error::Document {
        document: n,
        source: Box::new(e),
    })?;
    if verified.status != affix_contract::ContractStatus::Effective {
        return Err(Error::DocumentNotEffective { document: n });
    }
    let text = d
        .bundle
        .document
        .as_ref()
        .map(|doc| unb64(format_args!("the text of document {n}"), &doc.bytes))
        .transpose()?
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| malformed(format!("document {n} has no text document")))?;
    // Who signed, by signing key (the certificate's public key: a person keeps one vault
    // key, so a receipt is the lender's only if that key made it); the note's lender is
    // its first party.
    let key_of = |b64: &str| -> Result<Vec<u8>, Error> {
        use der::Encode as _;
        Certificate::from_der(&unb64(format_args!("a certificate of document {n}"), b64)?)
            .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der())
            .map_err(|e| malformed_by(format!("a certificate of document {n}"))(e.into()))
    };
    let content = ContractContent::decode(&unb64("content", &note_bundle.content)?)
        .map_err(|e| malformed_by("content")(e.into()))?;
    let note_key = |party: &affix_contract::PartyId| -> Result<Option<Vec<u8>>, Error> {
        note_bundle
            .signatures
            .iter()
            .find(|s| s.party == party.to_string())
            .map(|s| key_of(&s.certificate))
            .transpose()
    };
    let mut signers = d
        .bundle
        .signatures
        .iter()
        .map(|s| key_of(&s.certificate))
        .collect::<Result<Vec<_>, _>>()?;
    signers.sort();
    let parties = content.parties();
    let mut expected = match kind {
        affix_contract::DocumentKind::Acknowledgement => parties
            .first()
            .map(|p| note_key(&p.id))
            .transpose()?
            .flatten()
            .into_iter()
            .collect::<Vec<_>>(),
        affix_contract::DocumentKind::Addendum => parties
            .iter()
            .map(|p| note_key(&p.id))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
    };
    expected.sort();
    if signers.is_empty() || signers != expected {
        return Err(Error::DocumentWrongSigner {
            document: n,
            kind: d.kind.clone(),
        });
    }
    // The step it backs: the book just before that event made exactly this text.
    backing
        .iter()
        .find(|b| b.kind == kind && b.text == text)
        .map(|b| b.event)
        .ok_or_else(|| Error::DocumentBacksNoStep {
            document: n,
            kind: d.kind.clone(),
        })
}
