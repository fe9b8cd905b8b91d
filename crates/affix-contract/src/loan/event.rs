//! A loan event: one step of a loan's hash chain, its text codec (loan event text v1)
//! and its evidence record.

use core::fmt::Write as _;

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_time::Date;

use super::domain_digest;
use crate::rules::EventTrigger;
use crate::{Allocation, ContractId, Decimal, Error, ExtensionTerms, RepaymentId, Sha256Digest};

/// The first line of loan event text v1.
pub const LOAN_EVENT_HEADER: &str = "affix-loan-event v1";
/// Domain separation of [`LoanEvent::digest`].
pub const LOAN_EVENT_DOMAIN: &[u8] = b"affix.dev/contract/loan-event/v1\0";
/// Bytes of one loan event text ([`LoanEvent::parse`] refuses larger input first).
pub const LOAN_EVENT_TEXT_BYTES_MAX: usize = 64 * 1024;

/// What happened to a loan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoanEventKind {
    /// The borrower reported a repayment.
    RepaymentReported {
        /// Its id.
        repayment: RepaymentId,
        /// The amount, yuan.
        amount_yuan: Decimal,
        /// The day paid.
        paid_on: Date,
        /// Digest of the attached transfer proof (written `proof` in the text and the
        /// evidence record: frozen wire names).
        transfer_proof: Option<Sha256Digest>,
    },
    /// The lender confirmed a repayment; it was allocated.
    RepaymentConfirmed {
        /// Its id.
        repayment: RepaymentId,
        /// The amount, yuan.
        amount_yuan: Decimal,
        /// Where it went, instalment by instalment.
        allocations: Vec<Allocation>,
        /// What is still owed afterwards, yuan.
        outstanding_yuan: Decimal,
    },
    /// The lender disputed a repayment.
    RepaymentDisputed {
        /// Its id.
        repayment: RepaymentId,
        /// Digest of the lender's statement, if any.
        statement: Option<Sha256Digest>,
    },
    /// An extension took effect.
    Extended {
        /// Its number.
        extension: u16,
        /// The digest both parties signed.
        addendum: Sha256Digest,
        /// The day it was proposed (what [`LoanBook::propose_extension`](crate::LoanBook::propose_extension) was given).
        proposed_on: Date,
        /// The terms it was proposed with.
        terms: ExtensionTerms,
        /// The new maturity.
        new_maturity: Date,
    },
    /// Nothing is owed any more (结清).
    Settled,
}

impl LoanEventKind {
    /// `repayment_reported`, `repayment_confirmed`, `repayment_disputed`, `extended`,
    /// `settled` (the names of the rule triggers).
    pub fn as_str(&self) -> &'static str {
        self.trigger().as_str()
    }

    /// The rule trigger this event fires.
    pub fn trigger(&self) -> EventTrigger {
        match self {
            Self::RepaymentReported { .. } => EventTrigger::RepaymentReported,
            Self::RepaymentConfirmed { .. } => EventTrigger::RepaymentConfirmed,
            Self::RepaymentDisputed { .. } => EventTrigger::RepaymentDisputed,
            Self::Extended { .. } => EventTrigger::Extended,
            Self::Settled => EventTrigger::Settled,
        }
    }
}

/// One step in a loan's life, chained to the previous one by digest (the first to
/// [`LoanTerms::digest`](crate::LoanTerms::digest)): what the platform records as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanEvent {
    pub(super) contract_id: ContractId,
    pub(super) seq: u32,
    pub(super) date: Date,
    pub(super) kind: LoanEventKind,
    pub(super) prev: Sha256Digest,
}

impl LoanEvent {
    /// The contract.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// Position in the loan's chain, from 0.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The day it happened.
    pub fn date(&self) -> Date {
        self.date
    }

    /// What happened.
    pub fn kind(&self) -> &LoanEventKind {
        &self.kind
    }

    /// The previous event's digest ([`LoanTerms::digest`](crate::LoanTerms::digest) for event 0).
    pub fn prev(&self) -> Sha256Digest {
        self.prev
    }

