//! Certificate authorities, certificate profiles and issuance.
//!
//! An [`Issuer`] binds a CA certificate to a signer handle. It is created
//! either as a self-signed root ([`Issuer::create_root`]) or from a CA
//! certificate issued elsewhere ([`Issuer::new`], e.g. an issuing CA
//! certificate made by [`Issuer::issue_subordinate_ca`]). Construction checks
//! that the certificate is a CA certificate and that the signer really holds
//! its key, so an `Issuer` value is always usable.
//!
//! End-entity certificates follow one of the [`Profile`]s. The subject's key
//! comes either from a PKCS#10 request whose self-signature has been checked
//! ([`VerifiedCsr`]) or from any [`signature::Keypair`] handle
//! ([`SubjectPublicKey::from_keypair`]). Requested extensions in a PKCS#10
//! request are never copied: every extension comes from the profile, and the
//! subject name comes from the caller (the registration authority), not from
//! the request.
//!
//! Names are encoded as UTF8String (countryName as PrintableString, as X.520
//! requires), so Chinese names such as `张三` round-trip.

use core::marker::PhantomData;

use const_oid::{AssociatedOid, ObjectIdentifier, db::rfc5912::ID_EXTENSION_REQ};
use der::{
    DateTime, Decode, Encode, Reader, SliceReader,
    asn1::{Any, BitString, Ia5String, Null, OctetString, PrintableStringRef, Utf8StringRef},
};
use sha1::{Digest, Sha1};
use signature::{Keypair, Signer, Verifier};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureAlgorithmIdentifier, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
};
use x509_cert::{
    Certificate,
    attr::AttributeTypeAndValue,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::TbsCertificate,
    ext::{
        Extension,
        pkix::{
            AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
            CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
            crl::dp::DistributionPoint,
            name::{DistributionPointName, GeneralName},
        },
    },
    name::{Name, RdnSequence, RelativeDistinguishedName},
    request::CertReqInfo,
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use crate::error::{CreditCodeProblem, Error, Result};

// ----- object identifiers ---------------------------------------------------

/// `id-ecPublicKey` (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / `prime256v1` named curve (RFC 5480).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// SM2 named curve (GB/T 35275, RFC 8998 §3.1).
const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// `id-Ed25519` (RFC 8410).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `sm2sign-with-sm3` (GB/T 35275, RFC 8998).
const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

/// X.520 `commonName`.
const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// X.520 `countryName`.
const AT_COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// X.520 `organizationName`.
const AT_ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// X.520 `organizationIdentifier` (ETSI EN 319 412-1 §5.1.4).
const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// `id-kp-timeStamping` (RFC 5280).
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// `id-kp-OCSPSigning` (RFC 5280).
pub(crate) const ID_KP_OCSP_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// `id-ad-ocsp` (RFC 5280 §4.2.2.1).
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// `id-ad-caIssuers` (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// `id-pkix-ocsp-nocheck` (RFC 6960 §4.2.2.2.1).
const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// The SM2 distinguishing identifier every relying party assumes when none
/// is agreed (GM/T 0009-2012, RFC 8998 §3.2.1).
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// Upper bound on the `ub-common-name` / `ub-organization-name` style
/// attributes, in characters (X.520 upper bounds are 64).
const NAME_ATTRIBUTE_MAX_CHARS: usize = 64;

/// Longest distribution URL accepted, in bytes.
const URL_MAX_BYTES: usize = 1024;

/// Message signed once when an [`Issuer`] is built, to prove the signer
/// holds the certificate's key. It is not DER (starts with `a`, not `0x30`),
/// so the signature can never be mistaken for one over a certificate, CRL
/// or OCSP response.
const SIGNER_PROBE: &[u8] = b"affix-pki/issuer-probe/v1";

// ----- signer plumbing ------------------------------------------------------

/// What this crate needs from a CA's (or OCSP responder's) key handle: it
/// signs with signature type `Sig`, reports its public key, and names its
/// signature algorithm.
///
/// This is the same set of bounds x509-cert's builder uses; it is blanket
/// implemented, so `p256::ecdsa::SigningKey` (with
/// `Sig = p256::ecdsa::DerSignature`), `ed25519_dalek::SigningKey` (with
/// `Sig = ed25519_dalek::Signature`), [`Sm2DerSigner`] (with
/// `Sig = sm2::dsa::DerSignature`) or an HSM handle all qualify.
pub trait CertificateSigner<Sig>:
    Signer<Sig> + Keypair<VerifyingKey: EncodePublicKey> + DynSignatureAlgorithmIdentifier
{
}

impl<T, Sig> CertificateSigner<Sig> for T where
    T: Signer<Sig> + Keypair<VerifyingKey: EncodePublicKey> + DynSignatureAlgorithmIdentifier
{
}

/// The signature algorithm identifier `signer` will sign with; it goes into
/// the to-be-signed structure before signing.
pub(crate) fn signature_algorithm<S: DynSignatureAlgorithmIdentifier + ?Sized>(
    signer: &S,
) -> Result<AlgorithmIdentifierOwned> {
    signer
        .signature_algorithm_identifier()
        .map_err(Error::PublicKeyEncoding)
}

/// Sign `message` with `signer` and return the signature as the BIT STRING
/// of a `signature` field.
pub(crate) fn sign_bits<S, Sig>(signer: &S, message: &[u8]) -> Result<BitString>
where
    S: Signer<Sig> + ?Sized,
    Sig: SignatureBitStringEncoding,
{
    signer
        .try_sign(message)
        .map_err(Error::Signing)?
        .to_bitstring()
        .map_err(Error::Encoding)
}

/// Adapts an SM2 signer that produces raw `r‖s` signatures
/// ([`sm2::dsa::Signature`], what `sm2::dsa::SigningKey` makes) into one that
/// produces DER `SEQUENCE { r, s }` ([`sm2::dsa::DerSignature`]), the form
/// OpenSSL, GmSSL and Tongsuo expect inside certificates, CRLs and OCSP
/// responses.
///
/// The wrapped handle must use the default distinguishing identifier
/// [`SM2_DEFAULT_DISTID`]; relying parties cannot learn any other.
#[derive(Debug, Clone)]
pub struct Sm2DerSigner<K> {
    inner: K,
}

impl<K> Sm2DerSigner<K>
where
    K: Signer<sm2::dsa::Signature> + Keypair<VerifyingKey = sm2::dsa::VerifyingKey>,
{
    /// Wrap an SM2 signer.
    ///
    /// # Errors
    /// [`Error::Sm2DistinguishingId`] if the key was not created with
    /// [`SM2_DEFAULT_DISTID`].
    pub fn new(inner: K) -> Result<Self> {
        if inner.verifying_key().distid() != SM2_DEFAULT_DISTID {
            return Err(Error::Sm2DistinguishingId);
        }
        Ok(Self { inner })
    }

    /// Give back the wrapped signer.
    pub fn into_inner(self) -> K {
        self.inner
    }
}

impl<K> Signer<sm2::dsa::DerSignature> for Sm2DerSigner<K>
where
    K: Signer<sm2::dsa::Signature>,
{
    fn try_sign(&self, message: &[u8]) -> signature::Result<sm2::dsa::DerSignature> {
        self.inner.try_sign(message).map(|raw| raw.to_der())
    }
}

impl<K: Keypair> Keypair for Sm2DerSigner<K> {
    type VerifyingKey = K::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.inner.verifying_key()
    }
}

