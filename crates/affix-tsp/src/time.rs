//! `genTime`: a GeneralizedTime that may carry fractional seconds.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{DateTime, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};

use super::Error;

/// Longest encoding: `YYYYMMDDhhmmss.fffffffffZ`.
const ENCODED_BYTES_MAX: usize = 25;
/// Shortest encoding: `YYYYMMDDhhmmssZ`.
const ENCODED_BYTES_MIN: usize = 15;
/// Position of the optional `.` after the whole seconds.
const WHOLE_SECONDS_BYTES: usize = 14;

/// The time at which a token was made, with up to nanosecond precision.
///
/// RFC 3161 §2.4.2 encodes it as a `GeneralizedTime` in UTC that, unlike
/// RFC 5280 times, may carry a fraction of a second:
///
/// ```text
/// genTime is the time at which the time-stamp token has been created by
/// the TSA. [...] The syntax is: YYYYMMDDhhmmss[.s...]Z
/// Example: 19990609001326.34352Z
///
/// X.690 | ISO/IEC 8825-1 provides the following restrictions for a
/// DER-encoding.
///    The encoding MUST terminate with a "Z" [...].
///    The decimal point element, if present, MUST be the point option ".".
///    The fractional-seconds elements, if present, MUST omit all trailing
///    zeros; if the elements correspond to 0, they MUST be wholly omitted,
///    and the decimal point element also MUST be omitted.
/// ```
///
/// Values are between 1970 and 9999 (the range of [`der::DateTime`]).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Ord, PartialOrd, Hash)]
pub struct GenTime(Duration);

impl GenTime {
    /// The time this long after the Unix epoch.
    pub fn from_unix_duration(since_epoch: Duration) -> Result<Self, Error> {
        DateTime::from_unix_duration(Duration::from_secs(since_epoch.as_secs()))
            .map_err(|_| Error::TimeOutOfRange)?;
        Ok(Self(since_epoch))
    }

    /// The time this many milliseconds after the Unix epoch.
    pub fn from_unix_millis(millis: u64) -> Result<Self, Error> {
        Self::from_unix_duration(Duration::from_millis(millis))
    }

    /// The same instant as `time`.
    pub fn from_system_time(time: SystemTime) -> Result<Self, Error> {
        let since_epoch = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::TimeOutOfRange)?;
        Self::from_unix_duration(since_epoch)
    }

    /// Time since the Unix epoch.
    pub fn unix_duration(self) -> Duration {
        self.0
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + self.0
    }

    /// This time with the fraction cut to whole milliseconds (the precision
    /// of issued tokens).
    pub fn truncated_to_millis(self) -> Self {
        let millis_nanos = self.0.subsec_millis() * 1_000_000;
        Self(Duration::new(self.0.as_secs(), millis_nanos))
    }

    /// The `GeneralizedTime` characters: `YYYYMMDDhhmmss[.f...]Z`.
    fn to_ascii(self) -> der::Result<String> {
        let date_time = DateTime::from_unix_duration(Duration::from_secs(self.0.as_secs()))?;
        let mut text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            date_time.year(),
            date_time.month(),
            date_time.day(),
            date_time.hour(),
            date_time.minutes(),
            date_time.seconds()
        );
        let nanos = self.0.subsec_nanos();
        if nanos != 0 {
            text.push('.');
            text.push_str(format!("{nanos:09}").trim_end_matches('0'));
        }
        text.push('Z');
        Ok(text)
    }

    /// Parses the `GeneralizedTime` characters; `None` if they are not the
    /// DER form RFC 3161 allows.
    fn from_ascii(text: &[u8]) -> Option<Self> {
        let (&last, body) = text.split_last()?;
        if last != b'Z' {
            return None;
        }
        let whole = body.get(..WHOLE_SECONDS_BYTES)?;
        let number = |range: core::ops::Range<usize>| -> Option<u16> {
            let digits = whole.get(range)?;
            digits.iter().try_fold(0u16, |value, c| {
                c.is_ascii_digit().then(|| value * 10 + u16::from(c - b'0'))
            })
        };
        let small = |range| number(range).and_then(|n| u8::try_from(n).ok());
        let date_time = DateTime::new(
            number(0..4)?,
            small(4..6)?,
            small(6..8)?,
            small(8..10)?,
            small(10..12)?,
            small(12..14)?,
        )
        .ok()?;

        let nanos = match body.get(WHOLE_SECONDS_BYTES..)? {
            [] => 0,
            [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
                if digits.last() == Some(&b'0') {
                    return None;
                }
                let value = digits.iter().try_fold(0u32, |value, c| {
                    c.is_ascii_digit().then(|| value * 10 + u32::from(c - b'0'))
                })?;
                // Scale to nanoseconds: `digits.len()` is 1..=9.
                (digits.len()..9).fold(value, |nanos, _| nanos * 10)
            }
            _ => return None,
        };
        Some(Self(
            date_time.unix_duration() + Duration::from_nanos(u64::from(nanos)),
        ))
    }
}

