//! A small exact decimal number: amounts of money and interest rates, never floats.

use core::cmp::Ordering;
use core::fmt;

/// Digits allowed before the decimal point.
pub const DECIMAL_INTEGER_DIGITS_MAX: usize = 18;
/// Digits allowed after the decimal point (and the largest field scale).
pub const DECIMAL_SCALE_MAX: u8 = 18;
/// 10^[`DECIMAL_INTEGER_DIGITS_MAX`]: the integer part stays below it.
const INTEGER_BOUND: u128 = 1_000_000_000_000_000_000;
const _: () = assert!(DECIMAL_INTEGER_DIGITS_MAX == 18 && INTEGER_BOUND == 10u128.pow(18));

/// An exact decimal number `±mantissa × 10^-scale`, with at most
/// [`DECIMAL_INTEGER_DIGITS_MAX`] integer digits and [`DECIMAL_SCALE_MAX`] fraction
/// digits (so every value fits an `i128` at scale 18).
///
/// Text form (parse and display): an optional `-`, one or more digits, and optionally a
/// `.` followed by one or more digits: `0`, `12.50`, `-3.125`. No `+`, no exponent, no
/// grouping, no spaces. Display keeps the scale (`12.50` stays `12.50`); zero is never
/// negative. Equality and order are numeric (`1.5 == 1.50`).
#[derive(Clone, Copy)]
pub struct Decimal {
    negative: bool,
    mantissa: u128,
    scale: u8,
}

impl Decimal {
    /// Zero at scale 0.
    pub const ZERO: Self = Self {
        negative: false,
        mantissa: 0,
        scale: 0,
    };

    /// Parses the text form; `None` if it is not one (or exceeds the digit limits).
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (integer, fraction) = match rest.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (rest, None),
        };
        if integer.is_empty()
            || integer.len() > DECIMAL_INTEGER_DIGITS_MAX
            || !integer.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let fraction = fraction.unwrap_or("");
        if (rest.contains('.') && fraction.is_empty())
            || fraction.len() > usize::from(DECIMAL_SCALE_MAX)
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut mantissa: u128 = 0;
        for b in integer.bytes().chain(fraction.bytes()) {
            // At most 36 digits: below 10^36 < u128::MAX, no overflow.
            mantissa = mantissa * 10 + u128::from(b - b'0');
        }
        let scale = u8::try_from(fraction.len()).ok()?;
        Some(Self {
            negative: negative && mantissa != 0,
            mantissa,
            scale,
        })
    }

    /// A non-negative integer value at scale 0.
    pub fn from_u64(value: u64) -> Self {
        Self {
            negative: false,
            mantissa: u128::from(value),
            scale: 0,
        }
    }

    /// The number of fraction digits as written.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The same value written with exactly `scale` fraction digits, if that loses no
    /// digit (`1.5` → `1.50` at scale 2; `1.55` at scale 1 is `None`).
    pub fn with_scale(self, scale: u8) -> Option<Self> {
        if scale > DECIMAL_SCALE_MAX {
            return None;
        }
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self),
            Ordering::Greater => Some(Self {
                mantissa: self.mantissa * 10u128.pow(u32::from(scale - self.scale)),
                scale,
                ..self
            }),
            Ordering::Less => {
                let divisor = 10u128.pow(u32::from(self.scale - scale));
                self.mantissa.is_multiple_of(divisor).then_some(Self {
                    mantissa: self.mantissa / divisor,
                    scale,
                    ..self
                })
            }
        }
    }

    /// The non-negative value `units × 10^-scale`, written with `scale` fraction digits
    /// (`from_units(1050, 2)` is `10.50`); `None` beyond the digit limits.
    pub(crate) fn from_units(units: u128, scale: u8) -> Option<Self> {
        if scale > DECIMAL_SCALE_MAX || units / 10u128.pow(u32::from(scale)) >= INTEGER_BOUND {
            return None;
        }
        Some(Self {
            negative: false,
            mantissa: units,
            scale,
        })
    }

    /// The value as a whole number of `10^-scale` units (`10.5` at scale 2 is `1050`);
    /// `None` if it is negative or has more fraction digits than `scale`.
    pub(crate) fn to_units(self, scale: u8) -> Option<u128> {
        if self.negative {
            return None;
        }
        self.with_scale(scale).map(|d| d.mantissa)
    }

    /// The value × 10^18 as an `i128` (exact: at most 36 digits).
    fn scaled_18(&self) -> i128 {
        let magnitude = self.mantissa * 10u128.pow(u32::from(DECIMAL_SCALE_MAX - self.scale));
        // Below 10^36 < i128::MAX by the digit limits.
        let magnitude = i128::try_from(magnitude).unwrap_or(i128::MAX);
        if self.negative { -magnitude } else { magnitude }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.scaled_18() == other.scaled_18()
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.scaled_18().cmp(&other.scaled_18())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = usize::from(self.scale);
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (integer, fraction) = padded.split_at(padded.len() - scale);
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(integer)?;
        if scale > 0 {
            write!(f, ".{fraction}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn parses_and_displays_exactly() {
        for text in [
            "0",
            "12.50",
            "-3.125",
            "0.05",
            "100",
            "999999999999999999.999999999999999999",
        ] {
            assert_eq!(d(text).to_string(), text);
        }
        assert_eq!(d("-0.00").to_string(), "0.00");
        assert_eq!(d("007").to_string(), "7");
        for bad in [
            "", "-", ".5", "5.", "+1", "1e3", "1,000", " 1", "1.2.3", "١",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Decimal::parse("1234567890123456789").is_none());
        assert!(Decimal::parse("0.1234567890123456789").is_none());
    }

    #[test]
    fn compares_numerically_and_rescales() {
        assert_eq!(d("1.5"), d("1.50"));
        assert!(d("-2") < d("1.999"));
        assert!(d("24") < d("24.01"));
        assert_eq!(d("1.5").with_scale(2).unwrap().to_string(), "1.50");
        assert_eq!(d("1.50").with_scale(1).unwrap().to_string(), "1.5");
        assert!(d("1.55").with_scale(1).is_none());
    }

    #[test]
    fn converts_to_and_from_units() {
        assert_eq!(Decimal::from_units(1050, 2).unwrap().to_string(), "10.50");
        assert_eq!(Decimal::from_units(0, 2).unwrap().to_string(), "0.00");
        assert_eq!(d("10.5").to_units(2), Some(1050));
        assert_eq!(d("3").to_units(2), Some(300));
        assert_eq!(d("0.005").to_units(2), None);
        assert_eq!(d("-1").to_units(2), None);
        let max = 10u128.pow(20) - 1; // 999999999999999999.99
        assert_eq!(
            Decimal::from_units(max, 2).unwrap().to_string(),
            "999999999999999999.99"
        );
        assert!(Decimal::from_units(max + 1, 2).is_none());
        assert!(Decimal::from_units(1, 19).is_none());
    }
}
