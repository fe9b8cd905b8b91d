//! Wire types of RFC 3161 (as updated by RFC 5816). The ESS
//! signing-certificate-v2 attribute (RFC 5035) is `affix-cms`'s.
//!
//! These are plain DER structures with public fields, one per ASN.1 type, the
//! RFC's definition quoted on each. They carry no validation beyond what DER
//! decoding enforces: use [`TimeStampRequest`](super::TimeStampRequest) and
//! [`verify_token`](super::verify_token) to get checked values.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Int, OctetString};
use der::{Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;

use super::GenTime;

/// A time-stamp request (RFC 3161 §2.4.1).
///
/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///      --a hash algorithm OID and the hash value of the data to be
///      --time-stamped
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
///
/// TSAPolicyId ::= OBJECT IDENTIFIER
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Syntax version; only `1` is defined.
    pub version: u8,
    /// What is being time-stamped.
    pub message_imprint: MessageImprint,
    /// The TSA policy the requester asks for.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A value the TSA must echo in its token.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the TSA must include its certificate in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Request extensions.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// The hash of the data being time-stamped (RFC 3161 §2.4.1).
///
/// ```text
/// MessageImprint ::= SEQUENCE  {
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash value.
    pub hashed_message: OctetString,
}

/// A time-stamp response (RFC 3161 §2.4.2).
///
/// ```text
/// TimeStampResp ::= SEQUENCE  {
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }
///
/// TimeStampToken ::= ContentInfo
///      -- contentType is id-signedData ([CMS])
///      -- content is SignedData ([CMS])
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// Whether the request was granted, and if not, why.
    pub status: PkiStatusInfo,
    /// The token, present exactly when the status is granted (with or
    /// without modifications).
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// Status of a response (RFC 3161 §2.4.2, from RFC 2510).
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// The status.
    pub status: PkiStatus,
    /// Human-readable text: a `PKIFreeText`, which is
    /// `SEQUENCE SIZE (1..MAX) OF UTF8String` (RFC 4210 §5.1.1).
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Why the request was rejected, as a `PKIFailureInfo` bit string; see
    /// [`FailureInfo`].
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// The status of a response (RFC 3161 §2.4.2).
///
/// ```text
/// PKIStatus ::= INTEGER {
///    granted                (0),
///    -- when the PKIStatus contains the value zero a TimeStampToken, as
///    -- requested, is present.
///    grantedWithMods        (1),
///    -- when the PKIStatus contains the value one a TimeStampToken,
///    -- with modifications, is present.
///    rejection              (2),
///    waiting                (3),
///    revocationWarning      (4),
///    -- this message contains a warning that a revocation is
///    -- imminent
///    revocationNotification (5)
///    -- notification that a revocation has occurred  }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
#[non_exhaustive]
pub enum PkiStatus {
    /// A token, as requested, is present.
    Granted = 0,
    /// A token, with modifications, is present.
    GrantedWithMods = 1,
    /// The request was rejected.
    Rejection = 2,
    /// The request has not been processed yet.
    Waiting = 3,
    /// A revocation is imminent.
    RevocationWarning = 4,
    /// A revocation has occurred.
    RevocationNotification = 5,
}

/// One reason for a rejection: a named bit of `PKIFailureInfo`
/// (RFC 3161 §2.4.2).
///
/// ```text
/// PKIFailureInfo ::= BIT STRING {
///     badAlg               (0),
///       -- unrecognized or unsupported Algorithm Identifier
///     badRequest           (2),
///       -- transaction not permitted or supported
///     badDataFormat        (5),
///       -- the data submitted has the wrong format
///     timeNotAvailable    (14),
///       -- the TSA's time source is not available
///     unacceptedPolicy    (15),
///       -- the requested TSA policy is not supported by the TSA.
///     unacceptedExtension (16),
///       -- the requested extension is not supported by the TSA.
///     addInfoNotAvailable (17)
///       -- the additional information requested could not be understood
///       -- or is not available
///     systemFailure       (25)
///       -- the request cannot be handled due to system failure  }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
#[non_exhaustive]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg,
    /// Transaction not permitted or supported.
    BadRequest,
    /// The data submitted has the wrong format.
    BadDataFormat,
    /// The TSA's time source is not available.
    TimeNotAvailable,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension,
    /// The additional information requested could not be understood or is
    /// not available.
    AddInfoNotAvailable,
    /// The request cannot be handled due to system failure.
    SystemFailure,
}

