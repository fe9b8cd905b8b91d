//! The record type, its builder, and the v1 encoding.
//!
//! ```text
//! magic        4 bytes  "AFXE"
//! version      u8       0x01
//! kind         u8 len + [a-z0-9._-]{1,64}
//! subject      u8 len + [A-Za-z0-9._:-]{1,128}
//! event_time   u64 BE   milliseconds since 1970-01-01T00:00:00Z, < year 10000
//! submitter    u8 len + [A-Za-z0-9._:/@-]{1,128}
//! digests      u8 count (1..=16), each: u8 len + label [a-z0-9._-]{1,32},
//!                                      u8 algorithm, digest (32 bytes)
//!                                      sorted by (label, algorithm), unique
//! commitments  u8 count (0..=16), each: u8 len + label, u8 algorithm, 32 bytes
//!                                      sorted by label, unique
//! metadata     u8 count (0..=32), each: u8 len + key [a-z0-9._-]{1,64},
//!                                      u16 BE len + UTF-8 value (0..=1024 bytes,
//!                                      no control characters)
//!                                      sorted by key, unique
//! (end: no trailing bytes; whole record <= 16384 bytes)
//! ```

use crate::Error;
use crate::commitment::Commitment;

/// First four bytes of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"AFXE";

/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u8 = 1;

/// Largest encoded record, in bytes.
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

/// Most content digests in one record.
pub const MAX_DIGESTS: usize = 16;

/// Most commitments in one record.
pub const MAX_COMMITMENTS: usize = 16;

/// Most metadata entries in one record.
pub const MAX_METADATA: usize = 32;

/// Longest metadata value, in bytes.
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;

/// Exclusive upper bound of event times: 10000-01-01T00:00:00Z.
const MAX_EVENT_TIME_MS: u64 = 253_402_300_800_000;

/// Event times: milliseconds since the Unix epoch, UTC (defined in `affix-time`, the
/// one place Affix computes calendar dates).
pub use affix_time::UnixMillis;

/// Hash algorithm of a content digest or commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256 (FIPS 180-4), byte `0x01`.
    Sha256,
    /// SM3 (GB/T 32905-2016), byte `0x02`.
    Sm3,
}

impl DigestAlgorithm {
    fn byte(self) -> u8 {
        match self {
            DigestAlgorithm::Sha256 => 0x01,
            DigestAlgorithm::Sm3 => 0x02,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(DigestAlgorithm::Sha256),
            0x02 => Some(DigestAlgorithm::Sm3),
            _ => None,
        }
    }

    /// Name: `sha256` or `sm3`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sm3 => "sm3",
        }
    }

    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> [u8; 32] {
        use sha2::Digest as _;
        match self {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).into(),
            DigestAlgorithm::Sm3 => sm3::Sm3::digest(data).into(),
        }
    }
}

/// A labelled digest of some content the event concerns (`document`, `signature-image`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContentDigest {
    label: String,
    algorithm: DigestAlgorithm,
    value: [u8; 32],
}

impl ContentDigest {
    /// What the digest is of.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Hash algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// Digest bytes.
    pub fn value(&self) -> &[u8; 32] {
        &self.value
    }
}

/// One evidence event, valid by construction. Build with [`EvidenceRecord::builder`] or
/// [`EvidenceRecord::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    kind: String,
    subject: String,
    event_time: UnixMillis,
    submitter: String,
    digests: Vec<ContentDigest>,
    commitments: Vec<Commitment>,
    metadata: Vec<(String, String)>,
}

/// Collects the fields of a record; [`EvidenceRecordBuilder::build`] validates and sorts.
#[derive(Debug, Clone)]
pub struct EvidenceRecordBuilder {
    record: EvidenceRecord,
}

impl EvidenceRecord {
    /// Starts a record: event kind (`contract.signed`), subject id (an opaque identifier
    /// such as a contract UUID — never a name), event time, submitter (account or key name).
    pub fn builder(
        kind: &str,
        subject: &str,
        event_time: UnixMillis,
        submitter: &str,
    ) -> EvidenceRecordBuilder {
        EvidenceRecordBuilder {
            record: EvidenceRecord {
                kind: kind.to_owned(),
                subject: subject.to_owned(),
                event_time,
                submitter: submitter.to_owned(),
                digests: Vec::new(),
                commitments: Vec::new(),
                metadata: Vec::new(),
            },
        }
    }

