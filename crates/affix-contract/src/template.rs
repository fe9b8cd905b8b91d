//! Templates with typed fields, field validation, and the two built-in templates.

use std::collections::BTreeMap;

use affix_identity::{EmailAddress, MobileNumber, ResidentId};
use affix_time::Date;

use crate::{Decimal, Error, FieldError, FieldProblem, Sha256Digest, TemplateId};

/// Fields a template may have (and values a contract may hold).
pub const FIELDS_MAX: usize = 128;
/// Bytes of a field name: `[a-z0-9_]{1,64}`, starting with a letter.
pub const FIELD_NAME_BYTES_MAX: usize = 64;
/// Bytes of one field value, as sent and as canonicalized.
pub const FIELD_VALUE_BYTES_MAX: usize = 4096;
/// Bytes of a template title, a field label or an enumeration option.
pub const LABEL_BYTES_MAX: usize = 256;
/// Bytes of a template body.
pub const TEMPLATE_BODY_BYTES_MAX: usize = 256 * 1024;
/// Options of an enumeration field.
pub const ENUM_OPTIONS_MAX: usize = 64;
/// The largest money amount, in yuan (10^13 − 0.01: ten trillion).
pub const MONEY_YUAN_MAX: u64 = 9_999_999_999_999;

/// A currency of a money field. Only the renminbi for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Currency {
    /// Renminbi (ISO 4217 `CNY`), two decimal places (fen).
    Cny,
}

impl Currency {
    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Cny => "CNY",
        }
    }
}

/// The type of a field, and so its validation rule and canonical form.
///
/// | type | accepted text | canonical value |
/// | --- | --- | --- |
/// | `Text` | any text without control characters (`\n` allowed if `multiline`), at most `max_chars` characters | unchanged |
/// | `Integer` | optional `-`, digits, in `min..=max` | no leading zeros (`007` → `7`) |
/// | `Decimal` | [`Decimal`] text, at most `scale` fraction digits, in `min..=max` | exactly `scale` fraction digits |
/// | `Date` | `YYYY-MM-DD`, a calendar date | unchanged |
/// | `Enum` | exactly one of `options` | unchanged |
/// | `Phone` | what [`MobileNumber::parse`] accepts | E.164, `+8613812345678` |
/// | `ResidentId` | what [`ResidentId::parse`] accepts | 18 characters, `X` uppercase |
/// | `Email` | what [`EmailAddress::parse`] accepts | its normalized address |
/// | `Money` | decimal (optionally after `CNY `), at most 2 fraction digits, above 0, at most [`MONEY_YUAN_MAX`] | `CNY 10000.00` |
/// | `Sha256` | 64 hex digits | lowercase |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// Free text.
    Text {
        /// Most characters (Unicode scalar values) allowed.
        max_chars: u32,
        /// Whether `\n` is allowed.
        multiline: bool,
    },
    /// A whole number.
    Integer {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// An exact decimal number (percentages, rates).
    Decimal {
        /// Fraction digits of the canonical form (at most 18).
        scale: u8,
        /// Smallest value allowed.
        min: Decimal,
        /// Largest value allowed.
        max: Decimal,
    },
    /// A calendar date.
    Date,
    /// One of a fixed list of options (`[a-z0-9_]` tokens).
    Enum {
        /// The options, in display order.
        options: Vec<String>,
    },
    /// A mainland China mobile number.
    Phone,
    /// A PRC resident identity number (GB 11643).
    ResidentId,
    /// An e-mail address.
    Email,
    /// An amount of money.
    Money {
        /// Its currency.
        currency: Currency,
    },
    /// A SHA-256 digest, in hex (of an uploaded document).
    Sha256,
}

/// One field of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    name: String,
    label: String,
    field_type: FieldType,
    required: bool,
}

impl FieldSpec {
    /// A field; [`Template::new`] checks the name, label and type.
    pub fn new(name: &str, label: &str, field_type: FieldType, required: bool) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            field_type,
            required,
        }
    }

    /// The field name (`[a-z][a-z0-9_]*`, at most [`FIELD_NAME_BYTES_MAX`] bytes): the
    /// key of its value.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label shown to people.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The type.
    pub fn field_type(&self) -> &FieldType {
        &self.field_type
    }

    /// Whether a value is required.
    pub fn required(&self) -> bool {
        self.required
    }
}

/// A contract template: typed fields and a body text. Immutable; a change is a new
/// version. Built by [`Template::new`], which checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    id: TemplateId,
    version: u32,
    title: String,
    fields: Vec<FieldSpec>,
    body: String,
}

