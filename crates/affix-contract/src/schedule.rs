//! Repayment schedules of a loan note, in exact decimal arithmetic, and their canonical
//! text (schedule text v1).
//!
//! All amounts are whole fen (0.01 yuan) held as integers; rates are whole hundredths of
//! a percent (`3.65` % is 365), so the monthly rate `r = annual / 12` is exactly
//! `rate_units / 120_000`. Every rounding is half-up (ties away from zero; every
//! amount is non-negative), the way Chinese banks print schedules. The rules, frozen as
//! schedule text v1:
//!
//! - **Day count: months.** A month is a twelfth of a year whatever its days, so a
//!   12-month note at 3.65 % costs exactly 3.65 % of its principal, and the annual rate
//!   the cap is checked against is the rate charged. It is the convention of loan notes
//!   and of bank instalment schedules (actual/365 would make February cheaper than
//!   March and the interest depend on leap years).
//! - **Interest of a month** = balance × r, exact, rounded to the fen.
//! - **Bullet** (一次性还本付息): one instalment after `term_months` months; interest =
//!   principal × annual rate × term months / 12, exact, rounded to the fen.
//! - **Equal instalments** (等额本息): payment `A = P·r(1+r)^n / ((1+r)^n − 1)`, computed
//!   at scale 18 (see [`annuity_payment_fen`]) and rounded to the fen; each month's
//!   principal is `A −` its interest; the last instalment's principal is the remaining
//!   balance (it absorbs the rounding), so the principals sum to `P` exactly. At a zero
//!   rate `A = P / n` rounded to the fen.
//! - **Equal principal** (等额本金): each month's principal is `P / n` rounded to the fen,
//!   the last one the remaining balance; interest on the balance as above.
//! - No instalment's principal is more than the balance before it (this only matters for
//!   principals of a few fen per month, where rounding up could otherwise overshoot):
//!   once the balance is zero the remaining instalments are zero.
//! - **Due dates**: instalment *k* is due *k* months after the start date, on the same
//!   day of the month, or the month's last day if it has no such day (start 2026-01-31:
//!   2026-02-28, 2026-03-31, 2026-04-30).

use core::fmt::Write as _;

use affix_time::Date;

use crate::{Decimal, Error, LoanNote, MONEY_YUAN_MAX, RepaymentMethod, Sha256Digest};

/// The first line of schedule text v1.
pub const SCHEDULE_TEXT_HEADER: &str = "affix-loan-schedule v1";
/// Domain separation of [`Schedule::digest`].
pub const SCHEDULE_DOMAIN: &[u8] = b"affix.dev/contract/loan-schedule/v1\0";
/// The longest term in months (the loan note template's limit).
pub const TERM_MONTHS_MAX: u16 = 360;

/// One instalment of a [`Schedule`]. Amounts in yuan at scale 2, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Instalment {
    /// 1 for the first instalment, then +1.
    pub number: u16,
    /// When it is due.
    pub due_date: Date,
    /// The principal repaid.
    pub principal_yuan: Decimal,
    /// The interest paid.
    pub interest_yuan: Decimal,
    /// Principal plus interest: what the borrower pays.
    pub total_yuan: Decimal,
    /// The principal still owed after this instalment (0.00 after the last).
    pub balance_after_yuan: Decimal,
}

/// The repayment schedule of a loan note: built only by [`LoanNote::schedule`], so its
/// instalments always follow the rules of the crate documentation ("The repayment
/// schedule") and sum to its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    terms: LoanNote,
    instalments: Vec<Instalment>,
    total_principal_yuan: Decimal,
    total_interest_yuan: Decimal,
    total_repayment_yuan: Decimal,
}

impl Schedule {
    /// The terms it was computed from (principal and rate written at scale 2).
    pub fn terms(&self) -> &LoanNote {
        &self.terms
    }

    /// The instalments, in order: one for a bullet loan, `term_months` otherwise.
    pub fn instalments(&self) -> &[Instalment] {
        &self.instalments
    }

    /// The sum of the instalments' principal: exactly the loan's principal.
    pub fn total_principal_yuan(&self) -> Decimal {
        self.total_principal_yuan
    }

    /// The sum of the instalments' interest.
    pub fn total_interest_yuan(&self) -> Decimal {
        self.total_interest_yuan
    }

    /// The sum of the instalments' totals: principal plus interest.
    pub fn total_repayment_yuan(&self) -> Decimal {
        self.total_repayment_yuan
    }