impl<K> SignatureAlgorithmIdentifier for Sm2DerSigner<K> {
    type Params = der::asn1::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: spki::AlgorithmIdentifier<Self::Params> =
        spki::AlgorithmIdentifier {
            oid: SM2_WITH_SM3,
            parameters: None,
        };
}

// ----- serial numbers and validity -----------------------------------------

/// Derive a certificate serial number from 16 caller-provided random bytes.
///
/// The top bit is cleared (serial numbers are positive) and the next one set,
/// so every serial is exactly 16 octets long and carries 126 random bits —
/// well above the 64 bits the CA/Browser Forum asks for. Uniqueness is the
/// caller's job: draw the bytes from a CSPRNG.
pub fn serial_number_from_random(random: [u8; 16]) -> SerialNumber {
    let mut bytes = random;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    // 16 octets with the top bit clear is a positive integer under the
    // 20-octet limit, which is all `SerialNumber::new` checks.
    SerialNumber::new(&bytes).expect("16-octet positive integer is a valid serial number")
}

/// A certificate's validity period: `notBefore` strictly before `notAfter`.
///
/// Times are supplied by the caller; this crate reads no clock. Dates before
/// 2050 are encoded as UTCTime and later ones as GeneralizedTime (RFC 5280
/// §4.1.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityPeriod {
    not_before: DateTime,
    not_after: DateTime,
}

impl ValidityPeriod {
    /// A validity period from `not_before` to `not_after`, both inclusive.
    ///
    /// # Errors
    /// [`Error::EmptyValidity`] unless `not_before < not_after`.
    pub fn new(not_before: DateTime, not_after: DateTime) -> Result<Self> {
        if not_before >= not_after {
            return Err(Error::EmptyValidity);
        }
        Ok(Self {
            not_before,
            not_after,
        })
    }

    /// Start of the period.
    pub fn not_before(&self) -> DateTime {
        self.not_before
    }

    /// End of the period.
    pub fn not_after(&self) -> DateTime {
        self.not_after
    }

    fn to_validity(self) -> Validity {
        Validity::new(Time::from(self.not_before), Time::from(self.not_after))
    }
}

// ----- names ----------------------------------------------------------------

/// A validated subject name: commonName with optional organizationName and
/// countryName. Used for persons, CAs, TSA signers and OCSP signers.
///
/// Encoded as `C, O, CN` (most significant first), CN and O as UTF8String
/// and C as PrintableString.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectName {
    common_name: String,
    organization: Option<String>,
    country: Option<String>,
}

impl SubjectName {
    /// A name with the given commonName (1 to 64 characters, no control
    /// characters, no leading or trailing white space).
    ///
    /// # Errors
    /// [`Error::InvalidNameAttribute`] if the value breaks those rules.
    pub fn new(common_name: &str) -> Result<Self> {
        check_text("commonName", common_name)?;
        Ok(Self {
            common_name: common_name.to_owned(),
            organization: None,
            country: None,
        })
    }

    /// Add an organizationName (same rules as commonName).
    ///
    /// # Errors
    /// [`Error::InvalidNameAttribute`] if the value breaks the rules.
    pub fn with_organization(mut self, organization: &str) -> Result<Self> {
        check_text("organizationName", organization)?;
        self.organization = Some(organization.to_owned());
        Ok(self)
    }

    /// Add a countryName: an ISO 3166 alpha-2 code in capitals, e.g. `CN`.
    ///
    /// # Errors
    /// [`Error::InvalidNameAttribute`] unless it is two letters `A`–`Z`.
    pub fn with_country(mut self, country: &str) -> Result<Self> {
        check_country(country)?;
        self.country = Some(country.to_owned());
        Ok(self)
    }