/// Field values that passed [`Template::parse`] (or [`Template::validate`]): canonical
/// text per field name (absent optional fields are left out), and the template they
/// passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedFields {
    template: TemplateId,
    template_version: u32,
    template_body_digest: Sha256Digest,
    values: BTreeMap<String, String>,
    /// The fields holding resident ID numbers, whose birth dates
    /// [`ValidatedFields::check_dates`] compares with today.
    resident_id_fields: Vec<String>,
}

impl ValidatedFields {
    /// The template the values passed.
    pub fn template(&self) -> TemplateId {
        self.template
    }

    /// Its version.
    pub fn template_version(&self) -> u32 {
        self.template_version
    }

    /// SHA-256 of its body.
    pub fn template_body_digest(&self) -> Sha256Digest {
        self.template_body_digest
    }

    /// The canonical value of a field, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All values, sorted by field name.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The creation-time policy that needs a clock: no resident ID number may have a
    /// birth date after `today` (take it from [`Date::from_unix_ms_china`]).
    /// [`Error::FieldsInvalid`] lists each such field (sorted by name) with
    /// [`affix_identity::Error::ResidentIdBirthDateInFuture`].
    pub fn check_dates(&self, today: Date) -> Result<(), Error> {
        let mut errors = Vec::new();
        for name in &self.resident_id_fields {
            let problem = match self.values.get(name).map(|v| ResidentId::parse_undated(v)) {
                // Not given (optional), or accepted by `parse_undated` when the fields
                // were parsed: only the date check is left.
                None => continue,
                Some(Ok(id)) => match id.check_born_by(today) {
                    Ok(()) => continue,
                    Err(e) => FieldProblem::Identity(e),
                },
                Some(Err(e)) => FieldProblem::Identity(e),
            };
            errors.push(FieldError {
                field: name.clone(),
                problem,
            });
        }
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Err(Error::FieldsInvalid { errors })
    }
}

impl Template {
    /// A template, checked: at most [`FIELDS_MAX`] fields with unique, well-formed
    /// names; labels and title within [`LABEL_BYTES_MAX`]; body within
    /// [`TEMPLATE_BODY_BYTES_MAX`]; every type's parameters consistent.
    pub fn new(
        id: TemplateId,
        version: u32,
        title: &str,
        fields: Vec<FieldSpec>,
        body: &str,
    ) -> Result<Self, Error> {
        let bad = |reason| Err(Error::InvalidTemplate { reason });
        if title.is_empty() || title.len() > LABEL_BYTES_MAX || title.chars().any(char::is_control)
        {
            return bad("title empty, too long or with control characters");
        }
        if body.len() > TEMPLATE_BODY_BYTES_MAX {
            return bad("body too long");
        }
        if fields.is_empty() || fields.len() > FIELDS_MAX {
            return bad("no fields, or too many");
        }
        let mut names = std::collections::BTreeSet::new();
        for field in &fields {
            if !is_field_name(&field.name) {
                return bad("field name not [a-z][a-z0-9_]{0,63}");
            }
            if !names.insert(field.name.as_str()) {
                return bad("duplicate field name");
            }
            if field.label.is_empty()
                || field.label.len() > LABEL_BYTES_MAX
                || field.label.chars().any(char::is_control)
            {
                return bad("field label empty, too long or with control characters");
            }
            match &field.field_type {
                FieldType::Text { max_chars, .. } => {
                    if *max_chars == 0 || *max_chars as usize > FIELD_VALUE_BYTES_MAX {
                        return bad("text max_chars not in 1..=4096");
                    }
                }
                FieldType::Integer { min, max } => {
                    if min > max {
                        return bad("integer min above max");
                    }
                }
                FieldType::Decimal { scale, min, max } => {
                    if *scale > crate::DECIMAL_SCALE_MAX
                        || min > max
                        || min.with_scale(*scale).is_none()
                        || max.with_scale(*scale).is_none()
                    {
                        return bad(
                            "decimal scale above 18, bounds finer than it, or min above max",
                        );
                    }
                }
                FieldType::Enum { options } => {
                    let unique: std::collections::BTreeSet<_> = options.iter().collect();
                    if options.is_empty()
                        || options.len() > ENUM_OPTIONS_MAX
                        || unique.len() != options.len()
                        || !options.iter().all(|o| is_field_name(o))
                    {
                        return bad("enum options empty, too many, duplicated or not tokens");
                    }
                }
                FieldType::Date
                | FieldType::Phone
                | FieldType::ResidentId
                | FieldType::Email
                | FieldType::Money { .. }
                | FieldType::Sha256 => {}
            }
        }
        Ok(Self {
            id,
            version,
            title: title.to_owned(),
            fields,
            body: body.to_owned(),
        })
    }

