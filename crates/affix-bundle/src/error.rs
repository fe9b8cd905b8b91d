//! Why a bundle was not accepted: what a court, notary or appraiser is told.

use std::fmt;

use affix_contract::PartyId;

use crate::BUNDLE_BYTES_MAX;

/// The source of an [`Error::Malformed`]: the decoder's own error (JSON, base64, an
/// Affix encoding, DER, UTF-8).
type DecodeError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a bundle was not accepted: the first fault found.
///
/// Variants fall in three groups, named in each variant's doc comment:
///
/// - **malformed input**: the bundle, or one of its parts, does not decode;
/// - **verification failure**: it decodes, but does not prove what it claims — a record
///   that is not its event's, a receipt that does not verify, a broken chain, a signature
///   or time-stamp that does not hold, a document or loan terms that are not the signed
///   ones;
/// - **signed documents** of a litigation bundle: a document's own bundle does not verify
///   ([`Error::Document`], the inner fault as source), or it verifies but does not back a
///   step of the loan as it claims.
///
/// Where a lower layer found the fault (the receipt verifier, the contract state machine,
/// the CMS verifier), its error is kept as the [`std::error::Error::source`] and also
/// shown in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Malformed input -------------------------------------------------------------
    /// Malformed input: the bundle is larger than [`BUNDLE_BYTES_MAX`]; nothing was read.
    #[error("the bundle is {bundle_bytes} bytes, above the limit of {BUNDLE_BYTES_MAX}")]
    TooLarge {
        /// Its size.
        bundle_bytes: usize,
    },
    /// Malformed input: the bundle, or the part `what` names, does not decode (not JSON of
    /// the format, not base64, not a canonical encoding, …).
    #[error("malformed bundle: {what}{}", colon_source(.source))]
    Malformed {
        /// What does not decode, and where (`"content"`, `"the record of event 3"`).
        what: String,
        /// The decoder's error, if one was involved.
        #[source]
        source: Option<DecodeError>,
    },
    /// Malformed input: a `format` tag this verifier does not know (a newer format, or
    /// not a bundle).
    #[error("unknown format {found:?}")]
    UnknownFormat {
        /// The tag found.
        found: String,
    },

    // ---- Verification failures: records, receipts, chains ------------------------------
    /// Verification failure: the bundle's `contract_id` is not the one of its content.
    #[error("contract_id {bundled} is not the content's ({content})")]
    ContractIdMismatch {
        /// The id the bundle states.
        bundled: String,
        /// The id of the signed content.
        content: String,
    },
    /// Verification failure: the evidence record bundled with an entry is not the record
    /// that entry yields (so its receipt proves something else).
    #[error("the record of {entry} is not the record {entry} yields")]
    RecordMismatch {
        /// Which entry.
        entry: Entry,
    },
    /// Verification failure: an entry has no receipt (the bundle was made before the
    /// ledger logged it).
    #[error("{entry} has no receipt yet")]
    ReceiptMissing {
        /// Which entry.
        entry: Entry,
    },
    /// Verification failure: an entry's receipt does not parse, or does not prove its
    /// record in the ledger under the trust policy (wrong origin, too few trusted
    /// signatures, an inclusion proof that does not reach the signed root, another
    /// record).
    #[error("the receipt of {entry} does not verify: {source}")]
    ReceiptInvalid {
        /// Which entry.
        entry: Entry,
        /// The receipt verifier's error.
        #[source]
        source: affix_note::Error,
    },
    /// Verification failure: a bundle without events proves nothing.
    #[error("the bundle has no events")]
    NoEvents,
    /// Verification failure: the contract's events do not replay from its content to the
    /// receipt-anchored last event (a link, a step or the head does not check out; the
    /// source names the event and why).
    #[error("the event chain is broken: {source}")]
    ChainBroken {
        /// The contract state machine's error.
        #[source]
        source: affix_contract::Error,
    },
    /// Verification failure: the loan events do not replay through the loan book from the
    /// signed terms to the receipt-anchored last event (the source names the event and
    /// why).
    #[error("the loan event chain is broken: {source}")]
    LoanChainBroken {
        /// The loan book's error.
        #[source]
        source: affix_contract::Error,
    },

    // ---- Verification failures: signatures and time-stamps -----------------------------
    /// Verification failure: the signature of a party that signed does not hold.
    #[error("the signature of party {party} does not verify: {fault}")]
    SignatureInvalid {
        /// The party whose signed event it is.
        party: PartyId,
        /// What is wrong with it.
        #[source]
        fault: SignatureFault,
    },
    /// Verification failure: the time-stamp on the signature of a party that signed does
    /// not hold.
    #[error("the time-stamp of party {party} does not verify: {fault}")]
    TimestampInvalid {
        /// The party whose signed event it is.
        party: PartyId,
        /// What is wrong with it.
        #[source]
        fault: TimestampFault,
    },

    // ---- Verification failures: the document and the loan terms ------------------------
    /// Verification failure: the bundle carries a document, but the content names no
    /// document digest.
    #[error("a document, but the content names none")]
    DocumentNotNamed,
    /// Verification failure: the bundled document's SHA-256 is not the one the signed
    /// content names.
    #[error("the document is not the one the content names (SHA-256 differs)")]
    DocumentDigestMismatch,
    /// Verification failure: the contract of a litigation bundle is not a loan note.
    #[error("the contract is not a loan note v2")]
    NotLoanNote,
    /// Verification failure: the loan note signs no loan terms digest.
    #[error("the note signs no loan terms digest")]
    LoanTermsNotSigned,
    /// Verification failure: the bundled rules and the schedule recomputed from the
    /// signed fields do not give the `loan_terms_sha256` both parties signed.
    #[error("the bundled rules and the recomputed schedule are not the signed loan terms")]
    LoanTermsMismatch,
    /// Verification failure: a reported repayment's proof attachment is not the one its
    /// event names (by SHA-256), or the event names none.
    #[error("{entry}: {}", proof_fault(*.named))]
    ProofAttachmentMismatch {
        /// Which loan event.
        entry: Entry,
        /// Whether the event names a proof at all.
        named: bool,
    },
    /// Verification failure: a rule action whose record or key is of another loan.
    #[error("action {action} is not an action of this loan (its {part})")]
    ActionOfAnotherLoan {
        /// Which action (0-based).
        action: usize,
        /// `"record"` or `"key"`.
        part: &'static str,
    },

    // ---- Signed documents of a litigation bundle ---------------------------------------
    /// Verification failure: a signed document's own evidence bundle does not verify.
    #[error("document {document}: {source}")]
    Document {
        /// Which document (0-based).
        document: usize,
        /// Why its bundle does not verify.
        #[source]
        source: Box<Error>,
    },
    /// Verification failure: a signed document's bundle verifies but not every party
    /// signed it (it is not effective).
    #[error("document {document} is not signed by all its parties")]
    DocumentNotEffective {
        /// Which document.
        document: usize,
    },
    /// Verification failure: a signed document is not signed with the signing keys it
    /// must be: the note's lender for a receipt (收条), the note's parties for an
    /// extension addendum.
    #[error("document {document} ({kind}) is not signed by the note's {}", required_signers(.kind))]
    DocumentWrongSigner {
        /// Which document.
        document: usize,
        /// Its kind as bundled (`receipt`, `extension`).
        kind: String,
    },
    /// Verification failure: a signed document's text is not the receipt or addendum the
    /// loan book made for any step of the chain (wrong text, or the step is not there).
    #[error("document {document} ({kind}) backs no event of the loan chain")]
    DocumentBacksNoStep {
        /// Which document.
        document: usize,
        /// Its kind as bundled.
        kind: String,
    },
    /// Verification failure: two signed documents back the same loan event.
    #[error("document {document} backs loan event {event}, which another document backs")]
    DocumentBacksBackedStep {
        /// Which document.
        document: usize,
        /// The loan event (0-based) it backs.
        event: usize,
    },
    /// Verification failure: more signed documents than steps of the chain that rest on
    /// one.
    #[error("{documents} documents for {steps} steps that rest on one")]
    DocumentsUnbacked {
        /// Documents bundled.
        documents: usize,
        /// Steps that rest on a document.
        steps: usize,
    },
}