    /// Event kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Subject identifier.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// When the event happened, as asserted by the submitter.
    pub fn event_time(&self) -> UnixMillis {
        self.event_time
    }

    /// Who submitted the record.
    pub fn submitter(&self) -> &str {
        &self.submitter
    }

    /// Content digests, sorted by label then algorithm.
    pub fn digests(&self) -> &[ContentDigest] {
        &self.digests
    }

    /// Commitments to personal data, sorted by label.
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    /// Metadata, sorted by key.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// Whether one of the record's digests is the digest of `content` (under its own
    /// algorithm), optionally restricted to one label.
    pub fn covers(&self, content: &[u8], label: Option<&str>) -> bool {
        self.digests
            .iter()
            .any(|d| label.is_none_or(|l| d.label == l) && d.algorithm.digest(content) == d.value)
    }

    /// The canonical v1 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&RECORD_MAGIC);
        out.push(FORMAT_VERSION);
        put_str8(&mut out, &self.kind);
        put_str8(&mut out, &self.subject);
        out.extend_from_slice(&self.event_time.0.to_be_bytes());
        put_str8(&mut out, &self.submitter);
        put_len8(&mut out, self.digests.len());
        for d in &self.digests {
            put_str8(&mut out, &d.label);
            out.push(d.algorithm.byte());
            out.extend_from_slice(&d.value);
        }
        put_len8(&mut out, self.commitments.len());
        for c in &self.commitments {
            put_str8(&mut out, &c.label);
            out.push(c.algorithm.byte());
            out.extend_from_slice(&c.value);
        }
        put_len8(&mut out, self.metadata.len());
        for (k, v) in &self.metadata {
            put_str8(&mut out, k);
            // Values are validated to at most 1024 bytes.
            out.extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        out
    }

    /// Decodes canonical v1 bytes, rejecting anything [`EvidenceRecord::encode`] would not
    /// produce.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                actual: bytes.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != RECORD_MAGIC {
            return Err(r.malformed("not an Affix evidence record (bad magic)"));
        }
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let kind = r.str8()?;
        let subject = r.str8()?;
        let event_time = UnixMillis(u64::from_be_bytes(
            r.take(8)?
                .try_into()
                .map_err(|_| r.malformed("short time"))?,
        ));
        let submitter = r.str8()?;
        let mut builder = EvidenceRecord::builder(&kind, &subject, event_time, &submitter);
        for _ in 0..r.u8()? {
            let label = r.str8()?;
            let algorithm = r.algorithm()?;
            let value = r.array32()?;
            builder = builder.digest_value(&label, algorithm, value);
        }
        for _ in 0..r.u8()? {
            let label = r.str8()?;
            let algorithm = r.algorithm()?;
            let value = r.array32()?;
            builder.record.commitments.push(Commitment {
                label,
                algorithm,
                value,
            });
        }
        for _ in 0..r.u8()? {
            let key = r.str8()?;
            let len = usize::from(u16::from_be_bytes([r.u8()?, r.u8()?]));
            let value = std::str::from_utf8(r.take(len)?)
                .map_err(|_| r.malformed("metadata value is not UTF-8"))?
                .to_owned();
            builder = builder.metadata(&key, &value);
        }
        if r.pos != bytes.len() {
            return Err(r.malformed("trailing bytes"));
        }
        let record = builder.build()?;
        // Validation sorted the lists; canonical input was already sorted.
        if record.encode() != bytes {
            return Err(Error::Malformed {
                offset: 0,
                reason: "not in canonical order",
            });
        }
        Ok(record)
    }
}

impl EvidenceRecordBuilder {
    /// Adds the digest of `content` under `label`.
    pub fn digest_of(self, label: &str, algorithm: DigestAlgorithm, content: &[u8]) -> Self {
        let value = algorithm.digest(content);
        self.digest_value(label, algorithm, value)
    }

    /// Adds a digest computed elsewhere.
    pub fn digest_value(
        mut self,
        label: &str,
        algorithm: DigestAlgorithm,
        value: [u8; 32],
    ) -> Self {
        self.record.digests.push(ContentDigest {
            label: label.to_owned(),
            algorithm,
            value,
        });
        self
    }

    /// Adds a commitment to a personal value (see [`Commitment::compute`]).
    pub fn commitment(mut self, commitment: Commitment) -> Self {
        self.record.commitments.push(commitment);
        self
    }