    /// The template's identifier.
    pub fn id(&self) -> TemplateId {
        self.id
    }

    /// Its version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Its title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Its fields, in display order.
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    /// Its body text (rendering it with the values is the server's concern; the content
    /// digest binds the body through [`Template::body_digest`]).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// SHA-256 of the body's UTF-8 bytes.
    pub fn body_digest(&self) -> Sha256Digest {
        use sha2::Digest as _;
        Sha256Digest::from_bytes(sha2::Sha256::digest(self.body.as_bytes()).into())
    }

    /// Parses `values` (field name → text as typed) against the fields and returns
    /// their canonical forms. An empty string counts as absent. Pure: nothing here
    /// depends on the date, so an offline verifier re-parsing a signed contract's fields
    /// gets the answer the platform got. The one check that needs a clock (no resident
    /// ID born after today) is [`ValidatedFields::check_dates`]; new input goes through
    /// [`Template::validate`], which does both.
    ///
    /// Every problem is reported: [`Error::FieldsInvalid`] lists each failing field
    /// (sorted by name): missing required fields, unknown fields, and values that fail
    /// their type. Oversized input ([`FIELDS_MAX`] entries, [`FIELD_VALUE_BYTES_MAX`]
    /// bytes per value) is refused first, as [`Error::TooLarge`].
    pub fn parse(&self, values: &BTreeMap<String, String>) -> Result<ValidatedFields, Error> {
        self.check(values, None)
    }

    /// [`Template::parse`] and [`ValidatedFields::check_dates`]`(today)` in one pass,
    /// for new input: every problem of both is listed in one [`Error::FieldsInvalid`].
    pub fn validate(
        &self,
        values: &BTreeMap<String, String>,
        today: Date,
    ) -> Result<ValidatedFields, Error> {
        self.check(values, Some(today))
    }

