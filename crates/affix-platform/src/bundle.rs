//! The evidence bundle, format v1: everything needed to prove, without Affix, what
//! happened to one contract. A JSON document:
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
//!                   "timestamp_token": "<base64 DER>", "image_png": "<base64>"}],
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
//!    code against the same root;
//! 4. the document's SHA-256 is the one the content names.
//!
//! The same files check with standard tools: `openssl cms -verify` for each signature
//! (content = the decoded `content`), `openssl ts -verify` for each token, Go's sumdb
//! `tlog`/`note` for each receipt.

use std::time::SystemTime;

use affix_contract::{ContractContent, ContractEvent, EventKind, verify_chain};
use affix_note::{Receipt, TrustPolicy};
use base64::Engine as _;
use der::Decode as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;

use crate::Error;

/// The format name of v1.
pub const FORMAT_V1: &str = "affix-evidence-bundle/v1";

/// Largest bundle [`verify`] reads.
pub const BUNDLE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A bundle (v1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT_V1`].
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
}

fn bad(what: impl Into<String>) -> Error {
    Error::Invalid {
        kind: "bundle-does-not-verify",
        detail: what.into(),
    }
}

fn unb64(field: &str, text: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| bad(format!("{field} is not base64")))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Checks embedded time-stamp tokens with `affix-tsp` against the CA root.
struct TokenVerifier<'a>(&'a [Certificate]);

impl affix_cms::TimestampTokenVerifier for TokenVerifier<'_> {
    type Error = affix_tsp::Error;

    fn verify_timestamp_token(
        &self,
        token_der: &[u8],
        timestamped_data: &[u8],
    ) -> Result<SystemTime, Self::Error> {
        let v = affix_tsp::verify_token(
            token_der,
            affix_tsp::TsaTrust::IssuedBy(self.0),
            affix_tsp::ExpectedImprint::Data(timestamped_data),
            None,
        )?;
        Ok(SystemTime::UNIX_EPOCH + v.gen_time().unix_duration())
    }
}

/// Verifies a bundle against the ledger's trust policy and the CA root (both from
/// outside the bundle). `now` is the validation time of certificates (use the
/// signature time-stamps' time for old bundles: a certificate valid when time-stamped
/// stays valid evidence).
///
/// # Errors
/// [`Error::Invalid`] with kind `bundle-does-not-verify` naming the first failure.
pub fn verify(
    bytes: &[u8],
    ledger: &TrustPolicy,
    ca_roots: &[Certificate],
) -> Result<VerifiedBundle, Error> {
    if bytes.len() > BUNDLE_BYTES_MAX {
        return Err(bad(format!("bundle larger than {BUNDLE_BYTES_MAX} bytes")));
    }
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a v1 bundle: {e}")))?;
    if bundle.format != FORMAT_V1 {
        return Err(bad(format!("unknown format {:?}", bundle.format)));
    }
    let content_bytes = unb64("content", &bundle.content)?;
    let content =
        ContractContent::decode(&content_bytes).map_err(|e| bad(format!("content: {e}")))?;
    if content.contract_id().to_string() != bundle.contract_id {
        return Err(bad("contract_id is not the content's"));
    }
    // 1. Records and receipts.
    let mut events = Vec::with_capacity(bundle.events.len());
    let mut leaf_indices = Vec::with_capacity(bundle.events.len());
    for (n, e) in bundle.events.iter().enumerate() {
        let event_bytes = unb64("event", &e.event)?;
        let event =
            ContractEvent::decode(&event_bytes).map_err(|err| bad(format!("event {n}: {err}")))?;
        let record = unb64("record", &e.record)?;
        let parsed = affix_evidence::EvidenceRecord::decode(&record)
            .map_err(|err| bad(format!("record {n}: {err}")))?;
        let expected = event
            .to_evidence(parsed.submitter())
            .map_err(|err| bad(format!("event {n}: {err}")))?
            .encode();
        if expected != record {
            return Err(bad(format!("record {n} is not the record of event {n}")));
        }
        let receipt_text = e
            .receipt
            .as_deref()
            .ok_or_else(|| bad(format!("event {n} has no receipt yet")))?;
        let receipt = Receipt::parse(receipt_text.as_bytes())
            .map_err(|err| bad(format!("receipt {n}: {err}")))?;
        let verified = receipt
            .verify_entry(ledger, &record)
            .map_err(|err| bad(format!("receipt {n} does not verify: {err}")))?;
        leaf_indices.push(verified.index().0);
        events.push(event);
    }
    // 2. The chain, anchored by the last receipt.
    let last = events.last().ok_or_else(|| bad("no events"))?;
    let chain = verify_chain(&content, &events, &last.hash())
        .map_err(|e| bad(format!("event chain: {e}")))?;
    // 3. Signatures.
    let mut signatures = Vec::new();
    for event in &events {
        let EventKind::Signed(evidence) = event.kind() else {
            continue;
        };
        let actor = event
            .actor()
            .ok_or_else(|| bad("a signed event without a party"))?;
        let sig = bundle
            .signatures
            .iter()
            .find(|s| s.party == actor.party.to_string())
            .ok_or_else(|| bad(format!("no signature of party {}", actor.party)))?;
        let cms = unb64("cms", &sig.cms)?;
        let cert = unb64("certificate", &sig.certificate)?;
        let token = unb64("timestamp_token", &sig.timestamp_token)?;
        let image = unb64("image_png", &sig.image_png)?;
        let pairs = [
            (&evidence.cms_signature, &cms, "CMS signature"),
            (&evidence.signer_certificate, &cert, "certificate"),
            (&evidence.timestamp_token, &token, "time-stamp token"),
            (&evidence.signature_image, &image, "signature image"),
        ];
        for (digest, bytes, what) in pairs {
            if digest.as_bytes() != &sha256(bytes) {
                return Err(bad(format!(
                    "the {what} of party {} is not the one the signed event recorded",
                    actor.party
                )));
            }
        }
        let parsed = affix_cms::DetachedSignature::from_der(&cms)
            .map_err(|e| bad(format!("CMS of party {}: {e}", actor.party)))?;
        let embedded = parsed
            .embedded_timestamp()
            .map_err(|e| bad(format!("time-stamp of party {}: {e}", actor.party)))?
            .ok_or_else(|| bad(format!("CMS of party {} has no time-stamp", actor.party)))?;
        if embedded.token_der() != token.as_slice() {
            return Err(bad(format!(
                "the bundled token of party {} is not the one in its CMS signature",
                actor.party
            )));
        }
        let at = embedded.unverified_gen_time();
        // The certificate path first (at the time-stamp's time): it establishes the CA
        // certificates between the signer and the root, which then vouch for the TSA.
        let path = parsed
            .verify(&content_bytes, ca_roots, at)
            .map_err(|e| bad(format!("CMS signature of party {}: {e}", actor.party)))?;
        let mut cas: Vec<Certificate> = path.chain().to_vec();
        cas.extend_from_slice(ca_roots);
        let verified = parsed
            .verify_timestamped(&content_bytes, ca_roots, &TokenVerifier(&cas))
            .map_err(|e| bad(format!("CMS signature of party {}: {e}", actor.party)))?;
        let signer = Certificate::from_der(&cert)
            .map_err(|e| bad(format!("certificate of party {}: {e}", actor.party)))?;
        if verified.signer_certificate() != &signer {
            return Err(bad(format!(
                "party {}'s CMS signature is by another certificate",
                actor.party
            )));
        }
        signatures.push((verified.signer_subject().to_owned(), at));
    }
    // 4. The document.
    if let Some(doc) = &bundle.document {
        let bytes = unb64("document", &doc.bytes)?;
        let named = content
            .fields()
            .get("document_sha256")
            .ok_or_else(|| bad("a document, but the content names none"))?;
        if hex::encode(sha256(&bytes)) != *named {
            return Err(bad("the document is not the one the content names"));
        }
    }
    Ok(VerifiedBundle {
        contract_id: bundle.contract_id,
        status: chain.status(),
        events: events.len(),
        leaf_indices,
        signatures,
    })
}
