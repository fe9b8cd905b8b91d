//! Subject names: persons, CAs and service signers ([`SubjectName`]), organizations
//! ([`OrganizationSubject`]) and their unified social credit code ([`CreditCode`]).

use const_oid::{
    ObjectIdentifier,
    db::rfc4519::{COMMON_NAME, COUNTRY_NAME, ORGANIZATION_NAME, SERIAL_NUMBER},
};
use der::asn1::{Any, PrintableStringRef, Utf8StringRef};
use x509_cert::{
    attr::AttributeTypeAndValue,
    name::{Name, RdnSequence, RelativeDistinguishedName},
};

use crate::{
    error::{CreditCodeProblem, Error, Result},
    oid::AT_ORGANIZATION_IDENTIFIER,
};

/// Upper bound on the `ub-common-name` / `ub-organization-name` style
/// attributes, in characters (X.520 upper bounds are 64).
const NAME_ATTRIBUTE_CHARS_MAX: usize = 64;

/// A validated subject name: commonName with optional organizationName and
/// countryName. Used for persons, CAs, TSA signers and OCSP signers.
///
/// Encoded as `C, O, CN, serialNumber` (most significant first), CN and O as
/// UTF8String, C and serialNumber as PrintableString.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectName {
    common_name: String,
    organization: Option<String>,
    country: Option<String>,
    serial_number: Option<String>,
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
            serial_number: None,
        })
    }

    /// Add an X.520 serialNumber (2.5.4.5, PrintableString): a stable identifier that
    /// tells apart two subjects with the same commonName (a signer account's id).
    /// 1 to 64 characters of `A–Z a–z 0–9 - . :`.
    ///
    /// # Errors
    /// [`Error::InvalidNameAttribute`] if the value breaks those rules.
    pub fn with_serial_number(mut self, serial_number: &str) -> Result<Self> {
        let ok = !serial_number.is_empty()
            && serial_number.len() <= NAME_ATTRIBUTE_CHARS_MAX
            && serial_number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
        if !ok {
            return Err(Error::InvalidNameAttribute {
                attribute: "serialNumber",
                reason: "not 1 to 64 characters of A-Z a-z 0-9 - . :",
            });
        }
        self.serial_number = Some(serial_number.to_owned());
        Ok(self)
    }

    /// The serialNumber, if any.
    pub fn serial_number(&self) -> Option<&str> {
        self.serial_number.as_deref()
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
            attributes.push(printable_attribute(COUNTRY_NAME, country)?);
        }
        if let Some(organization) = &self.organization {
            attributes.push(utf8_attribute(ORGANIZATION_NAME, organization)?);
        }
        attributes.push(utf8_attribute(COMMON_NAME, &self.common_name)?);
        if let Some(serial_number) = &self.serial_number {
            attributes.push(printable_attribute(SERIAL_NUMBER, serial_number)?);
        }
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
            printable_attribute(COUNTRY_NAME, "CN")?,
            utf8_attribute(ORGANIZATION_NAME, &self.name)?,
            utf8_attribute(
                AT_ORGANIZATION_IDENTIFIER,
                &self.credit_code.semantic_identifier(),
            )?,
            utf8_attribute(COMMON_NAME, &self.name)?,
        ])
    }
}

fn check_text(attribute: &'static str, value: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidNameAttribute { attribute, reason };
    if value.is_empty() {
        return Err(invalid("empty"));
    }
    if value.chars().count() > NAME_ATTRIBUTE_CHARS_MAX {
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
}