    /// Adds a metadata entry. Metadata must not contain personal data.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.record
            .metadata
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// Validates every field, sorts the lists and returns the record.
    pub fn build(self) -> Result<EvidenceRecord, Error> {
        let mut r = self.record;
        check_token("kind", &r.kind, 64, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
        })?;
        check_token("subject", &r.subject, 128, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
        })?;
        check_token("submitter", &r.submitter, 128, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '@' | '-')
        })?;
        if r.event_time.0 >= MAX_EVENT_TIME_MS {
            return Err(Error::InvalidField {
                field: "event time",
                reason: "must be before the year 10000",
            });
        }
        if r.digests.is_empty() {
            return Err(Error::NoDigest);
        }
        check_count("digests", r.digests.len(), MAX_DIGESTS)?;
        check_count("commitments", r.commitments.len(), MAX_COMMITMENTS)?;
        check_count("metadata entries", r.metadata.len(), MAX_METADATA)?;
        for d in &r.digests {
            check_label("digest label", &d.label)?;
        }
        for c in &r.commitments {
            check_label("commitment label", &c.label)?;
        }
        for (k, v) in &r.metadata {
            check_token("metadata key", k, 64, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })?;
            if v.len() > MAX_METADATA_VALUE_BYTES {
                return Err(Error::InvalidField {
                    field: "metadata value",
                    reason: "longer than 1024 bytes",
                });
            }
            if v.chars().any(char::is_control) {
                return Err(Error::InvalidField {
                    field: "metadata value",
                    reason: "contains a control character",
                });
            }
        }
        r.digests
            .sort_by(|a, b| (&a.label, a.algorithm).cmp(&(&b.label, b.algorithm)));
        if let Some(w) = r
            .digests
            .windows(2)
            .find(|w| w[0].label == w[1].label && w[0].algorithm == w[1].algorithm)
        {
            return Err(Error::Duplicate {
                field: "digest",
                name: format!("{}/{}", w[0].label, w[0].algorithm.name()),
            });
        }
        r.commitments.sort_by(|a, b| a.label.cmp(&b.label));
        if let Some(w) = r.commitments.windows(2).find(|w| w[0].label == w[1].label) {
            return Err(Error::Duplicate {
                field: "commitment",
                name: w[0].label.clone(),
            });
        }
        r.metadata.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = r.metadata.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::Duplicate {
                field: "metadata key",
                name: w[0].0.clone(),
            });
        }
        let len = r.encode().len();
        if len > MAX_RECORD_BYTES {
            return Err(Error::TooLarge {
                actual: len,
                limit: MAX_RECORD_BYTES,
            });
        }
        Ok(r)
    }
}

fn check_count(field: &'static str, count: usize, limit: usize) -> Result<(), Error> {
    if count > limit {
        return Err(Error::TooMany {
            field,
            count,
            limit,
        });
    }
    Ok(())
}

/// Labels of digests and commitments: `[a-z0-9._-]{1,32}`.
pub(crate) fn check_label(field: &'static str, label: &str) -> Result<(), Error> {
    check_token(field, label, 32, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
    })
}

fn check_token(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), Error> {
    if value.is_empty() || value.len() > max {
        return Err(Error::InvalidField {
            field,
            reason: "empty or too long",
        });
    }
    if !value.chars().all(allowed) {
        return Err(Error::InvalidField {
            field,
            reason: "contains a character outside its alphabet",
        });
    }
    Ok(())
}

