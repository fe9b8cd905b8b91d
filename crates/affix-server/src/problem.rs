//! RFC 9457 problems: every error of the API, platform and vault alike, is one
//! [`Problem`] of a [`ProblemType`], served as `application/problem+json` with the
//! status [`status`] gives its type.

use affix_platform::{Error, ProblemType};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The base of every problem type URI.
pub const PROBLEM_TYPE_BASE: &str = "https://affix.dev/problems/";

/// The HTTP status of each problem type.
pub fn status(kind: ProblemType) -> StatusCode {
    use ProblemType as P;
    match kind {
        P::InvalidJson
        | P::InvalidQuery
        | P::InvalidInput
        | P::InvalidIdempotencyKey
        | P::Unsupported => StatusCode::BAD_REQUEST,
        P::Unauthenticated => StatusCode::UNAUTHORIZED,
        P::Forbidden | P::NotAllowedForParty | P::IdentityMismatch | P::AuthorizationRefused => {
            StatusCode::FORBIDDEN
        }
        P::NotFound
        | P::KeyNotFound
        | P::CredentialNotFound
        | P::GrantNotFound
        | P::RecoveryNotFound => StatusCode::NOT_FOUND,
        P::NotYourTurn
        | P::AlreadySigned
        | P::WrongStep
        | P::ContractNotOpen
        | P::ContractFinal
        | P::WrongContentDigest
        | P::ConcurrentChange
        | P::NoCode
        | P::CodeUsed
        | P::NotEnrolled
        | P::DeviceMismatch
        | P::NoPasskey
        | P::NotPrepared
        | P::NoSignatureImage
        | P::NotSealHolder
        | P::SealHolderSet
        | P::RepaymentDecided
        | P::LoanSettled
        | P::RepaymentsPending
        | P::InterestInArrears
        | P::AcknowledgementRequested
        | P::TooManyWebhooks
        | P::IdempotencyKeyInFlight
        | P::ReplayUnavailable
        | P::KeyDisabled
        | P::AlreadyExists
        | P::RecoveryRefused
        | P::CaExists
        | P::TsaExists
        | P::AlreadyRevoked => StatusCode::CONFLICT,
        P::Expired | P::ContractExpired | P::CodeExpired | P::InviteSpent => StatusCode::GONE,
        P::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        P::WrongContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        P::InvalidFields
        | P::InvalidName
        | P::InvalidRole
        | P::InvalidResidentId
        | P::InvalidMobile
        | P::InvalidEmail
        | P::InvalidIdentity
        | P::InvalidSigningOrder
        | P::InvalidExpiry
        | P::InvalidCursor
        | P::InvalidStatus
        | P::InvalidLimit
        | P::InvalidDate
        | P::InvalidAmount
        | P::InvalidRate
        | P::InvalidRepaymentMethod
        | P::InvalidDigest
        | P::InvalidImage
        | P::InvalidDeviceKey
        | P::InvalidSignature
        | P::InvalidCreditCode
        | P::InvalidWebhookUrl
        | P::UnknownTemplate
        | P::TooFewParties
        | P::DuplicateParty
        | P::MissingDocument
        | P::UnexpectedDocument
        | P::InvalidPdf
        | P::UnexpectedRules
        | P::MissingDeviceKey
        | P::MissingSignerName
        | P::WrongCode
        | P::RateAboveLegalCap
        | P::Overpayment
        | P::ExtensionRefused
        | P::ContractRefused
        | P::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        P::RateLimited | P::CodeAttemptsExhausted => StatusCode::TOO_MANY_REQUESTS,
        // Not 429: waiting does not help, only a new invite from the sender does.
        P::IdentityLocked => StatusCode::LOCKED,
        P::NotificationFailed => StatusCode::BAD_GATEWAY,
        P::Busy | P::ReceiptsPending | P::LedgerUnavailable | P::LprTableOutdated => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        P::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as an HTTP answer.
#[derive(Debug)]
pub struct Problem {
    kind: ProblemType,
    detail: String,
    errors: Option<Vec<FieldProblem>>,
    retry_after_s: Option<u64>,
}

/// The body of a problem (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `https://affix.dev/problems/<name>`.
    #[serde(rename = "type")]
    kind: String,
    /// The name, in words.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What happened, for a person.
    detail: String,
    /// `invalid-fields` only: each field refused and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldProblem>>,
}

/// One field a contract template refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field.
    field: String,
    /// Why.
    problem: String,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        let retry_after_s = match kind {
            ProblemType::Busy | ProblemType::ReceiptsPending => Some(1),
            _ => None,
        };
        Self {
            kind,
            detail: detail.into(),
            errors: None,
            retry_after_s,
        }
    }

    /// Answers with `Retry-After: seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// The problem's type.
    pub fn kind(&self) -> ProblemType {
        self.kind
    }

    /// A fault of ours: logged with `what`, shown without detail.
    pub fn internal(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(ProblemType::Internal, "internal error; see the server log")
    }

    /// The body, for tests and for storing the answer.
    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: format!("{PROBLEM_TYPE_BASE}{}", self.kind.name()),
            title: self.kind.name().replace('-', " "),
            status: status(self.kind).as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let kind = e.problem_type();
        if kind == ProblemType::Internal {
            return Problem::internal(&e);
        }
        let mut problem = Problem::new(kind, e.to_string());
        match e {
            Error::Fields(fields) => {
                problem.errors = Some(
                    fields
                        .iter()
                        .map(|f| FieldProblem {
                            field: f.field.clone(),
                            problem: format!("{:?}", f.problem),
                        })
                        .collect(),
                );
            }
            Error::RateLimited { retry_after_s } => problem.retry_after_s = Some(retry_after_s),
            _ => {}
        }
        problem
    }
}

impl From<affix_vault::Error> for Problem {
    fn from(e: affix_vault::Error) -> Self {
        let kind = affix_platform::vault_problem(&e);
        if kind == ProblemType::Internal {
            return Problem::internal(&e);
        }
        Problem::new(kind, e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = status(self.kind);
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_has_an_error_status() {
        for kind in ProblemType::ALL {
            let s = status(*kind);
            assert!(s.is_client_error() || s.is_server_error(), "{kind:?} {s}");
        }
    }
}