    /// Loan event text v1: `affix-loan-event v1`, `contract_id`, `seq`, `date`, `kind`,
    /// the kind's lines, `prev`; one `key value` a line, amounts in yuan at scale 2,
    /// absent digests as `none`. The kinds' lines:
    ///
    /// - `repayment_reported`: `repayment N`, `amount_yuan`, `paid_on`, `proof`;
    /// - `repayment_confirmed`: `repayment N`, `amount_yuan`, one
    ///   `allocation INSTALMENT INTEREST PRINCIPAL` per instalment, `outstanding_yuan`;
    /// - `repayment_disputed`: `repayment N`, `statement`;
    /// - `extended`: `extension N`, `addendum`, `proposed_on`, `annual_rate_percent`
    ///   (scale 2), `term_months`, `repayment_method`, `new_maturity` (what a replay
    ///   needs to recompute the addendum);
    /// - `settled`: none.
    pub fn canonical_text(&self) -> String {
        let mut t = format!(
            "{LOAN_EVENT_HEADER}\ncontract_id {}\nseq {}\ndate {}\nkind {}\n",
            self.contract_id,
            self.seq,
            self.date,
            self.kind.as_str()
        );
        let digest_or_none =
            |d: &Option<Sha256Digest>| d.map_or("none".to_owned(), |d| d.to_string());
        // Writing to a String cannot fail.
        match &self.kind {
            LoanEventKind::RepaymentReported {
                repayment,
                amount_yuan,
                paid_on,
                transfer_proof,
            } => {
                let _ = write!(
                    t,
                    "repayment {repayment}\namount_yuan {amount_yuan}\npaid_on {paid_on}\nproof {}\n",
                    digest_or_none(transfer_proof)
                );
            }
            LoanEventKind::RepaymentConfirmed {
                repayment,
                amount_yuan,
                allocations,
                outstanding_yuan,
            } => {
                let _ = write!(t, "repayment {repayment}\namount_yuan {amount_yuan}\n");
                for a in allocations {
                    let _ = writeln!(
                        t,
                        "allocation {} {} {}",
                        a.instalment, a.interest_yuan, a.principal_yuan
                    );
                }
                let _ = writeln!(t, "outstanding_yuan {outstanding_yuan}");
            }
            LoanEventKind::RepaymentDisputed {
                repayment,
                statement,
            } => {
                let _ = write!(
                    t,
                    "repayment {repayment}\nstatement {}\n",
                    digest_or_none(statement)
                );
            }
            LoanEventKind::Extended {
                extension,
                addendum,
                proposed_on,
                terms,
                new_maturity,
            } => {
                let _ = write!(
                    t,
                    "extension {extension}\naddendum {addendum}\nproposed_on {proposed_on}\n\
                     annual_rate_percent {}\nterm_months {}\nrepayment_method {}\n\
                     new_maturity {new_maturity}\n",
                    terms.annual_rate_percent,
                    terms.term_months,
                    terms.repayment_method.as_str()
                );
            }
            LoanEventKind::Settled => {}
        }
        let _ = writeln!(t, "prev {}", self.prev);
        t
    }

    /// `SHA-256(LOAN_EVENT_DOMAIN ‖ canonical text)`: the next event's `prev`.
    pub fn digest(&self) -> Sha256Digest {
        domain_digest(LOAN_EVENT_DOMAIN, &self.canonical_text())
    }

