//! The loan book of a signed loan note: repayments reported, confirmed or disputed,
//! their allocation to instalments, the derived status, extensions (展期) and
//! settlement (结清); every step a typed, hash-chained [`LoanEvent`].

use core::fmt;

use affix_time::Date;

use super::maturity;
use crate::rules::LoanStatus;
use crate::{
    Addendum, ContractId, Decimal, Error, ExtensionTerms, LoanEvent, LoanEventKind, LoanNote,
    LoanTerms, RepaymentAcknowledgement, RuleSet, Schedule, Sha256Digest,
};

/// Repayments reported on one loan.
pub const REPAYMENTS_MAX: usize = 1024;
/// Events of one loan book.
pub const LOAN_EVENTS_MAX: u32 = 4096;
/// Extensions of one loan.
pub const EXTENSIONS_MAX: u16 = 16;

/// Identifies a reported repayment within its loan: 1 for the first report, then +1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepaymentId(pub u32);

impl fmt::Display for RepaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a reported repayment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepaymentStatus {
    /// Reported by the borrower; awaiting the lender.
    Pending,
    /// Confirmed by the lender: it reduced the balance.
    Confirmed,
    /// Disputed by the lender: it changed nothing.
    Disputed,
}

impl RepaymentStatus {
    /// `pending`, `confirmed` or `disputed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Disputed => "disputed",
        }
    }
}

/// A reported repayment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repayment {
    /// Its id.
    pub id: RepaymentId,
    /// The amount in yuan, scale 2.
    pub amount_yuan: Decimal,
    /// The day the borrower says the money was paid.
    pub paid_on: Date,
    /// The day it was reported.
    pub reported_on: Date,
    /// SHA-256 of the transfer proof the borrower attached (an image of the bank
    /// transfer slip), if any.
    pub transfer_proof: Option<Sha256Digest>,
    /// Pending, confirmed or disputed.
    pub status: RepaymentStatus,
}

/// The part of a confirmed repayment that went to one instalment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Allocation {
    /// The instalment's number (in the current schedule).
    pub instalment: u16,
    /// To its interest, yuan.
    pub interest_yuan: Decimal,
    /// To its principal, yuan.
    pub principal_yuan: Decimal,
}

/// One instalment of the current schedule with what has been repaid on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstalmentBalance {
    /// The instalment's number.
    pub number: u16,
    /// Its due date.
    pub due_date: Date,
    /// Its interest, yuan.
    pub interest_yuan: Decimal,
    /// Its principal, yuan.
    pub principal_yuan: Decimal,
    /// Interest repaid (confirmed), yuan.
    pub interest_paid_yuan: Decimal,
    /// Principal repaid (confirmed), yuan.
    pub principal_paid_yuan: Decimal,
    /// Still owed on it, yuan.
    pub unpaid_yuan: Decimal,
}

/// Which signed document a loan step can rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A repayment acknowledgement (收条) the lender signed: backs a confirmation.
    Acknowledgement,
    /// An extension addendum (展期) both parties signed: backs an extension.
    Addendum,
}

/// The text a signed document must have to back event `event` of a chain (see
/// [`LoanBook::replay_with_documents`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackingDocument {
    /// Index of the event in the chain.
    pub event: usize,
    /// Acknowledgement or addendum.
    pub kind: DocumentKind,
    /// Its canonical text (the acknowledgement text v1 or the addendum text v1).
    pub text: String,
}

/// One instalment of the current schedule in fen, with what was repaid on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) number: u16,
    pub(crate) due_date: Date,
    pub(crate) due_day: i64,
    interest_fen: u128,
    principal_fen: u128,
    interest_paid_fen: u128,
    principal_paid_fen: u128,
}

impl Due {
    pub(crate) fn unpaid_fen(&self) -> u128 {
        (self.interest_fen - self.interest_paid_fen)
            + (self.principal_fen - self.principal_paid_fen)
    }
}