fn put_len8(out: &mut Vec<u8>, len: usize) {
    // Every list and string is validated to at most 255 items/bytes before encoding.
    out.push(u8::try_from(len).unwrap_or(u8::MAX));
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    put_len8(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn malformed(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.pos,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(self.malformed("truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn str8(&mut self) -> Result<String, Error> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| self.malformed("string is not UTF-8"))
    }

    fn algorithm(&mut self) -> Result<DigestAlgorithm, Error> {
        let b = self.u8()?;
        DigestAlgorithm::from_byte(b).ok_or(self.malformed("unknown digest algorithm"))
    }

    fn array32(&mut self) -> Result<[u8; 32], Error> {
        let s = self.take(32)?;
        let mut a = [0u8; 32];
        a.copy_from_slice(s);
        Ok(a)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::Salt;

    fn sample() -> EvidenceRecord {
        EvidenceRecord::builder(
            "contract.signed",
            "c-7f3a9e",
            UnixMillis(1_795_000_000_123),
            "tenant-1/party-2",
        )
        .digest_of("document", DigestAlgorithm::Sha256, b"contract text")
        .digest_of("document", DigestAlgorithm::Sm3, b"contract text")
        .commitment(
            Commitment::compute(
                DigestAlgorithm::Sha256,
                "signer.name",
                &Salt([3; 32]),
                "张三".as_bytes(),
            )
            .unwrap(),
        )
        .metadata("step", "3")
        .metadata("ceremony", "sequential")
        .build()
        .unwrap()
    }

    #[test]
    fn round_trips_and_sorts() {
        let r = sample();
        assert_eq!(r.metadata()[0].0, "ceremony");
        let bytes = r.encode();
        assert_eq!(EvidenceRecord::decode(&bytes).unwrap(), r);
        assert!(r.covers(b"contract text", Some("document")));
        assert!(!r.covers(b"contract text!", None));
        assert!(!r.covers(b"contract text", Some("image")));
    }

    #[test]
    fn rejects_invalid_fields() {
        let t = UnixMillis(0);
        let base = |kind: &str, subject: &str| {
            EvidenceRecord::builder(kind, subject, t, "s").digest_of(
                "d",
                DigestAlgorithm::Sha256,
                b"x",
            )
        };
        assert!(base("Contract.Signed", "s").build().is_err());
        assert!(base("", "s").build().is_err());
        assert!(base("k", "张三").build().is_err());
        assert!(base("k", &"a".repeat(129)).build().is_err());
        assert_eq!(
            EvidenceRecord::builder("k", "s", t, "s")
                .build()
                .unwrap_err(),
            Error::NoDigest
        );
        assert!(matches!(
            base("k", "s")
                .digest_of("d", DigestAlgorithm::Sha256, b"y")
                .build(),
            Err(Error::Duplicate { .. })
        ));
        assert!(matches!(
            base("k", "s").metadata("a", "1").metadata("a", "2").build(),
            Err(Error::Duplicate { .. })
        ));
        assert!(base("k", "s").metadata("a", "line\nbreak").build().is_err());
        assert!(
            base("k", "s")
                .metadata("a", &"x".repeat(1025))
                .build()
                .is_err()
        );
        let mut many = base("k", "s");
        for i in 0..33 {
            many = many.metadata(&format!("k{i}"), "v");
        }
        assert!(matches!(many.build(), Err(Error::TooMany { .. })));
        let mut big = base("k", "s");
        for i in 0..20 {
            big = big.metadata(&format!("k{i:02}"), &"v".repeat(1000));
        }
        assert!(matches!(big.build(), Err(Error::TooLarge { .. })));
        assert!(
            EvidenceRecord::builder("k", "s", UnixMillis(u64::MAX), "s")
                .digest_of("d", DigestAlgorithm::Sha256, b"x")
                .build()
                .is_err()
        );
    }

    #[test]
    fn rejects_non_canonical_bytes() {
        let bytes = sample().encode();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            EvidenceRecord::decode(&trailing),
            Err(Error::Malformed { .. })
        ));
        let mut version = bytes.clone();
        version[4] = 2;
        assert_eq!(
            EvidenceRecord::decode(&version).unwrap_err(),
            Error::UnsupportedVersion(2)
        );
        assert!(EvidenceRecord::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(EvidenceRecord::decode(b"").is_err());
        assert!(EvidenceRecord::decode(b"AFXF\x01").is_err());
        // Swap the two metadata entries ("ceremony" < "step"): same content, wrong order.
        let r = sample();
        let mut unsorted = r.clone();
        unsorted.metadata.reverse();
        let err = EvidenceRecord::decode(&unsorted.encode()).unwrap_err();
        assert!(err.to_string().contains("canonical"), "{err}");
    }

    #[test]
    fn rfc3339_rendering() {
        assert_eq!(UnixMillis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(951_782_400_001).to_rfc3339(),
            "2000-02-29T00:00:00.001Z"
        );
        assert_eq!(
            UnixMillis(MAX_EVENT_TIME_MS - 1).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
                let _ = EvidenceRecord::decode(&bytes);
            }

            #[test]
            fn mutations_of_valid_records_never_panic(pos in 0usize..400, val in any::<u8>()) {
                let mut bytes = sample().encode();
                let p = pos % bytes.len();
                bytes[p] = val;
                if let Ok(r) = EvidenceRecord::decode(&bytes) {
                    prop_assert_eq!(r.encode(), bytes);
                }
            }
        }
    }
}