    /// Parses loan event text v1 ([`LoanEvent::canonical_text`]); refuses anything that
    /// text would not be ([`Error::Malformed`] with the byte offset of the line, or the
    /// end of the text if it is not canonical), and more than
    /// [`LOAN_EVENT_TEXT_BYTES_MAX`] bytes. A parsed event is trusted only after
    /// [`LoanBook::replay`](crate::LoanBook::replay).
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > LOAN_EVENT_TEXT_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "loan event text bytes",
                actual: text.len(),
                limit: LOAN_EVENT_TEXT_BYTES_MAX,
            });
        }
        let mut lines = EventLines { text, offset: 0 };
        if lines.line()? != LOAN_EVENT_HEADER {
            return Err(lines.error("not loan event text v1"));
        }
        let contract_id = ContractId::parse(lines.value("contract_id")?)
            .map_err(|_| lines.error("bad contract id"))?;
        let seq = lines.number("seq")?;
        let date = lines.date("date")?;
        let kind = match lines.value("kind")? {
            "repayment_reported" => LoanEventKind::RepaymentReported {
                repayment: RepaymentId(lines.number("repayment")?),
                amount_yuan: lines.decimal("amount_yuan")?,
                paid_on: lines.date("paid_on")?,
                transfer_proof: lines.optional_digest("proof")?,
            },
            "repayment_confirmed" => {
                let repayment = RepaymentId(lines.number("repayment")?);
                let amount_yuan = lines.decimal("amount_yuan")?;
                let mut allocations = Vec::new();
                loop {
                    let value = lines.value_any()?;
                    if let Some(rest) = value.strip_prefix("allocation ") {
                        if allocations.len() >= usize::from(crate::TERM_MONTHS_MAX) {
                            return Err(lines.error("too many allocations"));
                        }
                        let mut words = rest.split(' ');
                        let mut next = || words.next().ok_or_else(|| lines.error("bad allocation"));
                        let instalment =
                            next()?.parse().map_err(|_| lines.error("bad allocation"))?;
                        let interest_yuan =
                            scale_2(next()?).ok_or_else(|| lines.error("bad allocation"))?;
                        let principal_yuan =
                            scale_2(next()?).ok_or_else(|| lines.error("bad allocation"))?;
                        allocations.push(Allocation {
                            instalment,
                            interest_yuan,
                            principal_yuan,
                        });
                    } else if let Some(rest) = value.strip_prefix("outstanding_yuan ") {
                        let outstanding_yuan =
                            scale_2(rest).ok_or_else(|| lines.error("bad amount"))?;
                        break LoanEventKind::RepaymentConfirmed {
                            repayment,
                            amount_yuan,
                            allocations,
                            outstanding_yuan,
                        };
                    } else {
                        return Err(lines.error("expected `allocation` or `outstanding_yuan`"));
                    }
                }
            }
            "repayment_disputed" => LoanEventKind::RepaymentDisputed {
                repayment: RepaymentId(lines.number("repayment")?),
                statement: lines.optional_digest("statement")?,
            },
            "extended" => LoanEventKind::Extended {
                extension: lines.number("extension")?,
                addendum: lines.digest("addendum")?,
                proposed_on: lines.date("proposed_on")?,
                terms: ExtensionTerms {
                    annual_rate_percent: lines.decimal("annual_rate_percent")?,
                    term_months: lines.number("term_months")?,
                    repayment_method: lines
                        .value("repayment_method")?
                        .parse()
                        .map_err(|_| lines.error("unknown repayment method"))?,
                },
                new_maturity: lines.date("new_maturity")?,
            },
            "settled" => LoanEventKind::Settled,
            _ => return Err(lines.error("unknown kind")),
        };
        let prev = lines.digest("prev")?;
        let event = Self {
            contract_id,
            seq,
            date,
            kind,
            prev,
        };
        if event.canonical_text() != text {
            return Err(Error::Malformed {
                what: EVENT_TEXT,
                offset: text.len(),
                reason: "not canonical loan event text",
            });
        }
        Ok(event)
    }

    /// The evidence record: kind `loan.<kind>`, subject `contract:<id>`, time `at_ms`
    /// (the platform's clock when it recorded the step), digests `event`, `prev` and
    /// the kind's own (`proof`, `statement`, `addendum`), metadata `seq` and
    /// `repayment`. No amounts: they stay in the event text, which the ledger holds
    /// only as the `event` digest.
    pub fn to_evidence(&self, submitter: &str, at_ms: u64) -> Result<EvidenceRecord, Error> {
        let sha = DigestAlgorithm::Sha256;
        let mut b = EvidenceRecord::builder(
            &format!("loan.{}", self.kind.as_str()),
            &format!("contract:{}", self.contract_id),
            UnixMillis(at_ms),
            submitter,
        )
        .digest_value("event", sha, *self.digest().as_bytes())
        .digest_value("prev", sha, *self.prev.as_bytes())
        .metadata("seq", &self.seq.to_string());
        match &self.kind {
            LoanEventKind::RepaymentReported {
                repayment,
                transfer_proof,
                ..
            } => {
                b = b.metadata("repayment", &repayment.to_string());
                if let Some(proof) = transfer_proof {
                    b = b.digest_value("proof", sha, *proof.as_bytes());
                }
            }
            LoanEventKind::RepaymentConfirmed { repayment, .. } => {
                b = b.metadata("repayment", &repayment.to_string());
            }
            LoanEventKind::RepaymentDisputed {
                repayment,
                statement,
            } => {
                b = b.metadata("repayment", &repayment.to_string());
                if let Some(statement) = statement {
                    b = b.digest_value("statement", sha, *statement.as_bytes());
                }
            }
            LoanEventKind::Extended { addendum, .. } => {
                b = b.digest_value("addendum", sha, *addendum.as_bytes());
            }
            LoanEventKind::Settled => {}
        }
        Ok(b.build()?)
    }
}