/// The state of a signed loan: its terms, the current schedule with what was repaid on
/// each instalment, the reported repayments and the head of its event chain.
///
/// Every step takes `&self` and the day it happens (`on`, China time, from the
/// platform's clock) and returns the next state with its events, or an error and no
/// change. Steps are refused once the loan is settled ([`Error::LoanSettled`]) and when
/// `on` is before the previous step ([`Error::LoanDateWentBackwards`]). Who may take a
/// step (the borrower reports, the lender confirms or disputes) is the platform's
/// check: the book does not know the parties.
///
/// **Allocation**: a confirmed repayment goes to the instalments oldest first, and
/// within each to its interest, then its principal (先息后本); paying ahead is allowed
/// and goes to the next instalments the same way, without reducing their interest.
/// Only confirmed repayments count; a report is refused if it is more than what is
/// owed less the other reports awaiting confirmation ([`Error::Overpayment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanBook {
    terms: LoanTerms,
    schedule: Schedule,
    extension: u16,
    pub(crate) dues: Vec<Due>,
    /// Index of the first instalment with money owed (`dues.len()` when none).
    pub(crate) first_unpaid: usize,
    repayments: Vec<(Repayment, u128)>,
    event_count: u32,
    head: Sha256Digest,
    last_date: Option<Date>,
    settled_on: Option<Date>,
}

impl LoanBook {
    /// The book of a newly effective loan: nothing repaid, no event yet, head =
    /// [`LoanTerms::digest`].
    pub fn new(terms: LoanTerms) -> Self {
        let schedule = terms.schedule.clone();
        let head = terms.digest();
        let mut book = Self {
            dues: dues_of(&schedule),
            first_unpaid: 0,
            schedule,
            terms,
            extension: 0,
            repayments: Vec::new(),
            event_count: 0,
            head,
            last_date: None,
            settled_on: None,
        };
        book.first_unpaid = book.find_first_unpaid();
        book
    }

    /// The signed terms.
    pub fn terms(&self) -> &LoanTerms {
        &self.terms
    }

    /// The contract.
    pub fn contract_id(&self) -> ContractId {
        self.terms.contract_id
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.terms.rules
    }

    /// The schedule in force: the signed one, or the last extension's.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Extensions so far (0: the signed schedule is in force).
    pub fn extension(&self) -> u16 {
        self.extension
    }

    /// The digest of the last event (of the terms before any).
    pub fn head(&self) -> Sha256Digest {
        self.head
    }

    /// Events so far.
    pub fn event_count(&self) -> u32 {
        self.event_count
    }

    /// The day the loan was settled.
    pub fn settled_on(&self) -> Option<Date> {
        self.settled_on
    }

    /// The reported repayments, oldest first.
    pub fn repayments(&self) -> impl ExactSizeIterator<Item = &Repayment> {
        self.repayments.iter().map(|(r, _)| r)
    }

    /// Each instalment of the schedule in force with what was repaid on it.
    pub fn instalments(&self) -> Vec<InstalmentBalance> {
        self.dues
            .iter()
            .map(|d| InstalmentBalance {
                number: d.number,
                due_date: d.due_date,
                interest_yuan: yuan(d.interest_fen),
                principal_yuan: yuan(d.principal_fen),
                interest_paid_yuan: yuan(d.interest_paid_fen),
                principal_paid_yuan: yuan(d.principal_paid_fen),
                unpaid_yuan: yuan(d.unpaid_fen()),
            })
            .collect()
    }

    /// What is still owed (principal and interest of the schedule in force, less
    /// confirmed repayments), yuan.
    pub fn outstanding_yuan(&self) -> Decimal {
        yuan(self.outstanding_fen())
    }

    /// The principal still owed, yuan.
    pub fn outstanding_principal_yuan(&self) -> Decimal {
        yuan(
            self.dues
                .iter()
                .map(|d| d.principal_fen - d.principal_paid_fen)
                .sum(),
        )
    }

