//! E-mail addresses, as one-time code destinations.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::commitment::{Commitment, EMAIL_TAG};

/// Longest address, in bytes (RFC 5321's 256-byte path minus the angle brackets).
pub const EMAIL_BYTES_MAX: usize = 254;
/// Longest local part, in bytes (RFC 5321, section 4.5.3.1.1).
pub const EMAIL_LOCAL_BYTES_MAX: usize = 64;
/// Longest domain label, in bytes (RFC 1035).
const LABEL_BYTES_MAX: usize = 63;

/// An e-mail address in the pragmatic subset mail systems agree on: `local@domain`.
///
/// - The local part is an RFC 5322 dot-atom: 1 to 64 ASCII letters, digits and
///   ``!#$%&'*+/=?^_`{|}~-``, with single dots between them. It is kept as written
///   (RFC 5321 lets the receiving server treat case as significant). Quoted local parts
///   and non-ASCII (SMTPUTF8) addresses are refused.
/// - The domain is a DNS host name of at least two labels, each 1 to 63 of `a-z 0-9 -`,
///   not starting or ending with `-`, the last not all digits; stored in lower case.
///   Internationalized domains must be given in their ASCII (`xn--`) form; IP-address
///   literals are refused.
/// - At most 254 bytes in all.
///
/// Personal data: `Display` and `Debug` show `a***@example.com`; zeroized on drop; no
/// `Serialize`; evidence stores only its [`EmailAddress::commitment`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct EmailAddress {
    /// Invariant: a valid address, domain in lower case, exactly one `@`.
    address: String,
}

impl EmailAddress {
    /// Parses and normalizes an address. No whitespace is trimmed.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > EMAIL_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "e-mail address",
                length_bytes: text.len(),
                limit: EMAIL_BYTES_MAX,
            });
        }
        let mut parts = text.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::EmailAtSign);
        };
        check_local_part(local)?;
        check_domain(domain)?;
        let mut address = String::with_capacity(text.len());
        address.push_str(local);
        address.push('@');
        address.push_str(&domain.to_ascii_lowercase());
        Ok(Self { address })
    }

    /// The address (domain in lower case). Personal data: for sending mail, never for
    /// logs or evidence.
    pub fn expose_address(&self) -> &str {
        &self.address
    }

    /// The domain, in lower case.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }

    /// The salted commitment `SHA-256("affix-identity/v1/email\0" || salt || address)`
    /// over the normalized address's bytes.
    pub fn commitment(&self, salt: &[u8; 32]) -> Commitment {
        Commitment::compute(EMAIL_TAG, salt, self.address.as_bytes())
    }
}

impl fmt::Display for EmailAddress {
    /// Redacted: the first character of the local part, `***`, `@` and the domain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.address.chars().next().unwrap_or('?');
        write!(f, "{first}***@{}", self.domain())
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({self})")
    }
}

fn check_local_part(local: &str) -> Result<(), Error> {
    let invalid = |reason| Err(Error::EmailInvalidLocalPart { reason });
    if local.is_empty() {
        return invalid("empty");
    }
    if local.len() > EMAIL_LOCAL_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "e-mail local part",
            length_bytes: local.len(),
            limit: EMAIL_LOCAL_BYTES_MAX,
        });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return invalid("dots must stand between other characters");
    }
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&b);
    if !local.bytes().all(atext) {
        return invalid("only ASCII letters, digits and !#$%&'*+/=?^_`{|}~-. are accepted");
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), Error> {
    let invalid = |reason| Err(Error::EmailInvalidDomain { reason });
    if domain.is_empty() {
        return invalid("empty");
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > LABEL_BYTES_MAX {
            return invalid("labels must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return invalid("only ASCII letters, digits and '-' are accepted");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return invalid("labels must not start or end with '-'");
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return invalid("at least two labels are needed");
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("the top-level label must not be all digits");
    }
    Ok(())
}