fn proof_fault(named: bool) -> &'static str {
    if named {
        "the proof attachment differs"
    } else {
        "a proof the event does not name"
    }
}

fn required_signers(kind: &str) -> &'static str {
    if kind == "receipt" {
        "lender"
    } else {
        "parties"
    }
}

fn colon_source(source: &Option<DecodeError>) -> String {
    source
        .as_ref()
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

/// A logged entry of a bundle: what an evidence record and its receipt belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// Contract event `n` (0-based) of an evidence bundle.
    Event(usize),
    /// Loan event `n` of a litigation bundle.
    LoanEvent(usize),
    /// Rule action `n` of a litigation bundle.
    Action(usize),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Event(n) => write!(f, "event {n}"),
            Entry::LoanEvent(n) => write!(f, "loan event {n}"),
            Entry::Action(n) => write!(f, "action {n}"),
        }
    }
}

/// What is wrong with a party's signature ([`Error::SignatureInvalid`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureFault {
    /// The bundle has no signature of a party whose signed event the chain holds.
    #[error("the bundle has no signature of this party")]
    Missing,
    /// The bundled CMS signature, certificate or signature image is not the one the
    /// signed event recorded (by SHA-256).
    #[error("the {0} is not the one the signed event recorded")]
    NotRecorded(SignaturePart),
    /// The CMS signature's Affix signed attributes bind another signature image or
    /// document than the bundled one: the signer approved something else.
    #[error("the CMS signature binds another {0} than the bundled one")]
    NotSigned(SignaturePart),
    /// The signer certificate does not decode.
    #[error("the certificate does not decode: {0}")]
    Certificate(#[source] der::Error),
    /// The CMS signature does not decode, or does not verify over the content to the CA
    /// root at the time-stamp's time.
    #[error("{0}")]
    Cms(#[source] affix_cms::Error),
    /// The CMS signature verifies, but by another certificate than the bundled one.
    #[error("the CMS signature is by another certificate than the bundled one")]
    OtherCertificate,
    /// A v2 bundle without the approval of this signature.
    #[error("the bundle has no approval of this signature by the signer's credential")]
    ApprovalMissing,
    /// The approval does not decode (kind, public key, authorization, relying party).
    #[error("the approval does not decode: {0}")]
    ApprovalMalformed(String),
    /// The authorization is not a `sign` of exactly the signed attributes the signature
    /// value covers: the credential approved something else.
    #[error("the signer's credential approved other bytes than the signed attributes")]
    NotApproved,
    /// The credential's proof (signature or WebAuthn assertion) does not verify.
    #[error("the signer's credential's proof does not verify: {0}")]
    ApprovalInvalid(String),
}

/// A part of a party's signature that its signed event records by digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignaturePart {
    /// The CMS SignedData.
    Cms,
    /// The signer certificate.
    Certificate,
    /// The handwritten signature image.
    Image,
    /// The contract's document.
    Document,
}

impl fmt::Display for SignaturePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignaturePart::Cms => "CMS signature",
            SignaturePart::Certificate => "certificate",
            SignaturePart::Image => "signature image",
            SignaturePart::Document => "document",
        })
    }
}

/// What is wrong with the time-stamp of a party's signature ([`Error::TimestampInvalid`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampFault {
    /// The bundled time-stamp token is not the one the signed event recorded (by
    /// SHA-256).
    #[error("the time-stamp token is not the one the signed event recorded")]
    NotRecorded,
    /// The CMS signature carries no time-stamp token.
    #[error("the CMS signature carries no time-stamp token")]
    Missing,
    /// The bundled token is not the one embedded in the CMS signature.
    #[error("the bundled token is not the one in the CMS signature")]
    NotEmbedded,
    /// The embedded token does not decode, or does not verify (TSA certificate path to
    /// the CA root, imprint over the signature value, time).
    #[error("{0}")]
    Cms(#[source] affix_cms::Error),
    /// The embedded token is not an RFC 3161 time-stamp token.
    #[error("{0}")]
    Token(#[source] affix_tsp::Error),
}