impl fmt::Display for GenTime {
    /// RFC 3339 in UTC, e.g. `2026-01-31T12:00:00.123Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(date_time) = DateTime::from_unix_duration(Duration::from_secs(self.0.as_secs()))
        else {
            return write!(f, "{}s after the Unix epoch", self.0.as_secs());
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date_time.year(),
            date_time.month(),
            date_time.day(),
            date_time.hour(),
            date_time.minutes(),
            date_time.seconds()
        )?;
        let nanos = self.0.subsec_nanos();
        if nanos.is_multiple_of(1_000_000) && nanos != 0 {
            write!(f, ".{:03}", nanos / 1_000_000)?;
        } else if nanos != 0 {
            write!(f, ".{nanos:09}")?;
        }
        f.write_str("Z")
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let length = usize::try_from(header.length())?;
        if !(ENCODED_BYTES_MIN..=ENCODED_BYTES_MAX).contains(&length) {
            return Err(reader.error(Self::TAG.value_error()));
        }
        let mut buffer = [0u8; ENCODED_BYTES_MAX];
        let text = reader.read_into(buffer.get_mut(..length).unwrap_or_default())?;
        match Self::from_ascii(text) {
            Some(time) => Ok(time),
            None => Err(reader.error(Self::TAG.value_error())),
        }
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.to_ascii()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.to_ascii()?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    fn encode(time: GenTime) -> String {
        let der = time.to_der().unwrap();
        assert_eq!(der[0], 0x18);
        String::from_utf8(der[2..].to_vec()).unwrap()
    }

    #[test]
    fn whole_seconds_have_no_fraction() {
        let time = GenTime::from_unix_duration(Duration::from_secs(1_700_000_000)).unwrap();
        assert_eq!(encode(time), "20231114221320Z");
        assert_eq!(time.to_string(), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn fractions_drop_trailing_zeros() {
        let time = GenTime::from_unix_millis(1_700_000_000_120).unwrap();
        assert_eq!(encode(time), "20231114221320.12Z");
        assert_eq!(time.to_string(), "2023-11-14T22:13:20.120Z");
        let nanos = GenTime::from_unix_duration(Duration::new(0, 1)).unwrap();
        assert_eq!(encode(nanos), "19700101000000.000000001Z");
    }

    #[test]
    fn decodes_the_rfc_example() {
        let der = b"\x18\x1519990609001326.34352Z";
        let time = GenTime::from_der(der).unwrap();
        assert_eq!(
            time.unix_duration(),
            Duration::new(928_887_206, 343_520_000)
        );
        assert_eq!(time.to_der().unwrap(), der);
    }

    #[test]
    fn rejects_non_der_forms() {
        for bad in [
            &b"20231114221320.120Z"[..], // trailing zero
            b"20231114221320.Z",         // empty fraction
            b"20231114221320,1Z",        // comma
            b"20231114221320",           // no Z
            b"202311142213Z",            // no seconds
            b"20231114221360Z",          // second 60
            b"2023111422132+Z",
            b"20231114221320.1234567891Z", // ten digits
        ] {
            let mut der = vec![0x18, u8::try_from(bad.len()).unwrap()];
            der.extend_from_slice(bad);
            assert!(
                GenTime::from_der(&der).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn truncates_to_millis() {
        let time = GenTime::from_unix_duration(Duration::new(5, 123_456_789)).unwrap();
        assert_eq!(
            time.truncated_to_millis().unix_duration(),
            Duration::new(5, 123_000_000)
        );
    }
}