    /// Schedule text v1: ASCII, every line ending with `\n`, fields separated by one
    /// space, amounts in yuan with exactly two fraction digits (no currency, no grouping),
    /// dates `YYYY-MM-DD`:
    ///
    /// ```text
    /// affix-loan-schedule v1
    /// repayment_method equal_instalments
    /// principal_yuan 10000.00
    /// annual_rate_percent 3.65
    /// start_date 2026-01-01
    /// term_months 12
    /// number due_date principal_yuan interest_yuan total_yuan balance_after_yuan
    /// 1 2026-02-01 819.48 30.42 849.90 9180.52
    /// …one line per instalment…
    /// 12 2027-01-01 847.34 2.58 849.92 0.00
    /// total_principal_yuan 10000.00
    /// total_interest_yuan 198.82
    /// total_repayment_yuan 10198.82
    /// ```
    ///
    /// The repayment method is `bullet`, `equal_instalments` or `equal_principal` (the
    /// loan note's values). Frozen by `tests/vectors/schedule-v1.txt`.
    pub fn canonical_text(&self) -> String {
        let t = &self.terms;
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{SCHEDULE_TEXT_HEADER}\nrepayment_method {}\nprincipal_yuan {}\n\
             annual_rate_percent {}\nstart_date {}\nterm_months {}\n\
             number due_date principal_yuan interest_yuan total_yuan balance_after_yuan\n",
            t.repayment_method.as_str(),
            t.principal_yuan,
            t.annual_rate_percent,
            t.start_date,
            t.term_months,
        );
        for i in &self.instalments {
            let _ = writeln!(
                text,
                "{} {} {} {} {} {}",
                i.number,
                i.due_date,
                i.principal_yuan,
                i.interest_yuan,
                i.total_yuan,
                i.balance_after_yuan
            );
        }
        let _ = write!(
            text,
            "total_principal_yuan {}\ntotal_interest_yuan {}\ntotal_repayment_yuan {}\n",
            self.total_principal_yuan, self.total_interest_yuan, self.total_repayment_yuan
        );
        text
    }

    /// `SHA-256(SCHEDULE_DOMAIN ‖ canonical text)`: what a contract can carry to bind the
    /// schedule.
    pub fn digest(&self) -> Sha256Digest {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(SCHEDULE_DOMAIN);
        hasher.update(self.canonical_text().as_bytes());
        Sha256Digest::from_bytes(hasher.finalize().into())
    }
}

/// The schedule of `loan` ([`LoanNote::schedule`]).
pub(crate) fn compute(loan: &LoanNote) -> Result<Schedule, Error> {
    let invalid = |reason| Error::LoanTermsInvalid { reason };
    let principal_fen = loan
        .principal_yuan
        .to_units(2)
        .filter(|&p| p > 0 && p <= u128::from(MONEY_YUAN_MAX) * 100)
        .ok_or(invalid(
            "principal not above 0 and at most MONEY_YUAN_MAX yuan, in fen",
        ))?;
    let rate_units = loan
        .annual_rate_percent
        .to_units(2)
        .filter(|&r| r <= 10_000)
        .ok_or(invalid(
            "annual rate not from 0 to 100 percent with at most two fraction digits",
        ))?;
    let months = loan.term_months;
    if !(1..=TERM_MONTHS_MAX).contains(&months) {
        return Err(invalid("term not from 1 to 360 months"));
    }
    let overflow = || invalid("amounts out of range");
    let yuan = |fen: u128| Decimal::from_units(fen, 2).ok_or_else(overflow);
    let due = |k: u16| add_months(loan.start_date, k).ok_or(invalid("due date after 9999-12-31"));

    // (due month, principal, interest) per instalment, in fen.
    let mut rows: Vec<(u16, u128, u128)> = Vec::new();
    match loan.repayment_method {
        RepaymentMethod::Bullet => {
            let interest = div_half_up(principal_fen * rate_units * u128::from(months), 120_000);
            rows.push((months, principal_fen, interest));
        }
        RepaymentMethod::EqualInstalments | RepaymentMethod::EqualPrincipal => {
            let regular_fen =
                if loan.repayment_method == RepaymentMethod::EqualPrincipal || rate_units == 0 {
                    div_half_up(principal_fen, u128::from(months))
                } else {
                    annuity_payment_fen(principal_fen, rate_units, months).ok_or_else(overflow)?
                };
            let mut balance = principal_fen;
            for k in 1..=months {
                let interest = div_half_up(balance * rate_units, 120_000);
                let principal = if k == months {
                    balance
                } else if loan.repayment_method == RepaymentMethod::EqualPrincipal {
                    regular_fen.min(balance)
                } else {
                    // Never below the interest: the payment rounds P·f with f > r, the
                    // interest rounds balance·r with balance <= P, and rounding is
                    // monotonic. Saturating keeps that a fact of the code, not a proof.
                    regular_fen.saturating_sub(interest).min(balance)
                };
                balance -= principal;
                rows.push((k, principal, interest));
            }
        }
    }

    let mut instalments = Vec::with_capacity(rows.len());
    let (mut balance, mut interest_sum) = (principal_fen, 0u128);
    for (number, (month, principal, interest)) in (1u16..).zip(rows) {
        balance -= principal;
        interest_sum += interest;
        instalments.push(Instalment {
            number,
            due_date: due(month)?,
            principal_yuan: yuan(principal)?,
            interest_yuan: yuan(interest)?,
            total_yuan: yuan(principal + interest)?,
            balance_after_yuan: yuan(balance)?,
        });
    }
    let terms = LoanNote {
        principal_yuan: yuan(principal_fen)?,
        annual_rate_percent: Decimal::from_units(rate_units, 2).ok_or_else(overflow)?,
        ..loan.clone()
    };
    Ok(Schedule {
        terms,
        instalments,
        total_principal_yuan: yuan(principal_fen)?,
        total_interest_yuan: yuan(interest_sum)?,
        total_repayment_yuan: yuan(principal_fen + interest_sum)?,
    })
}