    /// The sum of the reports awaiting confirmation, yuan.
    pub fn pending_yuan(&self) -> Decimal {
        yuan(self.pending_fen())
    }

    /// The status on day `on`: settled once nothing is owed; overdue when an
    /// instalment is unpaid after its due date plus the rule set's grace days (on the
    /// day after the grace period, and while it stays unpaid); active otherwise.
    pub fn status_on(&self, on: Date) -> LoanStatus {
        if self.settled_on.is_some() {
            return LoanStatus::Settled;
        }
        let grace = i64::from(self.terms.rules.grace_days());
        match self.dues.get(self.first_unpaid) {
            Some(d) if on.day_number() > d.due_day + grace => LoanStatus::Overdue,
            _ => LoanStatus::Active,
        }
    }

    /// The borrower reports a repayment of `amount_yuan` made on `paid_on`, with the
    /// digest of an attached transfer proof. Refused: an amount not above 0 or with more than
    /// two fraction digits ([`Error::RepaymentAmountInvalid`]); `paid_on` before the
    /// loan's start ([`Error::RepaymentBeforeStart`]) or after `on`
    /// ([`Error::RepaymentInFuture`]); more than is owed less the pending reports
    /// ([`Error::Overpayment`]); more than [`REPAYMENTS_MAX`] reports.
    pub fn report_repayment(
        &self,
        amount_yuan: Decimal,
        paid_on: Date,
        transfer_proof: Option<Sha256Digest>,
        on: Date,
    ) -> Result<(Self, Vec<LoanEvent>), Error> {
        let mut next = self.begin(on)?;
        let amount_fen =
            amount_yuan
                .to_units(2)
                .filter(|a| *a > 0)
                .ok_or(Error::RepaymentAmountInvalid {
                    reason: "not above 0 with at most two fraction digits",
                })?;
        let start_date = self.terms.schedule.terms().start_date;
        if paid_on < start_date {
            return Err(Error::RepaymentBeforeStart {
                paid_on,
                start_date,
            });
        }
        if paid_on > on {
            return Err(Error::RepaymentInFuture { paid_on, on });
        }
        if amount_fen > self.outstanding_fen().saturating_sub(self.pending_fen()) {
            return Err(Error::Overpayment);
        }
        if self.repayments.len() >= REPAYMENTS_MAX {
            return Err(Error::TooLarge {
                what: "repayments",
                actual: self.repayments.len() + 1,
                limit: REPAYMENTS_MAX,
            });
        }
        // At most REPAYMENTS_MAX (1024) reports: the id fits.
        let id = RepaymentId(u32::try_from(self.repayments.len() + 1).unwrap_or(u32::MAX));
        let repayment = Repayment {
            id,
            amount_yuan: yuan(amount_fen),
            paid_on,
            reported_on: on,
            transfer_proof,
            status: RepaymentStatus::Pending,
        };
        next.repayments.push((repayment, amount_fen));
        let event = next.record(
            on,
            LoanEventKind::RepaymentReported {
                repayment: id,
                amount_yuan: repayment.amount_yuan,
                paid_on,
                transfer_proof,
            },
        );
        Ok((next, vec![event]))
    }

    /// The acknowledgement (收条) for the lender to sign for pending repayment `id`.
    ///
    /// # Errors
    /// [`Error::UnknownRepayment`], [`Error::RepaymentNotPending`].
    pub fn acknowledgement(&self, id: RepaymentId) -> Result<RepaymentAcknowledgement, Error> {
        let index = self.pending_index(id)?;
        Ok(RepaymentAcknowledgement {
            contract_id: self.terms.contract_id(),
            repayment: self.repayments[index].0,
        })
    }

