//! Signature time-stamp tokens (RFC 3161) carried as the CAdES-T unsigned attribute
//! `id-aa-signatureTimeStampToken` (RFC 3161 appendix A, RFC 5126 §6.1.1).
//!
//! This module does not verify tokens: the TSA module does. It parses just enough of the
//! token — `ContentInfo` → `SignedData` → `eContent` → `TSTInfo` — to check that the
//! message imprint covers this signature value and to read `genTime`.

use std::time::{Duration, SystemTime};

use cms::{content_info::ContentInfo, signed_data::SignedData};
use der::{
    AnyRef, DateTime, Decode, Reader, SliceReader, Tag, Tagged,
    asn1::{Int, ObjectIdentifier, OctetString},
};
use spki::AlgorithmIdentifierOwned;

use super::{DigestAlgorithm, Error, TIMESTAMP_TOKEN_BYTES_MAX, oid};

/// Verifies RFC 3161 time-stamp tokens: the hook through which the TSA module plugs into
/// [`verify_detached_timestamped`](super::verify_detached_timestamped).
pub trait TimestampTokenVerifier {
    /// The verifier's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Fully verifies `token_der` (a DER `ContentInfo` holding `SignedData` over
    /// `TSTInfo`): the TSA's signature, the TSA certificate and its chain to the TSA
    /// trust anchors, and that the message imprint is the hash of `timestamped_data`.
    /// Returns the token's `genTime`.
    fn verify_timestamp_token(
        &self,
        token_der: &[u8],
        timestamped_data: &[u8],
    ) -> Result<SystemTime, Self::Error>;
}

/// A signature time-stamp token found in a `SignerInfo`, with its message imprint checked
/// against the signature value.
///
/// The token's own signature has **not** been verified: [`Self::unverified_gen_time`]
/// is only what the token claims until a [`TimestampTokenVerifier`] has accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedTimestamp {
    token_der: Vec<u8>,
    imprint_algorithm: DigestAlgorithm,
    gen_time: SystemTime,
}

impl EmbeddedTimestamp {
    /// Parses `token_der` and checks that its message imprint is the hash of
    /// `signature_value` under the imprint's own hash algorithm.
    pub(super) fn from_token(token_der: &[u8], signature_value: &[u8]) -> Result<Self, Error> {
        let summary = TstInfoSummary::from_token(token_der)?;
        if summary.imprint_algorithm.digest(signature_value) != summary.hashed_message {
            return Err(Error::TimestampImprintMismatch);
        }
        Ok(EmbeddedTimestamp {
            token_der: token_der.to_vec(),
            imprint_algorithm: summary.imprint_algorithm,
            gen_time: summary.gen_time,
        })
    }

    /// The token, DER `ContentInfo`, exactly as embedded.
    pub fn token_der(&self) -> &[u8] {
        &self.token_der
    }

    /// The hash algorithm of the token's message imprint.
    pub fn imprint_algorithm(&self) -> DigestAlgorithm {
        self.imprint_algorithm
    }

    /// The `genTime` the token claims (sub-second precision kept). Unverified.
    pub fn unverified_gen_time(&self) -> SystemTime {
        self.gen_time
    }
}

/// What we read from a token's `TSTInfo`.
struct TstInfoSummary {
    imprint_algorithm: DigestAlgorithm,
    hashed_message: Vec<u8>,
    gen_time: SystemTime,
}

