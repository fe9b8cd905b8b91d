//! The platform's one error type, and the [`ProblemType`] each error is reported as.

use crate::problem::ProblemType;

/// Everything that can go wrong on the platform. [`Error::problem_type`] names the kind
/// of problem each is; `affix-server` gives it its HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No credentials, or credentials that do not match anything.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such object in the caller's tenant (other tenants' objects look the same).
    #[error("not found: {0}")]
    NotFound(String),
    /// Input that does not parse or violates a rule.
    #[error("{detail}")]
    Invalid {
        /// What kind of invalid input.
        kind: ProblemType,
        /// Human-readable detail.
        detail: String,
    },
    /// A contract template refused its fields; every failing field is listed.
    #[error("{} field(s) invalid", .0.len())]
    Fields(Vec<affix_contract::FieldError>),
    /// The request conflicts with the current state (wrong step, not your turn, already
    /// signed, concurrent change).
    #[error("{detail}")]
    Conflict {
        /// What kind of conflict.
        kind: ProblemType,
        /// Detail.
        detail: String,
    },
    /// The invite link, code or prepared signature has expired.
    #[error("expired: {0}")]
    Expired(String),
    /// A body or field over its limit.
    #[error("{what} too large: at most {max} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// Too many requests.
    #[error("rate limited: retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_s: u64,
    },
    /// The server is at capacity (queue full).
    #[error("busy: {0}")]
    Busy(String),
    /// Some events have no ledger receipt yet (a bundle was asked for too early).
    #[error("some {0} have no ledger receipt yet; retry shortly")]
    ReceiptsPending(&'static str),
    /// The key vault refused or failed.
    #[error("vault: {0}")]
    Vault(#[from] affix_vault::Error),
    /// The contract core refused a transition or an encoding.
    #[error("contract: {0}")]
    Contract(affix_contract::Error),
    /// An identity check failed (bad ID number, wrong or expired code, ...).
    #[error("identity: {0}")]
    Identity(#[from] affix_identity::Error),
    /// The ledger could not be reached or refused a record.
    #[error("ledger: {0}")]
    Ledger(String),
    /// Certificates, time-stamps or CMS.
    #[error("PKI: {0}")]
    Pki(String),
    /// A notification could not be queued.
    #[error("notification: {0}")]
    Notify(String),
    /// The database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Files.
    #[error("I/O: {0}")]
    Io(String),
    /// Configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A fault of ours (stored data that does not decode, a lock poisoned).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<affix_contract::Error> for Error {
    fn from(e: affix_contract::Error) -> Self {
        match e {
            affix_contract::Error::FieldsInvalid { errors } => Error::Fields(errors),
            other => Error::Contract(other),
        }
    }
}

impl Error {
    /// The kind of problem this is, as the API reports it. Faults of ours
    /// ([`ProblemType::Internal`]) carry no detail worth showing a caller: log them.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Error::Unauthenticated(_) => ProblemType::Unauthenticated,
            Error::Forbidden(_) => ProblemType::Forbidden,
            Error::NotFound(_) => ProblemType::NotFound,
            Error::Invalid { kind, .. } | Error::Conflict { kind, .. } => *kind,
            Error::Fields(_) => ProblemType::InvalidFields,
            Error::Expired(_) => ProblemType::Expired,
            Error::TooLarge { .. } => ProblemType::TooLarge,
            Error::RateLimited { .. } => ProblemType::RateLimited,
            Error::Busy(_) => ProblemType::Busy,
            Error::ReceiptsPending(_) => ProblemType::ReceiptsPending,
            Error::Vault(v) => vault_problem(v),
            Error::Contract(c) => contract_problem(c),
            Error::Identity(i) => identity_problem(i),
            Error::Ledger(_) => ProblemType::LedgerUnavailable,
            Error::Notify(_) => ProblemType::NotificationFailed,
            Error::Pki(_) | Error::Db(_) | Error::Io(_) | Error::Config(_) | Error::Internal(_) => {
                ProblemType::Internal
            }
        }
    }
}

