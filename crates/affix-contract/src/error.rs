//! The crate's one error type.

use affix_time::Date;

use crate::{ContractStatus, Decimal, PartyId, PartyStatus};

/// Errors from templates, contract content, transitions, decoding and chain verification.
///
/// Variants fall in five groups, named in each variant's doc comment:
///
/// - **malformed input**: bytes or text that are not what they claim (an identifier
///   with a bad character, truncated event bytes, field values that fail their type);
/// - **policy refusal**: a well-formed request the contract's rules refuse (not your
///   turn, already signed, expired, not open);
/// - **verification failure**: an event chain that does not check out;
/// - **misuse**: a request the API does not allow (a template with duplicate field
///   names, a contract without an initiator);
/// - **evidence**: building the evidence record failed.
///
/// No variant carries personal data or document content: field names, positions,
/// identifiers and statuses only (an unknown field's name is echoed, truncated to
/// [`crate::FIELD_NAME_BYTES_MAX`] bytes, because the caller sent it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: an identifier or digest that is not in its text form.
    #[error("invalid {what}: {reason}")]
    InvalidId {
        /// Which kind of identifier.
        what: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// Malformed input: a name that is none of its kind's (a repayment method, a rule
    /// message, a recipient). The text given is not echoed.
    #[error("unknown {what}: expected {expected}")]
    UnknownName {
        /// Which kind of name.
        what: &'static str,
        /// The names accepted, for the message.
        expected: &'static str,
    },
    /// Malformed input: field values that fail the template; every failing field is
    /// listed (sorted by field name), so an API can report them all at once.
    #[error("{} field(s) invalid", errors.len())]
    FieldsInvalid {
        /// One entry per failing field.
        errors: Vec<FieldError>,
    },
    /// Malformed input: a handwritten-signature image that is not a PNG this crate
    /// accepts ([`crate::SignatureImage::canonicalize`]).
    #[error("invalid signature image: {problem}")]
    SignatureImageInvalid {
        /// What is wrong with it.
        problem: crate::ImageProblem,
    },
    /// Malformed input: more values, or a larger value, than the limits allow (checked
    /// before any field is looked at).
    #[error("{what} is {actual}, above the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size (bytes or items).
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// Malformed input: bytes that are not a canonical v1 encoding; `offset` is where
    /// decoding stopped.
    #[error("malformed {what} at byte {offset}: {reason}")]
    Malformed {
        /// Which encoding.
        what: &'static str,
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// Malformed input: an encoding of a version this code does not know.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// Which encoding.
        what: &'static str,
        /// The version byte found.
        version: u8,
    },

    /// Misuse: a template that breaks a rule (duplicate field names, empty enum, min
    /// above max, …).
    #[error("invalid template: {reason}")]
    InvalidTemplate {
        /// What was wrong.
        reason: &'static str,
    },
    /// Misuse: contract content that breaks a rule (no initiator, duplicate party ids,
    /// expiry not after creation, …).
    #[error("invalid contract content: {reason}")]
    InvalidContent {
        /// What was wrong.
        reason: &'static str,
    },

    /// Malformed input: an LPR table that breaks a rule of [`crate::LprTable`]; `line` is
    /// the 1-based line of the text form (or position in the entry list), 0 for the
    /// table as a whole.
    #[error("invalid LPR table at line {line}: {reason}")]
    LprTableInvalid {
        /// Where the problem is.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },

    /// Misuse: loan terms outside what the loan note template accepts (only possible
    /// for a [`crate::LoanNote`] built by hand).
    #[error("invalid loan terms: {reason}")]
    LoanTermsInvalid {
        /// What was wrong.
        reason: &'static str,
    },
    /// Misuse: the LPR table is not vouched for on the date asked: the operator must
    /// bring it up to date (a rate may have been published since).
    #[error(
        "the LPR table is checked only through {checked_through}, not {on}: update it with the latest one-year LPR"
    )]
    LprTableOutdated {
        /// The date asked.
        on: Date,
        /// The table's last vouched-for date.
        checked_through: Date,
    },

    /// Policy refusal: the loan note's annual rate is above the legal cap for private
    /// lending, four times the one-year LPR in force when the contract is made
    /// ([`crate::RATE_CAP_RULE`]). The rate itself is not repeated (document content).
    #[error(
        "annual rate above the legal cap of {cap_percent}% (4 × the one-year LPR of {lpr_percent}% in force on {on}, published {lpr_effective_date}); {rule}",
        rule = crate::RATE_CAP_RULE
    )]
    RateAboveLegalCap {
        /// The cap in percent.
        cap_percent: Decimal,
        /// The one-year LPR it is four times.
        lpr_percent: Decimal,
        /// The date that LPR took effect.
        lpr_effective_date: Date,
        /// The date the contract is made.
        on: Date,
    },
    /// Policy refusal: no one-year LPR is in force on the date (it is before the
    /// table's first entry, at the earliest 2019-08-20), so the cap cannot be set and
    /// the loan note is refused.
    #[error("no one-year LPR in force on {on} (the table starts {first_effective_date})")]
    NoLprInForce {
        /// The date asked.
        on: Date,
        /// The table's first effective date.
        first_effective_date: Date,
    },

    /// Policy refusal: the contract is not in a status that allows this step.
    #[error("contract is {status:?}, which does not allow this step")]
    ContractNotOpen {
        /// The contract's status.
        status: ContractStatus,
    },
    /// Policy refusal: the expiry time has passed; the only step left is
    /// [`crate::Contract::expire`].
    #[error("contract expired at {expires_ms} (now {now_ms})")]
    Expired {
        /// The expiry, Unix milliseconds.
        expires_ms: u64,
        /// The time of the refused step.
        now_ms: u64,
    },
    /// Policy refusal: [`crate::Contract::expire`] before the expiry time.
    #[error("contract does not expire until {expires_ms}")]
    NotExpired {
        /// The expiry, Unix milliseconds.
        expires_ms: u64,
    },
    /// Policy refusal: sequential signing, and another party signs first.
    #[error("not this party's turn; {next} signs next")]
    NotYourTurn {
        /// The party whose signature comes next.
        next: PartyId,
    },
    /// Policy refusal: the party has already signed.
    #[error("party {party} has already signed")]
    AlreadySigned {
        /// The party.
        party: PartyId,
    },
    /// Policy refusal: the party has not verified its identity yet.
    #[error("party {party} has not verified its identity")]
    IdentityNotVerified {
        /// The party.
        party: PartyId,
    },
    /// Policy refusal: the step needs a party status the party is not in (view before
    /// identity check, consent before view, sign before consent, …).
    #[error("party {party} is {status:?}; this step needs {needed:?}")]
    PartyNotReady {
        /// The party.
        party: PartyId,
        /// Its status.
        status: PartyStatus,
        /// The status the step needs.
        needed: PartyStatus,
    },
    /// Policy refusal: the party is not in the contract.
    #[error("party {party} is not a party to this contract")]
    UnknownParty {
        /// The party named.
        party: PartyId,
    },
    /// Policy refusal: the party's role does not sign (a carbon-copy recipient).
    #[error("party {party} does not sign this contract")]
    NotASigningParty {
        /// The party.
        party: PartyId,
    },
    /// Policy refusal: only the initiator may send or revoke.
    #[error("party {party} is not the initiator")]
    NotInitiator {
        /// The party.
        party: PartyId,
    },
    /// Verification failure: the content digest a party viewed, consented to or signed
    /// is not this contract's.
    #[error("content digest does not match the contract's")]
    WrongContentDigest,
    /// Verification failure: the verified identity's subject is not the party's
    /// identity commitment.
    #[error("verified identity is not party {party}'s")]
    IdentityMismatch {
        /// The party.
        party: PartyId,
    },
    /// Policy refusal: a step dated before the previous event.
    #[error("step at {at_ms} is before the previous event at {previous_ms}")]
    TimeWentBackwards {
        /// The time of the refused step.
        at_ms: u64,
        /// The previous event's time.
        previous_ms: u64,
    },

    /// Verification failure: an event chain that does not link or does not replay;
    /// `seq` is the first bad event.
    #[error("event chain broken at event {seq}: {reason}")]
    ChainBroken {
        /// Sequence number (position) of the first bad event.
        seq: u32,
        /// What was wrong.
        reason: &'static str,
    },
    /// Verification failure: the chain links and replays, but its last event is not the
    /// anchored one (events were dropped or altered at the end).
    #[error("the last of {events} events is not the anchored head")]
    ChainHeadMismatch {
        /// Events in the chain given.
        events: u32,
    },
    /// Verification failure: event `seq` links correctly but the state machine refuses
    /// it.
    #[error("event {seq} is not a valid step: {source}")]
    ChainEventRejected {
        /// Sequence number of the refused event.
        seq: u32,
        /// Why the state machine refused it.
        source: Box<Error>,
    },

    /// Malformed input: a rule set (JSON or built by hand) that breaks a rule of
    /// [`crate::RuleSet`]; `rule` is the rule's position in the input (`None` for the
    /// set as a whole), `field` the member concerned.
    #[error("invalid rule set (rule {}, {field}): {reason}", rule.map_or("-".to_owned(), |r| r.to_string()))]
    RuleSetInvalid {
        /// Position of the rule in the input, from 0.
        rule: Option<usize>,
        /// The member concerned (`id`, `trigger`, `conditions`, `action`, `grace_days`, …).
        field: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// Malformed input: a repayment amount that is not above 0 yuan with at most two
    /// fraction digits.
    #[error("invalid repayment amount: {reason}")]
    RepaymentAmountInvalid {
        /// What was wrong.
        reason: &'static str,
    },
    /// Policy refusal: a repayment dated before the loan's start date.
    #[error("repayment dated {paid_on}, before the loan starts on {start_date}")]
    RepaymentBeforeStart {
        /// The date the repayment was made.
        paid_on: Date,
        /// The loan's start date.
        start_date: Date,
    },
    /// Policy refusal: a repayment dated after the day it is reported.
    #[error("repayment dated {paid_on}, after the day it is reported ({on})")]
    RepaymentInFuture {
        /// The date the repayment was made.
        paid_on: Date,
        /// The day of the report.
        on: Date,
    },
    /// Policy refusal: the repayment is more than is owed (less the repayments awaiting
    /// the lender's confirmation). The amounts are not repeated (document content).
    #[error("repayment is more than the amount outstanding")]
    Overpayment,
    /// Policy refusal: no repayment with this id was reported.
    #[error("no repayment {repayment} was reported")]
    UnknownRepayment {
        /// The id given.
        repayment: crate::RepaymentId,
    },
    /// Policy refusal: the repayment was already confirmed or disputed.
    #[error("repayment {repayment} is {status:?}, not awaiting confirmation")]
    RepaymentNotPending {
        /// The repayment.
        repayment: crate::RepaymentId,
        /// Its status.
        status: crate::RepaymentStatus,
    },
    /// Policy refusal: the loan is settled (结清); nothing more can happen to it.
    #[error("the loan was settled on {settled_on}")]
    LoanSettled {
        /// The day it was settled.
        settled_on: Date,
    },
    /// Policy refusal: a loan step dated before the previous one.
    #[error("loan step on {on} is before the previous one on {previous}")]
    LoanDateWentBackwards {
        /// The day of the refused step.
        on: Date,
        /// The day of the previous step.
        previous: Date,
    },
    /// Policy refusal: an extension while reported repayments await confirmation
    /// (they would change what is outstanding).
    #[error("{count} reported repayment(s) await confirmation")]
    RepaymentsPending {
        /// How many.
        count: usize,
    },
    /// Policy refusal: an extension while interest already due is unpaid; it must be
    /// paid first (`instalment` is the first such instalment).
    #[error("interest of instalment {instalment}, already due, is unpaid")]
    InterestInArrears {
        /// The instalment's number.
        instalment: u16,
    },
    /// Policy refusal: an extension whose new maturity is not after both the current
    /// maturity and the day it is proposed.
    #[error(
        "new maturity {new_maturity} is not after the current maturity {current_maturity} and {on}"
    )]
    ExtensionNotLater {
        /// The current schedule's last due date.
        current_maturity: Date,
        /// The proposed schedule's last due date.
        new_maturity: Date,
        /// The day of the proposal.
        on: Date,
    },
    /// Policy refusal: an extension with no principal left to reschedule.
    #[error("no principal is left to extend")]
    NothingToExtend,
    /// Verification failure: the extension addendum was proposed for another contract,
    /// or for an earlier state of the loan (an event happened since): propose again.
    #[error("the extension addendum does not match the loan's current state")]
    AddendumStale,

    /// Evidence: the evidence record could not be built (an invalid submitter name).
    #[error("evidence record: {0}")]
    Evidence(#[from] affix_evidence::Error),
}

/// One failing field of [`Error::FieldsInvalid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (for an unknown field: the name sent, truncated).
    pub field: String,
    /// What is wrong with it.
    pub problem: FieldProblem,
}

/// What is wrong with one field value. No variant holds the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A required field without a value (absent or empty).
    Missing,
    /// A value for a field the template does not have.
    Unknown,
    /// Text longer than the field allows (in characters).
    TooLong {
        /// The limit in characters.
        max_chars: u32,
    },
    /// Text with a control character (line breaks included: field values are one line,
    /// except in the generic contract's description, which allows `\n`).
    ControlCharacter,
    /// Not an integer in canonical form.
    NotAnInteger,
    /// Not a decimal in text form, or more fraction digits than the field's scale.
    NotADecimal,
    /// A number below the minimum or above the maximum.
    OutOfRange,
    /// Not a `YYYY-MM-DD` calendar date.
    NotADate,
    /// Not one of the enumeration's options.
    NotAnOption,
    /// Not 64 hex digits.
    NotADigest,
    /// A resident ID number, mobile number or e-mail address that affix-identity
    /// rejects; its error names the problem (no personal data).
    Identity(affix_identity::Error),
}