    /// The lender confirms repayment `id`: it is allocated (see [`LoanBook`]) and the
    /// event lists where it went. When nothing is owed afterwards, a second event
    /// settles the loan. Refused: an unknown id ([`Error::UnknownRepayment`]), one
    /// already confirmed or disputed ([`Error::RepaymentNotPending`]).
    pub fn confirm_repayment(
        &self,
        id: RepaymentId,
        on: Date,
    ) -> Result<(Self, Vec<LoanEvent>), Error> {
        let mut next = self.begin(on)?;
        let index = next.pending_index(id)?;
        let amount_fen = next.repayments[index].1;
        if amount_fen > next.outstanding_fen() {
            // Reports are checked against the outstanding amount less the other
            // pending reports, and only confirmations reduce it: unreachable, kept as
            // a refusal rather than a panic.
            return Err(Error::Overpayment);
        }
        next.repayments[index].0.status = RepaymentStatus::Confirmed;
        let allocations = next.allocate(amount_fen);
        let outstanding_fen = next.outstanding_fen();
        let mut events = vec![next.record(
            on,
            LoanEventKind::RepaymentConfirmed {
                repayment: id,
                amount_yuan: yuan(amount_fen),
                allocations,
                outstanding_yuan: yuan(outstanding_fen),
            },
        )];
        if outstanding_fen == 0 {
            events.push(next.record(on, LoanEventKind::Settled));
            next.settled_on = Some(on);
        }
        Ok((next, events))
    }

    /// The lender disputes repayment `id` (with the digest of a statement): it changes
    /// nothing owed. Refused like [`LoanBook::confirm_repayment`].
    pub fn dispute_repayment(
        &self,
        id: RepaymentId,
        statement: Option<Sha256Digest>,
        on: Date,
    ) -> Result<(Self, Vec<LoanEvent>), Error> {
        let mut next = self.begin(on)?;
        let index = next.pending_index(id)?;
        next.repayments[index].0.status = RepaymentStatus::Disputed;
        let event = next.record(
            on,
            LoanEventKind::RepaymentDisputed {
                repayment: id,
                statement,
            },
        );
        Ok((next, vec![event]))
    }

    /// Computes the extension addendum for `terms` proposed on `on` (no state change).
    /// The new schedule ([`Addendum`] gives the rules) is computed by
    /// [`LoanNote::schedule`]. Refused: a settled loan; reports awaiting confirmation
    /// ([`Error::RepaymentsPending`]); unpaid interest already due
    /// ([`Error::InterestInArrears`]); no principal owed ([`Error::NothingToExtend`]);
    /// a new maturity not after the current one and `on`
    /// ([`Error::ExtensionNotLater`]); more than [`EXTENSIONS_MAX`] extensions; terms
    /// the schedule refuses ([`Error::LoanTermsInvalid`]).
    pub fn propose_extension(&self, terms: ExtensionTerms, on: Date) -> Result<Addendum, Error> {
        self.begin(on)?;
        if self.extension >= EXTENSIONS_MAX {
            return Err(Error::TooLarge {
                what: "extensions",
                actual: usize::from(self.extension) + 1,
                limit: usize::from(EXTENSIONS_MAX),
            });
        }
        let pending = self
            .repayments
            .iter()
            .filter(|(r, _)| r.status == RepaymentStatus::Pending)
            .count();
        if pending > 0 {
            return Err(Error::RepaymentsPending { count: pending });
        }
        let on_day = on.day_number();
        let passed = self.dues.partition_point(|d| d.due_day <= on_day);
        if let Some(d) = self.dues[..passed]
            .iter()
            .find(|d| d.interest_paid_fen < d.interest_fen)
        {
            return Err(Error::InterestInArrears {
                instalment: d.number,
            });
        }
        let effective_from = match passed {
            0 => self.schedule.terms().start_date,
            n => self.dues[n - 1].due_date,
        };
        let principal_owed: u128 = self
            .dues
            .iter()
            .map(|d| d.principal_fen - d.principal_paid_fen)
            .sum();
        let interest_prepaid: u128 = self.dues[passed..]
            .iter()
            .map(|d| d.interest_paid_fen)
            .sum();
        let principal_fen = principal_owed.saturating_sub(interest_prepaid);
        if principal_fen == 0 {
            return Err(Error::NothingToExtend);
        }
        let note = LoanNote {
            principal_yuan: yuan(principal_fen),
            annual_rate_percent: terms.annual_rate_percent,
            start_date: effective_from,
            term_months: terms.term_months,
            repayment_method: terms.repayment_method,
        };
        let schedule = note.schedule()?;
        let current_maturity = maturity(&self.schedule);
        let new_maturity = maturity(&schedule);
        if new_maturity <= current_maturity || new_maturity <= on {
            return Err(Error::ExtensionNotLater {
                current_maturity,
                new_maturity,
                on,
            });
        }
        Ok(Addendum {
            contract_id: self.terms.contract_id,
            extension: self.extension + 1,
            based_on: self.head,
            proposed_on: on,
            previous_maturity: current_maturity,
            extension_terms: terms,
            schedule,
        })
    }