    /// The parse, with the date check when `today` is given.
    fn check(
        &self,
        values: &BTreeMap<String, String>,
        today: Option<Date>,
    ) -> Result<ValidatedFields, Error> {
        if values.len() > FIELDS_MAX {
            return Err(Error::TooLarge {
                what: "field count",
                actual: values.len(),
                limit: FIELDS_MAX,
            });
        }
        if let Some(v) = values.values().find(|v| v.len() > FIELD_VALUE_BYTES_MAX) {
            return Err(Error::TooLarge {
                what: "field value bytes",
                actual: v.len(),
                limit: FIELD_VALUE_BYTES_MAX,
            });
        }
        let mut errors = Vec::new();
        let mut canonical = BTreeMap::new();
        for name in values.keys() {
            if !self.fields.iter().any(|f| &f.name == name) {
                errors.push(FieldError {
                    field: truncate(name, FIELD_NAME_BYTES_MAX),
                    problem: FieldProblem::Unknown,
                });
            }
        }
        for field in &self.fields {
            match values.get(&field.name).filter(|v| !v.is_empty()) {
                None if field.required => errors.push(FieldError {
                    field: field.name.clone(),
                    problem: FieldProblem::Missing,
                }),
                None => {}
                Some(text) => match canonicalize(&field.field_type, text, today) {
                    Ok(value) => {
                        canonical.insert(field.name.clone(), value);
                    }
                    Err(problem) => errors.push(FieldError {
                        field: field.name.clone(),
                        problem,
                    }),
                },
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(Error::FieldsInvalid { errors });
        }
        Ok(ValidatedFields {
            template: self.id,
            template_version: self.version,
            template_body_digest: self.body_digest(),
            values: canonical,
            resident_id_fields: self
                .fields
                .iter()
                .filter(|f| f.field_type == FieldType::ResidentId)
                .map(|f| f.name.clone())
                .collect(),
        })
    }

    /// The generic contract: an uploaded document, identified by its SHA-256 digest.
    /// Fields `title` (required), `document_sha256` (required) and `description`.
    pub fn generic_contract() -> Self {
        let fields = vec![
            FieldSpec::new(
                "title",
                "Title",
                FieldType::Text {
                    max_chars: 200,
                    multiline: false,
                },
                true,
            ),
            FieldSpec::new(
                "document_sha256",
                "Document SHA-256",
                FieldType::Sha256,
                true,
            ),
            FieldSpec::new(
                "description",
                "Description",
                FieldType::Text {
                    max_chars: 2000,
                    multiline: true,
                },
                false,
            ),
        ];
        Self::new(
            GENERIC_CONTRACT_ID,
            1,
            "Contract",
            fields,
            "The parties agree to the document whose SHA-256 digest is {document_sha256}.\n",
        )
        // The built-in fields above satisfy every rule of `Template::new` (unit test
        // `built_in_templates_are_valid`).
        .expect("built-in template is valid")
    }

    /// The loan note (借条): lender, borrower, principal, annual rate, start date, term,
    /// repayment method, purpose. The legal rate cap and the repayment schedule are not
    /// checked here (they need a date and an LPR table): take the validated fields to
    /// [`crate::LoanNote::from_fields`], then
    /// [`check_rate_cap`](crate::LoanNote::check_rate_cap) and
    /// [`schedule`](crate::LoanNote::schedule).
    fn loan_note_fields() -> Vec<FieldSpec> {
        let name = |max_chars| FieldType::Text {
            max_chars,
            multiline: false,
        };
        vec![
            FieldSpec::new("lender", "出借人 Lender", name(100), true),
            FieldSpec::new("borrower", "借款人 Borrower", name(100), true),
            FieldSpec::new(
                "principal",
                "借款本金 Principal",
                FieldType::Money {
                    currency: Currency::Cny,
                },
                true,
            ),
            FieldSpec::new(
                "annual_rate_percent",
                "年利率 Annual rate (%)",
                FieldType::Decimal {
                    scale: 2,
                    min: Decimal::ZERO,
                    max: Decimal::from_u64(100),
                },
                true,
            ),
            FieldSpec::new("start_date", "借款日期 Start date", FieldType::Date, true),
            FieldSpec::new(
                "term_months",
                "借款期限（月） Term (months)",
                FieldType::Integer { min: 1, max: 360 },
                true,
            ),
            FieldSpec::new(
                "repayment_method",
                "还款方式 Repayment method",
                FieldType::Enum {
                    options: crate::RepaymentMethod::ALL
                        .iter()
                        .map(|m| m.as_str().to_owned())
                        .collect(),
                },
                true,
            ),
            FieldSpec::new("purpose", "借款用途 Purpose", name(500), false),
        ]
    }

    /// The loan note as first published (`affix.loannote.1`, version 1): the terms, no
    /// digest of the loan terms. Contracts made with it still decode and verify; new
    /// ones use [`Template::loan_note`].
    pub fn loan_note_v1() -> Self {
        Self::new(
            LOAN_NOTE_V1_ID,
            1,
            "借条 Loan note",
            Self::loan_note_fields(),
            "今借到{lender}人民币{principal}，年利率{annual_rate_percent}%，\
             自{start_date}起{term_months}个月，还款方式：{repayment_method}。借款人：{borrower}\n",
        )
        // As above: checked by `built_in_templates_are_valid`.
        .expect("built-in template is valid")
    }

    /// The loan note (`affix.loannote.2`, version 2): the terms of version 1 and
    /// `loan_terms_sha256`, the digest of the loan terms (`affix-loan-terms v1`: the
    /// repayment schedule and the automation rules), which the platform fills in so
    /// that both parties sign the schedule and the rules with the note.
    pub fn loan_note() -> Self {
        let mut fields = Self::loan_note_fields();
        fields.push(FieldSpec::new(
            "loan_terms_sha256",
            "还款计划与自动规则摘要 Loan terms digest (schedule and rules)",
            FieldType::Sha256,
            false,
        ));
        Self::new(
            LOAN_NOTE_ID,
            2,
            "借条 Loan note",
            fields,
            "今借到{lender}人民币{principal}，年利率{annual_rate_percent}%，\
             自{start_date}起{term_months}个月，还款方式：{repayment_method}。借款人：{borrower}\n\
             还款计划与自动规则（摘要）：{loan_terms_sha256}\n",
        )
        // As above: checked by `built_in_templates_are_valid`.
        .expect("built-in template is valid")
    }
}

/// The generic contract template's id: the ASCII bytes `affix.generic.v1`.
pub const GENERIC_CONTRACT_ID: TemplateId = TemplateId::from_bytes(*b"affix.generic.v1");
/// The loan note template's id: the ASCII bytes `affix.loannote.2`.
pub const LOAN_NOTE_ID: TemplateId = TemplateId::from_bytes(*b"affix.loannote.2");
/// The first loan note template's id: the ASCII bytes `affix.loannote.1`.
pub const LOAN_NOTE_V1_ID: TemplateId = TemplateId::from_bytes(*b"affix.loannote.1");

/// `[a-z][a-z0-9_]*`, at most [`FIELD_NAME_BYTES_MAX`] bytes.
pub(crate) fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= FIELD_NAME_BYTES_MAX
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn truncate(text: &str, max_bytes: usize) -> String {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The canonical form of one value of type `field_type`, or what is wrong with it;
/// resident ID numbers are checked against `today` when it is given.
fn canonicalize(
    field_type: &FieldType,
    text: &str,
    today: Option<Date>,
) -> Result<String, FieldProblem> {
    match field_type {
        FieldType::Text {
            max_chars,
            multiline,
        } => {
            if text
                .chars()
                .any(|c| c.is_control() && !(*multiline && c == '\n'))
            {
                return Err(FieldProblem::ControlCharacter);
            }
            if text.chars().count() > *max_chars as usize {
                return Err(FieldProblem::TooLong {
                    max_chars: *max_chars,
                });
            }
            Ok(text.to_owned())
        }
        FieldType::Integer { min, max } => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(FieldProblem::NotAnInteger);
            }
            let value: i64 = text.parse().map_err(|_| FieldProblem::NotAnInteger)?;
            if value < *min || value > *max {
                return Err(FieldProblem::OutOfRange);
            }
            Ok(value.to_string())
        }
        FieldType::Decimal { scale, min, max } => {
            let value = Decimal::parse(text)
                .and_then(|d| d.with_scale(*scale))
                .ok_or(FieldProblem::NotADecimal)?;
            if value < *min || value > *max {
                return Err(FieldProblem::OutOfRange);
            }
            Ok(value.to_string())
        }
        FieldType::Date => parse_date(text)
            .map(|d| d.to_string())
            .ok_or(FieldProblem::NotADate),
        FieldType::Enum { options } => options
            .iter()
            .find(|o| o.as_str() == text)
            .cloned()
            .ok_or(FieldProblem::NotAnOption),
        FieldType::Phone => MobileNumber::parse(text)
            .map(|m| m.expose_e164())
            .map_err(FieldProblem::Identity),
        FieldType::ResidentId => {
            let id = ResidentId::parse_undated(text).map_err(FieldProblem::Identity)?;
            if let Some(today) = today {
                id.check_born_by(today).map_err(FieldProblem::Identity)?;
            }
            Ok(id.expose_number().to_owned())
        }
        FieldType::Email => EmailAddress::parse(text)
            .map(|e| e.expose_address().to_owned())
            .map_err(FieldProblem::Identity),
        FieldType::Money { currency } => {
            // The canonical form (`CNY 10000.00`) is accepted too: validation is
            // idempotent.
            let amount = text
                .strip_prefix(currency.code())
                .and_then(|t| t.strip_prefix(' '))
                .unwrap_or(text);
            let value = Decimal::parse(amount)
                .and_then(|d| d.with_scale(2))
                .ok_or(FieldProblem::NotADecimal)?;
            if value <= Decimal::ZERO || value > Decimal::from_u64(MONEY_YUAN_MAX) {
                return Err(FieldProblem::OutOfRange);
            }
            Ok(format!("{} {value}", currency.code()))
        }
        FieldType::Sha256 => Sha256Digest::parse_hex(text)
            .map(|d| d.to_string())
            .map_err(|_| FieldProblem::NotADigest),
    }
}

/// `YYYY-MM-DD`, exactly 10 characters, a calendar date ([`Date::parse`]).
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_are_valid() {
        let generic = Template::generic_contract();
        assert_eq!(generic.fields().len(), 3);
        let loan = Template::loan_note_v1();
        assert_eq!(loan.fields().len(), 8);
        assert_eq!(loan.id().to_string(), "61666669782e6c6f616e6e6f74652e31");
        let loan = Template::loan_note();
        assert_eq!(loan.fields().len(), 9);
        assert_eq!(loan.id().to_string(), "61666669782e6c6f616e6e6f74652e32");
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-02-28").is_some());
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2026-2-28").is_none());
        assert!(parse_date("+026-02-28").is_none());
        assert!(parse_date("2026-02-2８").is_none());
    }
}