    /// The commonName.
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// The organizationName, if any.
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// The countryName, if any.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The X.501 name this encodes to.
    ///
    /// # Errors
    /// [`Error::Encoding`] only on an internal encoding fault.
    pub fn to_name(&self) -> Result<Name> {
        let mut attributes = Vec::with_capacity(3);
        if let Some(country) = &self.country {
            attributes.push(printable_attribute(AT_COUNTRY_NAME, country)?);
        }
        if let Some(organization) = &self.organization {
            attributes.push(utf8_attribute(AT_ORGANIZATION_NAME, organization)?);
        }
        attributes.push(utf8_attribute(AT_COMMON_NAME, &self.common_name)?);
        name_from_attributes(attributes)
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015) whose
/// alphabet and check character have been verified.
///
/// The code has 18 characters from `0-9` and the capitals other than
/// `I O S V Z`. The 18th character is the check character: with
/// `Cᵢ` the value of the i-th character (0–30) and weights
/// `Wᵢ = 3^(i-1) mod 31`, it is `31 − (Σ Cᵢ·Wᵢ mod 31)`, and `0` when that
/// gives 31. Lower-case input is refused rather than folded, so the stored
/// form is the one printed on the business licence.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditCode([u8; 18]);

/// GB 32100-2015 code alphabet, in value order (value = index).
const CREDIT_CODE_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1..=17: `3^(i-1) mod 31`.
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl CreditCode {
    /// Parse and check a code.
    ///
    /// # Errors
    /// [`Error::InvalidCreditCode`] naming the first problem found.
    pub fn parse(code: &str) -> Result<Self> {
        let len_chars = code.chars().count();
        if len_chars != 18 {
            return Err(Error::InvalidCreditCode(CreditCodeProblem::Length {
                len_chars,
            }));
        }
        let mut bytes = [0u8; 18];
        let mut values = [0u32; 18];
        for (position, ch) in code.chars().enumerate() {
            let byte = u8::try_from(ch).ok();
            let value = byte.and_then(credit_code_value);
            let (Some(byte), Some(value), Some(slot), Some(value_slot)) = (
                byte,
                value,
                bytes.get_mut(position),
                values.get_mut(position),
            ) else {
                return Err(Error::InvalidCreditCode(CreditCodeProblem::Character {
                    position,
                }));
            };
            *slot = byte;
            *value_slot = value;
        }
        let sum: u32 = values
            .iter()
            .zip(CREDIT_CODE_WEIGHTS)
            .map(|(value, weight)| value * weight)
            .sum();
        let check_value = (31 - sum % 31) % 31;
        let expected = CREDIT_CODE_ALPHABET
            .get(check_value as usize)
            .copied()
            .map_or('?', char::from);
        let found = char::from(bytes[17]);
        if expected != found {
            return Err(Error::InvalidCreditCode(
                CreditCodeProblem::CheckCharacter { expected, found },
            ));
        }
        Ok(Self(bytes))
    }

    /// The 18-character code.
    pub fn as_str(&self) -> &str {
        // Only bytes from CREDIT_CODE_ALPHABET (ASCII) are ever stored.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The ETSI EN 319 412-1 semantic identifier for the organizationIdentifier
    /// attribute: `NTR` (national trade register) + `CN` + `-` + code.
    pub fn semantic_identifier(&self) -> String {
        format!("NTRCN-{}", self.as_str())
    }
}

impl core::fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("CreditCode").field(&self.as_str()).finish()
    }
}

impl core::str::FromStr for CreditCode {
    type Err = Error;

    fn from_str(code: &str) -> Result<Self> {
        Self::parse(code)
    }
}

fn credit_code_value(byte: u8) -> Option<u32> {
    CREDIT_CODE_ALPHABET
        .iter()
        .position(|&c| c == byte)
        .and_then(|index| u32::try_from(index).ok())
}

/// Subject of an organization certificate: organizationName (the registered
/// Chinese company name) and the unified social credit code, carried in the
/// standard organizationIdentifier attribute (2.5.4.97) as
/// `NTRCN-<code>`.
///
/// Encoded as `C=CN, O=<name>, organizationIdentifier=NTRCN-<code>,
/// CN=<name>`; ETSI EN 319 412-3 asks for a commonName, and the registered
/// name is the name the organization is commonly known by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationSubject {
    name: String,
    credit_code: CreditCode,
}

impl OrganizationSubject {
    /// An organization subject. The code is already checked by its type.
    ///
    /// # Errors
    /// [`Error::InvalidNameAttribute`] if the name is empty, longer than 64
    /// characters, or has control characters or outer white space.
    pub fn new(name: &str, credit_code: CreditCode) -> Result<Self> {
        check_text("organizationName", name)?;
        Ok(Self {
            name: name.to_owned(),
            credit_code,
        })
    }

    /// The registered organization name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The unified social credit code.
    pub fn credit_code(&self) -> CreditCode {
        self.credit_code
    }

    /// The X.501 name this encodes to.
    ///
    /// # Errors
    /// [`Error::Encoding`] only on an internal encoding fault.
    pub fn to_name(&self) -> Result<Name> {
        name_from_attributes(vec![
            printable_attribute(AT_COUNTRY_NAME, "CN")?,
            utf8_attribute(AT_ORGANIZATION_NAME, &self.name)?,
            utf8_attribute(
                AT_ORGANIZATION_IDENTIFIER,
                &self.credit_code.semantic_identifier(),
            )?,
            utf8_attribute(AT_COMMON_NAME, &self.name)?,
        ])
    }
}

fn check_text(attribute: &'static str, value: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidNameAttribute { attribute, reason };
    if value.is_empty() {
        return Err(invalid("empty"));
    }
    if value.chars().count() > NAME_ATTRIBUTE_MAX_CHARS {
        return Err(invalid("longer than 64 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    if value.trim() != value {
        return Err(invalid("leading or trailing white space"));
    }
    Ok(())
}

fn check_country(country: &str) -> Result<()> {
    let bytes = country.as_bytes();
    if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_uppercase) {
        return Err(Error::InvalidNameAttribute {
            attribute: "countryName",
            reason: "not a two-letter upper-case ISO 3166 code",
        });
    }
    Ok(())
}

fn utf8_attribute(oid: ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue> {
    let string = Utf8StringRef::new(value).map_err(Error::Encoding)?;
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::encode_from(&string).map_err(Error::Encoding)?,
    })
}

fn printable_attribute(oid: ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue> {
    let string = PrintableStringRef::new(value).map_err(Error::Encoding)?;
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::encode_from(&string).map_err(Error::Encoding)?,
    })
}