    /// Puts a signed addendum in force on `on`: its schedule replaces the current one
    /// (whose instalments then leave the book: the events keep their history), and the
    /// rules apply to the new instalments. Refused with [`Error::AddendumStale`] unless
    /// the addendum was proposed for this loan in its current state (no event since),
    /// and if `on` is before the proposal day.
    pub fn apply_extension(
        &self,
        addendum: &Addendum,
        on: Date,
    ) -> Result<(Self, Vec<LoanEvent>), Error> {
        let mut next = self.begin(on)?;
        if addendum.contract_id != self.terms.contract_id
            || addendum.based_on != self.head
            || addendum.extension != self.extension + 1
        {
            return Err(Error::AddendumStale);
        }
        if on < addendum.proposed_on {
            return Err(Error::LoanDateWentBackwards {
                on,
                previous: addendum.proposed_on,
            });
        }
        next.schedule = addendum.schedule.clone();
        next.dues = dues_of(&next.schedule);
        next.first_unpaid = next.find_first_unpaid();
        next.extension = addendum.extension;
        let event = next.record(
            on,
            LoanEventKind::Extended {
                extension: addendum.extension,
                addendum: addendum.digest(),
                proposed_on: addendum.proposed_on,
                // The rate as the schedule writes it (scale 2): the same schedule, one
                // spelling.
                terms: ExtensionTerms {
                    annual_rate_percent: addendum.schedule.terms().annual_rate_percent,
                    ..addendum.extension_terms
                },
                new_maturity: addendum.new_maturity(),
            },
        );
        Ok((next, vec![event]))
    }

    /// Rebuilds a book from its terms and events (a stored loan, or an auditor's
    /// bundle): replays every event through the same steps the live book took,
    /// requires each to be exactly the event the step makes (sequence, links, amounts,
    /// allocations), and the last event's digest to be `anchored_head`, which must come
    /// from outside the events (the platform's stored head, or the `event` digest of
    /// the last evidence record, proved by a ledger receipt): a chain cut short links
    /// just as well. Extensions are recomputed from the terms and day in their events.
    /// Errors: [`Error::ChainEventRejected`] (a step the book refuses),
    /// [`Error::ChainBroken`] (an event that differs from its replay),
    /// [`Error::ChainHeadMismatch`].
    pub fn replay(
        terms: LoanTerms,
        events: &[LoanEvent],
        anchored_head: &Sha256Digest,
    ) -> Result<Self, Error> {
        Self::replay_observed(terms, events, anchored_head, |_, _, _| {})
    }

