#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod content;
mod contract;
mod decimal;
mod error;
mod id;
mod loan;
mod lpr;
mod schedule;
mod template;

pub use content::{
    CONTENT_BYTES_MAX, CONTENT_DOMAIN, CONTENT_MAGIC, CONTENT_VERSION, ContractContent,
    DISPLAY_NAME_BYTES_MAX, PARTIES_MAX, Party, Role, SigningOrder,
};
pub use contract::{
    Actor, Contract, ContractEvent, ContractStatus, EVENT_BYTES_MAX, EVENT_DOMAIN, EVENT_MAGIC,
    EVENT_VERSION, EVENTS_MAX, EventKind, PartyStatus, SignatureEvidence, VerifiedChain,
    verify_chain,
};
pub use decimal::{DECIMAL_INTEGER_DIGITS_MAX, DECIMAL_SCALE_MAX, Decimal};
pub use error::{Error, FieldError, FieldProblem};
pub use id::{ContractId, ID_CHARS, PartyId, Sha256Digest, TemplateId};
pub use loan::{LoanNote, RepaymentMethod};
pub use lpr::{
    LPR_ENTRIES_MAX, LPR_TABLE_BYTES_MAX, LprEntry, LprTable, RATE_CAP_LPR_MULTIPLE, RATE_CAP_RULE,
    RateCap,
};
pub use schedule::{Instalment, SCHEDULE_DOMAIN, SCHEDULE_TEXT_HEADER, Schedule, TERM_MONTHS_MAX};
pub use template::{
    Currency, ENUM_OPTIONS_MAX, FIELD_NAME_BYTES_MAX, FIELD_VALUE_BYTES_MAX, FIELDS_MAX, FieldSpec,
    FieldType, GENERIC_CONTRACT_ID, LABEL_BYTES_MAX, LOAN_NOTE_ID, MONEY_YUAN_MAX,
    REPAYMENT_METHODS, TEMPLATE_BODY_BYTES_MAX, Template, ValidatedFields,
};