/// One attribute per RDN, in the order given.
fn name_from_attributes(attributes: Vec<AttributeTypeAndValue>) -> Result<Name> {
    let rdns = attributes
        .into_iter()
        .map(|attribute| RelativeDistinguishedName::try_from(vec![attribute]))
        .collect::<der::Result<Vec<_>>>()
        .map_err(Error::Encoding)?;
    Ok(Name::hazmat_from_rdn_sequence(RdnSequence::from(rdns)))
}

// ----- profiles -------------------------------------------------------------

/// An end-entity certificate profile. The profile alone decides the
/// subject name and every extension.
///
/// | profile | key usage (critical) | extended key usage |
/// |---|---|---|
/// | `Person` | digitalSignature, nonRepudiation | — |
/// | `Organization` | digitalSignature, nonRepudiation | — |
/// | `TsaSigner` | digitalSignature, nonRepudiation | timeStamping only, critical (RFC 3161 §2.3) |
/// | `OcspSigner` | digitalSignature | OCSPSigning, plus `id-pkix-ocsp-nocheck` |
///
/// All carry basicConstraints `cA=FALSE` (critical), subject and authority
/// key identifiers, and the issuer's CRL distribution point and AIA URLs
/// when the issuer has them (an OCSP signer gets no OCSP URL: it is exempt
/// from checking by `id-pkix-ocsp-nocheck`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// A natural person's signing certificate.
    Person(SubjectName),
    /// An organization's (legal person's) signing certificate.
    Organization(OrganizationSubject),
    /// An RFC 3161 time-stamping authority's signing certificate.
    TsaSigner(SubjectName),
    /// A delegated OCSP responder's certificate (RFC 6960 §4.2.2.2).
    OcspSigner(SubjectName),
}

impl Profile {
    fn subject(&self) -> Result<Name> {
        match self {
            Self::Person(name) | Self::TsaSigner(name) | Self::OcspSigner(name) => name.to_name(),
            Self::Organization(organization) => organization.to_name(),
        }
    }

    fn key_usage(&self) -> KeyUsage {
        match self {
            Self::Person(_) | Self::Organization(_) | Self::TsaSigner(_) => {
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
            }
            Self::OcspSigner(_) => KeyUsage(KeyUsages::DigitalSignature.into()),
        }
    }
}

// ----- subject public keys --------------------------------------------------

/// Public-key algorithms this CA certifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (`id-ecPublicKey`, `prime256v1`).
    EcdsaP256,
    /// Ed25519 (RFC 8410).
    Ed25519,
    /// SM2 (`id-ecPublicKey`, SM2 curve `1.2.156.10197.1.301`).
    Sm2,
}

/// A subject public key that has been decoded and accepted by policy: a
/// valid point on P-256 or the SM2 curve (uncompressed form), or a valid
/// Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectPublicKey {
    spki: SubjectPublicKeyInfoOwned,
    algorithm: KeyAlgorithm,
}

impl SubjectPublicKey {
    /// Accept a `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`Error::UnsupportedPublicKey`] for other algorithms or curves,
    /// [`Error::MalformedPublicKey`] if the key bytes do not decode.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        let algorithm_oid = spki.algorithm.oid;
        let malformed = || Error::MalformedPublicKey {
            algorithm: algorithm_oid,
        };
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(malformed)?;
        let algorithm = match algorithm_oid {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok());
                let uncompressed = key_bytes.len() == 65 && key_bytes.first() == Some(&0x04);
                match curve {
                    Some(SECP256R1) => {
                        if !uncompressed || p256::PublicKey::from_sec1_bytes(key_bytes).is_err() {
                            return Err(malformed());
                        }
                        KeyAlgorithm::EcdsaP256
                    }
                    Some(SM2_CURVE) => {
                        if !uncompressed || sm2::PublicKey::from_sec1_bytes(key_bytes).is_err() {
                            return Err(malformed());
                        }
                        KeyAlgorithm::Sm2
                    }
                    parameters => {
                        return Err(Error::UnsupportedPublicKey {
                            algorithm: algorithm_oid,
                            parameters,
                        });
                    }
                }
            }
            ID_ED25519 => {
                if spki.algorithm.parameters.is_some() {
                    return Err(malformed());
                }
                let bytes: &[u8; 32] = key_bytes.try_into().map_err(|_| malformed())?;
                ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| malformed())?;
                KeyAlgorithm::Ed25519
            }
            algorithm => {
                return Err(Error::UnsupportedPublicKey {
                    algorithm,
                    parameters: None,
                });
            }
        };
        Ok(Self {
            spki: spki.clone(),
            algorithm,
        })
    }

    /// Take the public key of a key handle. The private key stays with its
    /// owner; the caller vouches that the subject controls the handle.
    ///
    /// # Errors
    /// As [`SubjectPublicKey::from_spki`], plus
    /// [`Error::PublicKeyEncoding`] if the key does not encode.
    pub fn from_keypair<K>(keypair: &K) -> Result<Self>
    where
        K: Keypair<VerifyingKey: EncodePublicKey>,
    {
        let spki = SubjectPublicKeyInfoOwned::from_key(&keypair.verifying_key())
            .map_err(Error::PublicKeyEncoding)?;
        Self::from_spki(&spki)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// SHA-1 over the subjectPublicKey BIT STRING contents: the RFC 5280
    /// §4.2.1.2 method (1) key identifier, and the RFC 6960 `KeyHash`.
    pub fn sha1_key_hash(&self) -> [u8; 20] {
        Sha1::digest(self.spki.subject_public_key.raw_bytes()).into()
    }

    /// Check `signature` over `message` made with `algorithm` by this key.
    ///
    /// Returns `Ok(false)` for a signature that does not verify.
    ///
    /// # Errors
    /// [`Error::UnsupportedSignatureAlgorithm`] if the algorithm is not
    /// ecdsa-with-SHA256 (P-256 keys), Ed25519 (Ed25519 keys) or
    /// sm2sign-with-sm3 (SM2 keys, default distinguishing identifier), or
    /// has parameters it must not have.
    pub fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature: &BitString,
    ) -> Result<bool> {
        self.verify_with_sm2_ids(algorithm, message, signature, &[SM2_DEFAULT_DISTID])
    }

    /// As [`SubjectPublicKey::verify`], trying each SM2 distinguishing
    /// identifier in turn for SM2 keys.
    fn verify_with_sm2_ids(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature: &BitString,
        sm2_ids: &[&str],
    ) -> Result<bool> {
        let unsupported = || Error::UnsupportedSignatureAlgorithm {
            algorithm: algorithm.oid,
        };
        let parameters_absent = algorithm.parameters.is_none();
        let parameters_null = algorithm
            .parameters
            .as_ref()
            .is_some_and(|parameters| parameters.decode_as::<Null>().is_ok());
        let Some(key_bytes) = self.spki.subject_public_key.as_bytes() else {
            return Ok(false);
        };
        let Some(signature_bytes) = signature.as_bytes() else {
            return Ok(false);
        };
        match (self.algorithm, algorithm.oid) {
            (KeyAlgorithm::EcdsaP256, ECDSA_WITH_SHA256) if parameters_absent => {
                let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes) else {
                    return Ok(false);
                };
                let Ok(signature) = p256::ecdsa::Signature::from_der(signature_bytes) else {
                    return Ok(false);
                };
                Ok(key.verify(message, &signature).is_ok())
            }
            (KeyAlgorithm::Ed25519, ID_ED25519) if parameters_absent => {
                let Ok(key_bytes) = <&[u8; 32]>::try_from(key_bytes) else {
                    return Ok(false);
                };
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key_bytes) else {
                    return Ok(false);
                };
                let Ok(signature) = ed25519_dalek::Signature::from_slice(signature_bytes) else {
                    return Ok(false);
                };
                Ok(key.verify_strict(message, &signature).is_ok())
            }
            (KeyAlgorithm::Sm2, SM2_WITH_SM3) if parameters_absent || parameters_null => {
                let Ok(signature) = sm2::dsa::Signature::from_der(signature_bytes) else {
                    return Ok(false);
                };
                Ok(sm2_ids.iter().any(|id| {
                    sm2::dsa::VerifyingKey::from_sec1_bytes(id, key_bytes)
                        .is_ok_and(|key| key.verify(message, &signature).is_ok())
                }))
            }
            _ => Err(unsupported()),
        }
    }
}