    /// [`LoanBook::replay`], also returning the signed documents the chain's steps can
    /// rest on, in one pass: for each confirmation, the acknowledgement of that repayment
    /// as it stood just before ([`LoanBook::acknowledgement`]); for each extension, its
    /// addendum. A verifier holding a signed acknowledgement or addendum checks that its
    /// text is one of
    /// these.
    ///
    /// # Errors
    /// Those of [`LoanBook::replay`].
    pub fn replay_with_documents(
        terms: LoanTerms,
        events: &[LoanEvent],
        anchored_head: &Sha256Digest,
    ) -> Result<(Self, Vec<BackingDocument>), Error> {
        let mut documents = Vec::new();
        let book = Self::replay_observed(terms, events, anchored_head, |index, event, before| {
            let text = match &event.kind {
                LoanEventKind::RepaymentConfirmed { repayment, .. } => before
                    .acknowledgement(*repayment)
                    .ok()
                    .map(|r| (DocumentKind::Acknowledgement, r.canonical_text())),
                LoanEventKind::Extended {
                    proposed_on, terms, ..
                } => before
                    .propose_extension(*terms, *proposed_on)
                    .ok()
                    .map(|a| (DocumentKind::Addendum, a.canonical_text())),
                _ => None,
            };
            if let Some((kind, text)) = text {
                documents.push(BackingDocument {
                    event: index,
                    kind,
                    text,
                });
            }
        })?;
        Ok((book, documents))
    }

    /// The replay, calling `observe(index, event, book before it)` for each event that
    /// starts a step.
    fn replay_observed(
        terms: LoanTerms,
        events: &[LoanEvent],
        anchored_head: &Sha256Digest,
        mut observe: impl FnMut(usize, &LoanEvent, &Self),
    ) -> Result<Self, Error> {
        if events.len() > LOAN_EVENTS_MAX as usize {
            return Err(Error::TooLarge {
                what: "loan events",
                actual: events.len(),
                limit: LOAN_EVENTS_MAX as usize,
            });
        }
        let mut book = Self::new(terms);
        let mut index = 0;
        while let Some(event) = events.get(index) {
            // At most LOAN_EVENTS_MAX events: the index fits.
            let seq = u32::try_from(index).unwrap_or(u32::MAX);
            let on = event.date;
            observe(index, event, &book);
            let step = match &event.kind {
                LoanEventKind::RepaymentReported {
                    amount_yuan,
                    paid_on,
                    transfer_proof,
                    ..
                } => book.report_repayment(*amount_yuan, *paid_on, *transfer_proof, on),
                LoanEventKind::RepaymentConfirmed { repayment, .. } => {
                    book.confirm_repayment(*repayment, on)
                }
                LoanEventKind::RepaymentDisputed {
                    repayment,
                    statement,
                } => book.dispute_repayment(*repayment, *statement, on),
                LoanEventKind::Extended {
                    proposed_on, terms, ..
                } => book
                    .propose_extension(*terms, *proposed_on)
                    .and_then(|addendum| book.apply_extension(&addendum, on)),
                LoanEventKind::Settled => {
                    return Err(Error::ChainBroken {
                        seq,
                        reason: "settled without the confirmation that settles",
                    });
                }
            };
            let (next, produced) = step.map_err(|e| Error::ChainEventRejected {
                seq,
                source: Box::new(e),
            })?;
            for made in produced {
                let seq = made.seq;
                match events.get(index) {
                    Some(given) if *given == made => index += 1,
                    Some(_) => {
                        return Err(Error::ChainBroken {
                            seq,
                            reason: "event differs from its replay",
                        });
                    }
                    None => {
                        return Err(Error::ChainBroken {
                            seq,
                            reason: "the settlement event is missing",
                        });
                    }
                }
            }
            book = next;
        }
        if book.head != *anchored_head {
            return Err(Error::ChainHeadMismatch {
                events: book.event_count,
            });
        }
        Ok(book)
    }