/// The problem a vault error is; storage, master-key, evidence and integrity faults are
/// [`ProblemType::Internal`].
pub fn vault_problem(e: &affix_vault::Error) -> ProblemType {
    use affix_vault::Error as V;
    match e {
        V::Malformed { .. } | V::PasskeyRegistration(_) => ProblemType::InvalidInput,
        V::Unsupported(_) => ProblemType::Unsupported,
        V::TooLarge { .. } => ProblemType::TooLarge,
        V::KeyNotFound(_) | V::WalletNotFound(_) => ProblemType::KeyNotFound,
        V::CredentialNotFound(_) => ProblemType::CredentialNotFound,
        V::GrantNotFound(_) => ProblemType::GrantNotFound,
        V::RecoveryNotFound(_) => ProblemType::RecoveryNotFound,
        V::KeyDisabled(_) => ProblemType::KeyDisabled,
        V::AlreadyExists { .. } => ProblemType::AlreadyExists,
        V::RecoveryRefused(_) => ProblemType::RecoveryRefused,
        V::AuthorizationRefused(_) => ProblemType::AuthorizationRefused,
        V::RateLimited(_) => ProblemType::RateLimited,
        // The owner could not be told that a recovery starts: nothing started; later.
        V::Busy(_) | V::RecoveryNotNotified(_) => ProblemType::Busy,
        _ => ProblemType::Internal,
    }
}

fn contract_problem(e: &affix_contract::Error) -> ProblemType {
    use affix_contract::Error as C;
    match e {
        C::InvalidId { .. } | C::Malformed { .. } => ProblemType::InvalidInput,
        C::TooLarge { .. } => ProblemType::TooLarge,
        C::Expired { .. } => ProblemType::ContractExpired,
        C::NotYourTurn { .. } => ProblemType::NotYourTurn,
        C::AlreadySigned { .. } => ProblemType::AlreadySigned,
        C::IdentityNotVerified { .. } | C::PartyNotReady { .. } => ProblemType::WrongStep,
        C::ContractNotOpen { .. } => ProblemType::ContractNotOpen,
        C::WrongContentDigest => ProblemType::WrongContentDigest,
        C::IdentityMismatch { .. } => ProblemType::IdentityMismatch,
        C::UnknownParty { .. } | C::NotASigningParty { .. } | C::NotInitiator { .. } => {
            ProblemType::NotAllowedForParty
        }
        C::RateAboveLegalCap { .. } => ProblemType::RateAboveLegalCap,
        C::Overpayment => ProblemType::Overpayment,
        C::UnknownRepayment { .. } => ProblemType::NotFound,
        C::RepaymentNotPending { .. } => ProblemType::RepaymentDecided,
        C::LoanSettled { .. } => ProblemType::LoanSettled,
        C::RepaymentsPending { .. } => ProblemType::RepaymentsPending,
        C::InterestInArrears { .. } => ProblemType::InterestInArrears,
        C::ExtensionNotLater { .. } | C::NothingToExtend => ProblemType::ExtensionRefused,
        // The operator's LPR table does not cover the day: a configuration fault, not
        // the caller's.
        C::LprTableOutdated { .. } | C::NoLprInForce { .. } => ProblemType::LprTableOutdated,
        // An evidence record that cannot be encoded is a fault of ours.
        C::Evidence(_) => ProblemType::Internal,
        _ => ProblemType::ContractRefused,
    }
}

fn identity_problem(e: &affix_identity::Error) -> ProblemType {
    use affix_identity::Error as I;
    match e {
        I::OtpMismatch { .. } | I::OtpMalformedCode { .. } => ProblemType::WrongCode,
        I::OtpExpired => ProblemType::CodeExpired,
        I::OtpAlreadyUsed => ProblemType::CodeUsed,
        I::OtpAttemptsExhausted => ProblemType::CodeAttemptsExhausted,
        I::ResidentIdWrongLength { .. }
        | I::ResidentIdInvalidCharacter { .. }
        | I::ResidentIdChecksumMismatch { .. }
        | I::ResidentIdUnknownRegion { .. }
        | I::ResidentIdInvalidBirthDate
        | I::ResidentIdBirthDateInFuture => ProblemType::InvalidResidentId,
        I::MobileInvalidCharacter { .. }
        | I::MobileMisplacedSeparator { .. }
        | I::MobileNotMainland
        | I::MobileWrongLength { .. }
        | I::MobileInvalidPrefix => ProblemType::InvalidMobile,
        I::EmailAtSign | I::EmailInvalidLocalPart { .. } | I::EmailInvalidDomain { .. } => {
            ProblemType::InvalidEmail
        }
        _ => ProblemType::InvalidIdentity,
    }
}