// ----- PKCS#10 requests -----------------------------------------------------

/// A PKCS#10 certification request (RFC 2986) whose self-signature has been
/// verified with the key it carries, proving the requester holds that key.
///
/// Only the public key is used for issuance. The requested subject and
/// extensions are kept for the caller to inspect (and log) but are never
/// copied into a certificate: the profile and the registration authority
/// decide both.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    subject: Name,
    public_key: SubjectPublicKey,
    requested_extensions: Vec<ObjectIdentifier>,
}

impl VerifiedCsr {
    /// Largest DER request accepted. Real requests are well under 2 KiB.
    pub const DER_MAX_BYTES: usize = 16 * 1024;

    /// Parse a DER `CertificationRequest` and verify its self-signature.
    ///
    /// The signature is checked over the `certificationRequestInfo` bytes
    /// exactly as received. SM2 requests may be signed with the default
    /// distinguishing identifier `1234567812345678` or with an empty one
    /// (OpenSSL 3.0's `req` default); either proves possession.
    ///
    /// # Errors
    /// - [`Error::InputTooLarge`] over [`Self::DER_MAX_BYTES`];
    /// - [`Error::MalformedCsr`] for anything that is not a DER
    ///   `CertificationRequest` (including trailing bytes);
    /// - [`Error::UnsupportedPublicKey`] / [`Error::MalformedPublicKey`] for
    ///   keys this CA does not certify;
    /// - [`Error::UnsupportedSignatureAlgorithm`] for other signature
    ///   algorithms;
    /// - [`Error::CsrSignatureInvalid`] if the signature does not verify.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > Self::DER_MAX_BYTES {
            return Err(Error::InputTooLarge {
                what: "PKCS#10 request",
                len_bytes: der.len(),
                max_bytes: Self::DER_MAX_BYTES,
            });
        }
        // CertificationRequest ::= SEQUENCE {
        //      certificationRequestInfo CertificationRequestInfo,
        //      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
        //      signature          BIT STRING
        // }
        let mut reader = SliceReader::new(der).map_err(Error::MalformedCsr)?;
        let (info_der, algorithm, signature) = reader
            .sequence(|reader| {
                let info_der = reader.tlv_bytes()?;
                let algorithm = AlgorithmIdentifierOwned::decode(reader)?;
                let signature = BitString::decode(reader)?;
                Ok::<_, der::Error>((info_der, algorithm, signature))
            })
            .map_err(Error::MalformedCsr)?;
        reader.finish().map_err(Error::MalformedCsr)?;
        let info = CertReqInfo::from_der(info_der).map_err(Error::MalformedCsr)?;

        let public_key = SubjectPublicKey::from_spki(&info.public_key)?;
        // Proof of possession holds whichever SM2 identifier was hashed in;
        // OpenSSL 3.0 `req` signs with an empty one unless told
        // `-sigopt distid:1234567812345678`, so accept both here (and only
        // here: what this crate signs always uses the default).
        if !public_key.verify_with_sm2_ids(
            &algorithm,
            info_der,
            &signature,
            &[SM2_DEFAULT_DISTID, ""],
        )? {
            return Err(Error::CsrSignatureInvalid);
        }

        let mut requested_extensions = Vec::new();
        for attribute in info.attributes.iter() {
            if attribute.oid != ID_EXTENSION_REQ {
                continue;
            }
            for value in attribute.values.iter() {
                let extensions: Vec<Extension> = value.decode_as().map_err(Error::MalformedCsr)?;
                requested_extensions.extend(extensions.iter().map(|e| e.extn_id));
            }
        }

        Ok(Self {
            subject: info.subject,
            public_key,
            requested_extensions,
        })
    }

    /// Parse a PEM `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`)
    /// and verify it as [`VerifiedCsr::from_der`] does.
    ///
    /// # Errors
    /// [`Error::InputTooLarge`] for text over twice [`Self::DER_MAX_BYTES`],
    /// [`Error::MalformedCsr`] for bad PEM or another label, then as
    /// [`VerifiedCsr::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        let max_bytes = 2 * Self::DER_MAX_BYTES;
        if pem.len() > max_bytes {
            return Err(Error::InputTooLarge {
                what: "PEM PKCS#10 request",
                len_bytes: pem.len(),
                max_bytes,
            });
        }
        let (label, der) =
            der::pem::decode_vec(pem.as_bytes()).map_err(|e| Error::MalformedCsr(e.into()))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(Error::MalformedCsr(der::Tag::Sequence.value_error().into()));
        }
        Self::from_der(&der)
    }

    /// The subject the requester asked for. Unverified: not used for
    /// issuance.
    pub fn requested_subject(&self) -> &Name {
        &self.subject
    }

    /// Object identifiers of the extensions the requester asked for. None is
    /// ever copied into a certificate.
    pub fn requested_extensions(&self) -> &[ObjectIdentifier] {
        &self.requested_extensions
    }

    /// The requester's public key, possession proven.
    pub fn public_key(&self) -> &SubjectPublicKey {
        &self.public_key
    }
}