const EVENT_TEXT: &str = "loan event text";

/// A cursor over the `\n`-terminated lines of a loan event text.
struct EventLines<'a> {
    text: &'a str,
    offset: usize,
}

impl<'a> EventLines<'a> {
    fn error(&self, reason: &'static str) -> Error {
        Error::Malformed {
            what: EVENT_TEXT,
            offset: self.offset,
            reason,
        }
    }

    fn line(&mut self) -> Result<&'a str, Error> {
        let rest = &self.text[self.offset..];
        let end = rest
            .find('\n')
            .ok_or_else(|| self.error("missing line or `\\n`"))?;
        self.offset += end + 1;
        Ok(&rest[..end])
    }

    fn value_any(&mut self) -> Result<&'a str, Error> {
        self.line()
    }

    fn value(&mut self, key: &str) -> Result<&'a str, Error> {
        let start = self.offset;
        let line = self.line()?;
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(Error::Malformed {
                what: EVENT_TEXT,
                offset: start,
                reason: "unexpected key",
            })
    }

    fn number<T: core::str::FromStr>(&mut self, key: &str) -> Result<T, Error> {
        let value = self.value(key)?;
        value.parse().map_err(|_| self.error("not a number"))
    }

    fn date(&mut self, key: &str) -> Result<Date, Error> {
        let value = self.value(key)?;
        Date::parse(value).map_err(|_| self.error("not a date"))
    }

    fn decimal(&mut self, key: &str) -> Result<Decimal, Error> {
        let value = self.value(key)?;
        scale_2(value).ok_or_else(|| self.error("not a decimal with two fraction digits"))
    }

    fn digest(&mut self, key: &str) -> Result<Sha256Digest, Error> {
        let value = self.value(key)?;
        Sha256Digest::parse_hex(value).map_err(|_| self.error("not a digest"))
    }

    fn optional_digest(&mut self, key: &str) -> Result<Option<Sha256Digest>, Error> {
        let value = self.value(key)?;
        if value == "none" {
            return Ok(None);
        }
        Sha256Digest::parse_hex(value)
            .map(Some)
            .map_err(|_| self.error("not a digest"))
    }
}

/// A non-negative decimal written with exactly two fraction digits (amounts and rates
/// in the loan texts).
fn scale_2(text: &str) -> Option<Decimal> {
    Decimal::parse(text).filter(|d| d.scale() == 2 && !d.is_negative())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_parses_round_trips_and_chains_to_its_head() {
        let text = super::super::fixture("loan-events-v1.txt");
        let mut previous: Option<LoanEvent> = None;
        let mut count = 0;
        for chunk in text.split_terminator("\n\n") {
            let event_text = format!("{chunk}\n");
            assert!(event_text.starts_with(&format!("{LOAN_EVENT_HEADER}\n")));
            let event = LoanEvent::parse(&event_text).unwrap();
            assert_eq!(event.canonical_text(), event_text);
            assert_eq!(
                event.digest(),
                domain_digest(LOAN_EVENT_DOMAIN, &event_text)
            );
            if let Some(p) = &previous {
                assert_eq!(event.prev(), p.digest());
                assert_eq!(event.seq(), p.seq() + 1);
            }
            previous = Some(event);
            count += 1;
        }
        assert!(count > 1);
        assert_eq!(
            format!("{}\n", previous.unwrap().digest()),
            super::super::fixture("loan-events-v1.head")
        );
    }
}