/// 10^18: the scale of the fixed-point numbers in [`annuity_payment_fen`].
const ONE: u128 = 1_000_000_000_000_000_000;

/// The equal-instalment payment in fen for `principal_fen` at `rate_units` hundredths of
/// a percent a year (at least 1) over `months`, computed at scale 18, each step rounded
/// half-up to 18 fraction digits:
///
/// 1. `r = rate_units / 120000` (the monthly rate);
/// 2. `q = (1 + r)^n` by `n` multiplications, `q ← q × (1 + r)`, starting from 1;
/// 3. `f = r + r / (q − 1)` (the same as `r·q / (q − 1)`, in a form whose products fit
///    128 bits);
/// 4. the payment `principal × f`, rounded half-up to the fen.
///
/// Bounds: `r < 0.084`, `q < 4·10^12` (100 % over 360 months), so every product below
/// fits a `u128`; `None` only if one did not.
fn annuity_payment_fen(principal_fen: u128, rate_units: u128, months: u16) -> Option<u128> {
    let r = div_half_up(rate_units.checked_mul(ONE)?, 120_000);
    let mut q = ONE;
    for _ in 0..months {
        // q × (1 + r) = q + q × r; with q = high × ONE + low, q × r / ONE = high × r +
        // low × r / ONE, of which only the second term needs rounding.
        let (high, low) = (q / ONE, q % ONE);
        let grown = high.checked_mul(r)? + div_half_up(low.checked_mul(r)?, ONE);
        q = q.checked_add(grown)?;
    }
    let f = r.checked_add(div_half_up(r.checked_mul(ONE)?, q.checked_sub(ONE)?))?;
    Some(div_half_up(principal_fen.checked_mul(f)?, ONE))
}

/// `numerator / denominator` rounded half-up; `denominator > 0`.
fn div_half_up(numerator: u128, denominator: u128) -> u128 {
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    if remainder >= denominator - remainder {
        quotient + 1
    } else {
        quotient
    }
}

/// `start` plus `months` months, on the same day or the month's last day; `None` after
/// 9999-12-31.
fn add_months(start: Date, months: u16) -> Option<Date> {
    let index = u32::from(start.year()) * 12 + u32::from(start.month() - 1) + u32::from(months);
    let year = u16::try_from(index / 12).ok()?;
    let month = u8::try_from(index % 12 + 1).ok()?;
    Date::new(
        year,
        month,
        start.day().min(Date::days_in_month(year, month)),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn months_are_added_with_the_day_clamped_to_the_month() {
        let jan31 = date(2026, 1, 31);
        assert_eq!(add_months(jan31, 1), Some(date(2026, 2, 28)));
        assert_eq!(add_months(jan31, 2), Some(date(2026, 3, 31)));
        assert_eq!(add_months(jan31, 3), Some(date(2026, 4, 30)));
        assert_eq!(add_months(jan31, 25), Some(date(2028, 2, 29)));
        assert_eq!(add_months(date(2026, 11, 15), 2), Some(date(2027, 1, 15)));
        assert_eq!(add_months(date(9999, 11, 30), 1), Some(date(9999, 12, 30)));
        assert_eq!(add_months(date(9999, 12, 1), 1), None);
    }

    #[test]
    fn division_rounds_half_up() {
        assert_eq!(div_half_up(4, 2), 2);
        assert_eq!(div_half_up(5, 2), 3);
        assert_eq!(div_half_up(7, 3), 2);
        assert_eq!(div_half_up(8, 3), 3);
        assert_eq!(div_half_up(u128::MAX, u128::MAX), 1);
        assert_eq!(div_half_up(u128::MAX, 2), u128::MAX / 2 + 1);
    }

    #[test]
    fn the_annuity_fits_at_the_extremes() {
        // 100 % a year over 360 months on the largest principal.
        let principal = u128::from(MONEY_YUAN_MAX) * 100;
        let payment = annuity_payment_fen(principal, 10_000, 360).unwrap();
        // Barely more than the interest of the first month (P / 12).
        assert!(payment > principal / 12 && payment < principal / 12 + principal / 10_000);
        // 0.01 % over one month: the principal plus one month's interest.
        assert_eq!(annuity_payment_fen(1_000_000, 1, 1), Some(1_000_008));
    }
}