// ----- distribution URLs ----------------------------------------------------

/// Where an issuer publishes its CRL, OCSP service and own certificate.
/// Each URL present is written into the certificates the issuer signs
/// (cRLDistributionPoints, authorityInfoAccess).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistributionUrls {
    crl: Option<Ia5String>,
    ocsp: Option<Ia5String>,
    ca_issuers: Option<Ia5String>,
}

impl DistributionUrls {
    /// No URLs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the CRL URL (cRLDistributionPoints fullName URI).
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] unless an `http://` or `https://` URL of
    /// printable ASCII without spaces, at most 1024 bytes.
    pub fn with_crl(mut self, url: &str) -> Result<Self> {
        self.crl = Some(parse_url(url)?);
        Ok(self)
    }

    /// Set the OCSP URL (authorityInfoAccess `id-ad-ocsp`).
    ///
    /// # Errors
    /// As [`DistributionUrls::with_crl`].
    pub fn with_ocsp(mut self, url: &str) -> Result<Self> {
        self.ocsp = Some(parse_url(url)?);
        Ok(self)
    }

    /// Set the URL of the issuer's certificate (authorityInfoAccess
    /// `id-ad-caIssuers`).
    ///
    /// # Errors
    /// As [`DistributionUrls::with_crl`].
    pub fn with_ca_issuers(mut self, url: &str) -> Result<Self> {
        self.ca_issuers = Some(parse_url(url)?);
        Ok(self)
    }
}

fn parse_url(url: &str) -> Result<Ia5String> {
    let invalid = |reason| Error::InvalidUrl { reason };
    if url.len() > URL_MAX_BYTES {
        return Err(invalid("longer than 1024 bytes"));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| invalid("scheme is not http or https"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("no host"));
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("not printable ASCII without spaces"));
    }
    Ia5String::new(url).map_err(|_| invalid("not IA5"))
}

// ----- issuer ----------------------------------------------------------------

/// A certificate authority: its certificate bound to a handle on its key.
///
/// `S` is the signer handle and `Sig` the signature type it produces (for
/// P-256 keys, use the DER form `p256::ecdsa::DerSignature`).
pub struct Issuer<S, Sig> {
    certificate: Certificate,
    key_identifier: OctetString,
    path_len: Option<u8>,
    urls: DistributionUrls,
    signer: S,
    _signature: PhantomData<fn() -> Sig>,
}