    /// The checks every step shares, and the state to change.
    fn begin(&self, on: Date) -> Result<Self, Error> {
        if let Some(settled_on) = self.settled_on {
            return Err(Error::LoanSettled { settled_on });
        }
        if let Some(previous) = self.last_date
            && on < previous
        {
            return Err(Error::LoanDateWentBackwards { on, previous });
        }
        // A step adds at most two events.
        if self.event_count + 2 > LOAN_EVENTS_MAX {
            return Err(Error::TooLarge {
                what: "loan events",
                actual: self.event_count as usize + 2,
                limit: LOAN_EVENTS_MAX as usize,
            });
        }
        Ok(self.clone())
    }

    fn record(&mut self, on: Date, kind: LoanEventKind) -> LoanEvent {
        let event = LoanEvent {
            contract_id: self.terms.contract_id,
            seq: self.event_count,
            date: on,
            kind,
            prev: self.head,
        };
        self.event_count += 1;
        self.head = event.digest();
        self.last_date = Some(on);
        event
    }

    fn pending_index(&self, id: RepaymentId) -> Result<usize, Error> {
        let index = (id.0 as usize)
            .checked_sub(1)
            .filter(|i| *i < self.repayments.len())
            .ok_or(Error::UnknownRepayment { repayment: id })?;
        let status = self.repayments[index].0.status;
        if status != RepaymentStatus::Pending {
            return Err(Error::RepaymentNotPending {
                repayment: id,
                status,
            });
        }
        Ok(index)
    }

    /// Allocates `amount_fen` (at most what is owed) oldest instalment first, interest
    /// then principal.
    fn allocate(&mut self, mut amount_fen: u128) -> Vec<Allocation> {
        let mut allocations = Vec::new();
        for d in &mut self.dues[self.first_unpaid..] {
            if amount_fen == 0 {
                break;
            }
            let interest = amount_fen.min(d.interest_fen - d.interest_paid_fen);
            d.interest_paid_fen += interest;
            amount_fen -= interest;
            let principal = amount_fen.min(d.principal_fen - d.principal_paid_fen);
            d.principal_paid_fen += principal;
            amount_fen -= principal;
            if interest + principal > 0 {
                allocations.push(Allocation {
                    instalment: d.number,
                    interest_yuan: yuan(interest),
                    principal_yuan: yuan(principal),
                });
            }
        }
        self.first_unpaid = self.find_first_unpaid();
        allocations
    }

    fn find_first_unpaid(&self) -> usize {
        self.dues
            .iter()
            .position(|d| d.unpaid_fen() > 0)
            .unwrap_or(self.dues.len())
    }

    pub(crate) fn outstanding_fen(&self) -> u128 {
        self.dues[self.first_unpaid..]
            .iter()
            .map(Due::unpaid_fen)
            .sum()
    }

    fn pending_fen(&self) -> u128 {
        self.repayments
            .iter()
            .filter(|(r, _)| r.status == RepaymentStatus::Pending)
            .map(|(_, fen)| fen)
            .sum()
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.repayments
            .iter()
            .any(|(r, _)| r.status == RepaymentStatus::Pending)
    }
}

/// The schedule's instalments in fen.
fn dues_of(schedule: &Schedule) -> Vec<Due> {
    // A schedule's amounts are non-negative at scale 2 (built only by
    // `LoanNote::schedule`): `to_units(2)` never fails.
    let fen = |d: Decimal| d.to_units(2).unwrap_or(0);
    schedule
        .instalments()
        .iter()
        .map(|i| Due {
            number: i.number,
            due_date: i.due_date,
            due_day: i.due_date.day_number(),
            interest_fen: fen(i.interest_yuan),
            principal_fen: fen(i.principal_yuan),
            interest_paid_fen: 0,
            principal_paid_fen: 0,
        })
        .collect()
}

/// An amount in fen as yuan at scale 2. Every amount of a book is at most a schedule's
/// total repayment (below 10^16 yuan), inside the digit limits: the fallback is never
/// taken.
fn yuan(fen: u128) -> Decimal {
    Decimal::from_units(fen, 2).unwrap_or(Decimal::ZERO)
}

impl fmt::Display for RepaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
