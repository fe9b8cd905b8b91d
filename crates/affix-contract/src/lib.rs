#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod automation;
mod codec;
mod content;
mod contract;
mod days;
mod decimal;
mod error;
mod id;
mod json;
mod loan;
mod lpr;
mod rules;
mod schedule;
mod signature_image;
mod template;

pub use automation::{ACTION_KEY_DOMAIN, ActionCause, DueAction, IdempotencyKey};
pub use content::{
    CONTENT_BYTES_MAX, CONTENT_DOMAIN, CONTENT_MAGIC, CONTENT_VERSION, ContractContent,
    DISPLAY_NAME_BYTES_MAX, PARTIES_MAX, Party, Role, SigningOrder,
};
pub use contract::{
    Actor, Contract, ContractEvent, ContractStatus, EVENT_BYTES_MAX, EVENT_DOMAIN, EVENT_MAGIC,
    EVENT_VERSION, EVENTS_MAX, EventKind, PartyStatus, SignatureEvidence, VerifiedChain,
    verify_chain,
};
pub use days::{add_days, parse_day};
pub use decimal::{DECIMAL_INTEGER_DIGITS_MAX, DECIMAL_SCALE_MAX, Decimal};
pub use error::{Error, FieldError, FieldProblem};
pub use id::{ContractId, ID_CHARS, PartyId, Sha256Digest, TemplateId};
pub use loan::{
    ACKNOWLEDGEMENT_DOMAIN, ACKNOWLEDGEMENT_HEADER, Addendum, Allocation, BackingDocument,
    DocumentKind, EXTENSION_DOMAIN, EXTENSION_HEADER, EXTENSIONS_MAX, ExtensionTerms,
    InstalmentBalance, LOAN_EVENT_DOMAIN, LOAN_EVENT_HEADER, LOAN_EVENT_TEXT_BYTES_MAX,
    LOAN_EVENTS_MAX, LOAN_TERMS_DOMAIN, LOAN_TERMS_HEADER, LoanBook, LoanEvent, LoanEventKind,
    LoanNote, LoanTerms, REPAYMENTS_MAX, Repayment, RepaymentAcknowledgement, RepaymentId,
    RepaymentMethod, RepaymentStatus,
};
pub use lpr::{
    LPR_ENTRIES_MAX, LPR_TABLE_BYTES_MAX, LprEntry, LprTable, RATE_CAP_LPR_MULTIPLE, RATE_CAP_RULE,
    RateCap,
};
pub use rules::{
    Action, CONDITIONS_MAX, Condition, DEFAULT_GRACE_DAYS, DUE_OFFSET_DAYS_MAX, EventTrigger,
    EvidenceLabel, GRACE_DAYS_MAX, LoanStatus, MessageKind, OVERDUE_OFFSET_DAYS_MAX,
    RULE_ID_BYTES_MAX, RULES_DOMAIN, RULES_JSON_BYTES_MAX, RULES_JSON_FORMAT, RULES_MAX,
    RULES_TEXT_HEADER, Recipient, Rule, RuleId, RuleSet, StatusSet, Trigger,
};
pub use schedule::{Instalment, SCHEDULE_DOMAIN, SCHEDULE_TEXT_HEADER, Schedule, TERM_MONTHS_MAX};
pub use signature_image::{
    ImageProblem, SIGNATURE_IMAGE_BYTES_MAX, SIGNATURE_IMAGE_CHUNKS_MAX,
    SIGNATURE_IMAGE_DECODED_BYTES_MAX, SIGNATURE_IMAGE_HEIGHT_MAX, SIGNATURE_IMAGE_WIDTH_MAX,
    SignatureImage,
};
pub use template::{
    Currency, ENUM_OPTIONS_MAX, FIELD_NAME_BYTES_MAX, FIELD_VALUE_BYTES_MAX, FIELDS_MAX, FieldSpec,
    FieldType, GENERIC_CONTRACT_ID, LABEL_BYTES_MAX, LOAN_NOTE_ID, LOAN_NOTE_V1_ID, MONEY_YUAN_MAX,
    TEMPLATE_BODY_BYTES_MAX, Template, ValidatedFields,
};