impl<S, Sig> core::fmt::Debug for Issuer<S, Sig> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuer")
            .field("subject", &self.certificate.tbs_certificate().subject())
            .field("key_identifier", &self.key_identifier)
            .field("path_len", &self.path_len)
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl<S, Sig> Issuer<S, Sig>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    /// Create a self-signed root CA certificate and the issuer for it.
    ///
    /// The root has basicConstraints `cA=TRUE` without path-length limit,
    /// key usage keyCertSign, cRLSign and digitalSignature (so it may sign
    /// OCSP responses itself), and subject and authority key identifiers
    /// (SHA-1 of the public key).
    ///
    /// # Errors
    /// Policy errors for an unsupported key, [`Error::Signing`] if the
    /// signer fails, and the checks of [`Issuer::new`].
    pub fn create_root(
        signer: S,
        subject: &SubjectName,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Self> {
        let public_key = SubjectPublicKey::from_keypair(&signer)?;
        let name = subject.to_name()?;
        let key_identifier = public_key.sha1_key_hash();
        let extensions = ca_extensions(None, &key_identifier, &key_identifier)?;
        let profile = FixedProfile {
            subject: name.clone(),
            issuer: name,
            extensions,
        };
        let certificate = CertificateBuilder::new(
            profile,
            serial,
            validity.to_validity(),
            public_key.spki().clone(),
        )?
        .build::<S, Sig>(&signer)?;
        Self::new(certificate, signer)
    }

    /// Bind a CA certificate to the handle of its key.
    ///
    /// # Errors
    /// - [`Error::NotACaCertificate`] without basicConstraints `cA=TRUE` or
    ///   without the keyCertSign key usage;
    /// - [`Error::MissingSubjectKeyIdentifier`] without a
    ///   subjectKeyIdentifier;
    /// - [`Error::SignerKeyMismatch`] if the signer's public key is not the
    ///   certificate's, or a probe signature does not verify with it;
    /// - [`Error::UnsupportedSignatureAlgorithm`] if the signer's algorithm
    ///   is not one this crate verifies.
    pub fn new(certificate: Certificate, signer: S) -> Result<Self> {
        let tbs = certificate.tbs_certificate();
        let basic_constraints = tbs
            .get_extension::<BasicConstraints>()
            .map_err(Error::Encoding)?
            .map(|(_, bc)| bc)
            .filter(|bc| bc.ca)
            .ok_or(Error::NotACaCertificate {
                reason: "basicConstraints cA is not TRUE",
            })?;
        tbs.get_extension::<KeyUsage>()
            .map_err(Error::Encoding)?
            .map(|(_, ku)| ku)
            .filter(KeyUsage::key_cert_sign)
            .ok_or(Error::NotACaCertificate {
                reason: "keyUsage lacks keyCertSign",
            })?;
        let key_identifier = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(Error::Encoding)?
            .map(|(_, ski)| ski.0)
            .ok_or(Error::MissingSubjectKeyIdentifier)?;

        check_signer_holds_key::<S, Sig>(&signer, tbs)?;

        Ok(Self {
            key_identifier,
            path_len: basic_constraints.path_len_constraint,
            urls: DistributionUrls::default(),
            signer,
            certificate,
            _signature: PhantomData,
        })
    }

    /// Publish these URLs in every certificate issued from now on.
    pub fn with_distribution_urls(mut self, urls: DistributionUrls) -> Self {
        self.urls = urls;
        self
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's subjectKeyIdentifier, used as authorityKeyIdentifier in
    /// what it signs.
    pub fn key_identifier(&self) -> &[u8] {
        self.key_identifier.as_bytes()
    }

    /// The signer handle.
    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// Issue an end-entity certificate under `profile` for `subject_key`.
    ///
    /// # Errors
    /// [`Error::ValidityOutsideIssuer`] if `validity` is not inside the CA
    /// certificate's validity; [`Error::Signing`] / [`Error::Encoding`] on
    /// signer or encoding faults.
    pub fn issue(
        &self,
        profile: &Profile,
        subject_key: &SubjectPublicKey,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        self.check_inside_validity(validity)?;
        let subject = profile.subject()?;
        let key_identifier = subject_key.sha1_key_hash();

        let mut extensions = vec![
            extension(
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            extension(true, &profile.key_usage())?,
        ];
        match profile {
            Profile::TsaSigner(_) => extensions.push(extension(
                true,
                &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
            )?),
            Profile::OcspSigner(_) => {
                extensions.push(extension(
                    false,
                    &ExtendedKeyUsage(vec![ID_KP_OCSP_SIGNING]),
                )?);
                extensions.push(Extension {
                    extn_id: ID_PKIX_OCSP_NOCHECK,
                    critical: false,
                    extn_value: OctetString::new(Null.to_der().map_err(Error::Encoding)?)
                        .map_err(Error::Encoding)?,
                });
            }
            Profile::Person(_) | Profile::Organization(_) => {}
        }
        extensions.push(subject_key_identifier(&key_identifier)?);
        extensions.push(self.authority_key_identifier()?);
        let include_ocsp = !matches!(profile, Profile::OcspSigner(_));
        extensions.extend(self.distribution_extensions(include_ocsp)?);

        self.build(subject, subject_key, serial, validity, extensions)
    }

    /// Issue an end-entity certificate for the key of a verified PKCS#10
    /// request. Same as [`Issuer::issue`] with [`VerifiedCsr::public_key`];
    /// nothing else from the request is used.
    ///
    /// # Errors
    /// As [`Issuer::issue`].
    pub fn issue_from_csr(
        &self,
        profile: &Profile,
        csr: &VerifiedCsr,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        self.issue(profile, csr.public_key(), serial, validity)
    }

    /// Issue a subordinate (issuing) CA certificate with basicConstraints
    /// `cA=TRUE, pathLenConstraint=path_len`, key usage keyCertSign, cRLSign
    /// and digitalSignature.
    ///
    /// # Errors
    /// [`Error::PathLengthNotAllowed`] if this issuer's own path-length
    /// constraint leaves no room; otherwise as [`Issuer::issue`].
    pub fn issue_subordinate_ca(
        &self,
        subject: &SubjectName,
        subject_key: &SubjectPublicKey,
        path_len: u8,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        if self.path_len.is_some_and(|own| path_len >= own) {
            return Err(Error::PathLengthNotAllowed {
                requested: path_len,
            });
        }
        self.check_inside_validity(validity)?;
        let key_identifier = subject_key.sha1_key_hash();
        let mut extensions = ca_extensions(Some(path_len), &key_identifier, self.key_identifier())?;
        extensions.extend(self.distribution_extensions(true)?);
        self.build(
            subject.to_name()?,
            subject_key,
            serial,
            validity,
            extensions,
        )
    }

    fn build(
        &self,
        subject: Name,
        subject_key: &SubjectPublicKey,
        serial: SerialNumber,
        validity: ValidityPeriod,
        extensions: Vec<Extension>,
    ) -> Result<Certificate> {
        let profile = FixedProfile {
            subject,
            issuer: self.certificate.tbs_certificate().subject().clone(),
            extensions,
        };
        let builder = CertificateBuilder::new(
            profile,
            serial,
            validity.to_validity(),
            subject_key.spki().clone(),
        )?;
        Ok(builder.build::<S, Sig>(&self.signer)?)
    }

    fn check_inside_validity(&self, validity: ValidityPeriod) -> Result<()> {
        let own = self.certificate.tbs_certificate().validity();
        if validity.not_before < own.not_before.to_date_time()
            || validity.not_after > own.not_after.to_date_time()
        {
            return Err(Error::ValidityOutsideIssuer);
        }
        Ok(())
    }

    fn authority_key_identifier(&self) -> Result<Extension> {
        extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(self.key_identifier.clone()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )
    }

    fn distribution_extensions(&self, include_ocsp: bool) -> Result<Vec<Extension>> {
        let mut extensions = Vec::with_capacity(2);
        if let Some(crl) = &self.urls.crl {
            let point = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(crl.clone()),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            extensions.push(extension(false, &CrlDistributionPoints(vec![point]))?);
        }
        let mut access = Vec::with_capacity(2);
        if let (true, Some(ocsp)) = (include_ocsp, &self.urls.ocsp) {
            access.push(AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: GeneralName::UniformResourceIdentifier(ocsp.clone()),
            });
        }
        if let Some(ca_issuers) = &self.urls.ca_issuers {
            access.push(AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: GeneralName::UniformResourceIdentifier(ca_issuers.clone()),
            });
        }
        if !access.is_empty() {
            extensions.push(extension(false, &AuthorityInfoAccessSyntax(access))?);
        }
        Ok(extensions)
    }

    /// The algorithm identifier the CA signs with.
    pub(crate) fn signature_algorithm(&self) -> Result<AlgorithmIdentifierOwned> {
        signature_algorithm(&self.signer)
    }

    /// Sign DER to-be-signed bytes with the CA key (CRLs).
    pub(crate) fn sign_bits(&self, tbs: &[u8]) -> Result<BitString> {
        sign_bits::<S, Sig>(&self.signer, tbs)
    }
}