impl FailureInfo {
    const ALL: [FailureInfo; 8] = [
        FailureInfo::BadAlg,
        FailureInfo::BadRequest,
        FailureInfo::BadDataFormat,
        FailureInfo::TimeNotAvailable,
        FailureInfo::UnacceptedPolicy,
        FailureInfo::UnacceptedExtension,
        FailureInfo::AddInfoNotAvailable,
        FailureInfo::SystemFailure,
    ];

    /// Position of this named bit in `PKIFailureInfo`.
    pub const fn bit(self) -> u8 {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::TimeNotAvailable => 14,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::AddInfoNotAvailable => 17,
            FailureInfo::SystemFailure => 25,
        }
    }

    /// The named bit at `bit`, if RFC 3161 defines one there.
    pub fn from_bit(bit: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|f| usize::from(f.bit()) == bit)
    }

    /// The RFC's comment on this bit, used as the `statusString` of
    /// rejections. (OpenSSL prints the same text for the bit.)
    pub const fn description(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "unrecognized or unsupported Algorithm Identifier",
            FailureInfo::BadRequest => "transaction not permitted or supported",
            FailureInfo::BadDataFormat => "the data submitted has the wrong format",
            FailureInfo::TimeNotAvailable => "the TSA's time source is not available",
            FailureInfo::UnacceptedPolicy => "the requested TSA policy is not supported by the TSA",
            FailureInfo::UnacceptedExtension => {
                "the requested extension is not supported by the TSA"
            }
            FailureInfo::AddInfoNotAvailable => {
                "the additional information requested could not be understood or is not available"
            }
            FailureInfo::SystemFailure => "the request cannot be handled due to system failure",
        }
    }

    /// DER `PKIFailureInfo` with only this bit set.
    ///
    /// DER drops trailing zero bits of a named bit list, so the string ends
    /// at this bit.
    pub fn to_bit_string(self) -> der::Result<BitString> {
        let bit = self.bit();
        let mut bytes = vec![0u8; usize::from(bit / 8) + 1];
        if let Some(last) = bytes.last_mut() {
            *last = 0x80 >> (bit % 8);
        }
        BitString::new(7 - bit % 8, bytes)
    }

    /// Named bits set in a `PKIFailureInfo`; bits RFC 3161 does not name
    /// are skipped.
    pub fn from_bit_string(bits: &BitString) -> Vec<Self> {
        bits.bits()
            .enumerate()
            .filter(|(_, set)| *set)
            .filter_map(|(position, _)| Self::from_bit(position))
            .collect()
    }
}

/// The signed content of a time-stamp token (RFC 3161 §2.4.2).
///
/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///      -- MUST have the same value as the similar field in
///      -- TimeStampReq
///    serialNumber                 INTEGER,
///     -- Time-Stamping users MUST be ready to accommodate integers
///     -- up to 160 bits.
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///      -- MUST be present if the similar field was present
///      -- in TimeStampReq.  In that case it MUST have the same value.
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
///
/// `tsa` is tagged `EXPLICIT` although the module uses implicit tags:
/// `GeneralName` is a `CHOICE`, and a tagged `CHOICE` is always explicit
/// (X.680 §31.2.7). OpenSSL encodes it the same way.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// Syntax version; only `1` is defined.
    pub version: u8,
    /// The TSA policy under which the token was issued.
    pub policy: ObjectIdentifier,
    /// Copy of the request's imprint.
    pub message_imprint: MessageImprint,
    /// Serial number, unique per TSA.
    pub serial_number: Int,
    /// When the token was made.
    pub gen_time: GenTime,
    /// How far `gen_time` may be from UTC.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens from this TSA can be ordered by `gen_time` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce, echoed.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Name of the TSA.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Token extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// How far the time in a token may deviate from UTC (RFC 3161 §2.4.2).
///
/// ```text
/// Accuracy ::= SEQUENCE {
///       seconds        INTEGER           OPTIONAL,
///       millis     [0] INTEGER  (1..999) OPTIONAL,
///       micros     [1] INTEGER  (1..999) OPTIONAL  }
/// ```
///
/// A missing field counts as zero.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// Milliseconds, 1 to 999.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds, 1 to 999.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn failure_info_bits_round_trip() {
        for failure in FailureInfo::ALL {
            let bits = failure.to_bit_string().unwrap();
            assert_eq!(FailureInfo::from_bit_string(&bits), vec![failure]);
            // DER named bit lists carry no trailing zero bits.
            assert!(bits.raw_bytes().last().is_some_and(|b| *b != 0));
        }
    }

    #[test]
    fn unaccepted_policy_is_bit_15() {
        // `03 03 00 00 01`: no unused bits, bit 15 (the last) set.
        let der = FailureInfo::UnacceptedPolicy
            .to_bit_string()
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(der, [0x03, 0x03, 0x00, 0x00, 0x01]);
    }
}