impl TstInfoSummary {
    fn from_token(token_der: &[u8]) -> Result<Self, Error> {
        let malformed = |reason| Error::TimestampMalformed { reason };
        if token_der.len() > TIMESTAMP_TOKEN_BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "time-stamp token",
                len: token_der.len(),
                max: TIMESTAMP_TOKEN_BYTES_MAX,
            });
        }
        let content_info =
            ContentInfo::from_der(token_der).map_err(|_| malformed("not a ContentInfo"))?;
        if content_info.content_type != oid::SIGNED_DATA {
            return Err(malformed("not SignedData"));
        }
        let signed_data = content_info
            .content
            .decode_as::<SignedData>()
            .map_err(|_| malformed("SignedData cannot be decoded"))?;
        if signed_data.encap_content_info.econtent_type != oid::TST_INFO {
            return Err(malformed("eContentType is not id-ct-TSTInfo"));
        }
        let econtent = signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or(malformed("eContent is absent"))?;
        if econtent.tag() != Tag::OctetString {
            return Err(malformed("eContent is not an OCTET STRING"));
        }
        Self::from_tst_info(econtent.value())
    }

    /// Parses the prefix of `TSTInfo` we need (RFC 3161 §2.4.2); later fields
    /// (accuracy, ordering, nonce, tsa, extensions) are skipped.
    ///
    /// ```text
    /// TSTInfo ::= SEQUENCE  {
    ///    version                      INTEGER  { v1(1) },
    ///    policy                       TSAPolicyId,
    ///    messageImprint               MessageImprint,
    ///    serialNumber                 INTEGER,
    ///    genTime                      GeneralizedTime,
    ///    ...  }
    /// MessageImprint ::= SEQUENCE  {
    ///    hashAlgorithm                AlgorithmIdentifier,
    ///    hashedMessage                OCTET STRING  }
    /// ```
    fn from_tst_info(tst_info_der: &[u8]) -> Result<Self, Error> {
        let malformed = |_| Error::TimestampMalformed {
            reason: "TSTInfo cannot be decoded",
        };
        let mut reader = SliceReader::new(tst_info_der).map_err(malformed)?;
        let (version, algorithm, hashed_message, gen_time) = reader
            .sequence(|reader| {
                let version: u8 = reader.decode()?;
                let _policy: ObjectIdentifier = reader.decode()?;
                let (algorithm, hashed_message) = reader.sequence(|imprint| {
                    let algorithm: AlgorithmIdentifierOwned = imprint.decode()?;
                    let hashed_message: OctetString = imprint.decode()?;
                    Ok::<_, der::Error>((algorithm, hashed_message))
                })?;
                let _serial_number: Int = reader.decode()?;
                let gen_time: AnyRef<'_> = reader.decode()?;
                let rest = reader.remaining_len();
                reader.drain(rest)?;
                Ok::<_, der::Error>((version, algorithm, hashed_message, gen_time))
            })
            .map_err(malformed)?;
        reader.finish().map_err(malformed)?;
        if version != 1 {
            return Err(Error::TimestampMalformed {
                reason: "TSTInfo version is not 1",
            });
        }
        if gen_time.tag() != Tag::GeneralizedTime {
            return Err(Error::TimestampMalformed {
                reason: "genTime is not a GeneralizedTime",
            });
        }
        Ok(TstInfoSummary {
            imprint_algorithm: DigestAlgorithm::from_algorithm_identifier(&algorithm)?,
            hashed_message: Vec::from(hashed_message.into_bytes()),
            gen_time: parse_generalized_time(gen_time.value()).ok_or(
                Error::TimestampMalformed {
                    reason: "genTime is not YYYYMMDDHHMMSS[.f]Z",
                },
            )?,
        })
    }
}

/// Parses `YYYYMMDDHHMMSS[.fff...]Z` (RFC 3161 §2.4.2: UTC, seconds mandatory, optional
/// fraction without trailing zeros). `None` if anything else.
fn parse_generalized_time(text: &[u8]) -> Option<SystemTime> {
    let (digits, rest) = text.split_at_checked(14)?;
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let mut value = 0u16;
        for &byte in digits.get(range)? {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u16::from(byte - b'0'))?;
        }
        Some(value)
    };
    let small = |range| number(range).and_then(|value| u8::try_from(value).ok());
    let date_time = DateTime::new(
        number(0..4)?,
        small(4..6)?,
        small(6..8)?,
        small(8..10)?,
        small(10..12)?,
        small(12..14)?,
    )
    .ok()?;
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', fraction @ .., b'Z']
            if !fraction.is_empty()
                && fraction.len() <= 9
                && fraction.iter().all(u8::is_ascii_digit)
                && fraction.last() != Some(&b'0') =>
        {
            let mut nanos = 0u32;
            for position in 0..9 {
                let digit = fraction
                    .get(position)
                    .map_or(0, |byte| u32::from(byte - b'0'));
                nanos = nanos * 10 + digit;
            }
            nanos
        }
        _ => return None,
    };
    date_time
        .to_system_time()
        .checked_add(Duration::from_nanos(u64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn generalized_time_accepts_whole_and_fractional_seconds() {
        let whole = parse_generalized_time(b"20260509073000Z").unwrap();
        assert_eq!(
            whole.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_secs(1_778_311_800)
        );
        let fraction = parse_generalized_time(b"20260509073000.25Z").unwrap();
        assert_eq!(
            fraction.duration_since(whole).unwrap(),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn generalized_time_rejects_non_canonical_forms() {
        for text in [
            &b"20260509073000"[..],
            b"202605090730Z",
            b"20260509073000.Z",
            b"20260509073000.50Z",
            b"20260509073000+0100",
            b"20261309073000Z",
            b"2026050907300aZ",
            b"20260509073000.1234567891Z",
            b"",
        ] {
            assert!(parse_generalized_time(text).is_none(), "{text:?}");
        }
    }
}