/// Check that `signer`'s public key is the one in `tbs` and that it can make
/// a signature that verifies with it. Shared by [`Issuer::new`] and the OCSP
/// responder.
pub(crate) fn check_signer_holds_key<S, Sig>(signer: &S, tbs: &TbsCertificate) -> Result<()>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let signer_spki = SubjectPublicKeyInfoOwned::from_key(&signer.verifying_key())
        .map_err(Error::PublicKeyEncoding)?;
    if &signer_spki != tbs.subject_public_key_info() {
        return Err(Error::SignerKeyMismatch);
    }
    let public_key = SubjectPublicKey::from_spki(tbs.subject_public_key_info())?;
    let algorithm = signature_algorithm(signer)?;
    let signature = sign_bits::<S, Sig>(signer, SIGNER_PROBE)?;
    if !public_key.verify(&algorithm, SIGNER_PROBE, &signature)? {
        return Err(Error::SignerKeyMismatch);
    }
    Ok(())
}

/// The subjectKeyIdentifier of a certificate, if it has one.
pub(crate) fn certificate_key_identifier(certificate: &Certificate) -> Result<Option<Vec<u8>>> {
    Ok(certificate
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(Error::Encoding)?
        .map(|(_, ski)| ski.0.as_bytes().to_vec()))
}

fn ca_extensions(
    path_len: Option<u8>,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
) -> Result<Vec<Extension>> {
    Ok(vec![
        extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        extension(
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature),
        )?,
        subject_key_identifier(subject_key_id)?,
        extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(authority_key_id).map_err(Error::Encoding)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ])
}

fn subject_key_identifier(key_identifier: &[u8]) -> Result<Extension> {
    extension(
        false,
        &SubjectKeyIdentifier(OctetString::new(key_identifier).map_err(Error::Encoding)?),
    )
}

pub(crate) fn extension<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(Error::Encoding)?)
            .map_err(Error::Encoding)?,
    })
}

/// A builder profile whose subject, issuer and extensions are all decided
/// before building.
struct FixedProfile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_code_check_character_accepts_published_codes() {
        // The example code commonly quoted for GB 32100-2015 and two further
        // codes; all three check characters were also recomputed with a
        // separate Python script.
        for code in [
            "91350100M000100Y43",
            "91440300708461136T",
            "914403001922038216",
        ] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn credit_code_refuses_bad_check_character_length_and_alphabet() {
        assert!(matches!(
            CreditCode::parse("91350100M000100Y44"),
            Err(Error::InvalidCreditCode(
                CreditCodeProblem::CheckCharacter {
                    expected: '3',
                    found: '4'
                }
            ))
        ));
        assert!(matches!(
            CreditCode::parse("91350100M000100Y4"),
            Err(Error::InvalidCreditCode(CreditCodeProblem::Length {
                len_chars: 17
            }))
        ));
        assert!(matches!(
            CreditCode::parse("91350100I000100Y43"),
            Err(Error::InvalidCreditCode(CreditCodeProblem::Character {
                position: 8
            }))
        ));
        assert!(matches!(
            CreditCode::parse("91350100m000100y43"),
            Err(Error::InvalidCreditCode(CreditCodeProblem::Character {
                position: 8
            }))
        ));
        // 18 characters but not ASCII.
        assert!(matches!(
            CreditCode::parse("张三张三张三张三张三张三张三张三张三"),
            Err(Error::InvalidCreditCode(CreditCodeProblem::Character {
                position: 0
            }))
        ));
    }

    #[test]
    fn serial_from_random_is_positive_and_16_octets() {
        for first in [0x00, 0x7f, 0x80, 0xff] {
            let mut random = [0xa5u8; 16];
            random[0] = first;
            let serial = serial_number_from_random(random);
            assert_eq!(serial.as_bytes().len(), 16);
            assert_eq!(serial.as_bytes()[0] & 0xc0, 0x40);
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(SubjectName::new("").is_err());
        assert!(SubjectName::new(" 张三").is_err());
        assert!(SubjectName::new("张\u{0}三").is_err());
        assert!(SubjectName::new(&"张".repeat(65)).is_err());
        assert!(SubjectName::new(&"张".repeat(64)).is_ok());
        assert!(
            SubjectName::new("张三")
                .unwrap()
                .with_country("cn")
                .is_err()
        );
        assert!(
            SubjectName::new("张三")
                .unwrap()
                .with_country("CHN")
                .is_err()
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(
            DistributionUrls::new()
                .with_crl("http://ca.example/crl")
                .is_ok()
        );
        assert!(
            DistributionUrls::new()
                .with_crl("ftp://ca.example/crl")
                .is_err()
        );
        assert!(DistributionUrls::new().with_crl("http://").is_err());
        assert!(DistributionUrls::new().with_crl("http://a b").is_err());
        assert!(DistributionUrls::new().with_crl("http://例子.cn/").is_err());
    }
}
