//! Distribution URLs: where an issuer publishes its CRL, OCSP service and certificate.

use der::asn1::Ia5String;

use crate::error::{Error, Result};

/// Longest distribution URL accepted, in bytes.
const URL_BYTES_MAX: usize = 1024;

/// Where an issuer publishes its CRL, OCSP service and own certificate.
/// Each URL present is written into the certificates the issuer signs
/// (cRLDistributionPoints, authorityInfoAccess).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistributionUrls {
    pub(super) crl: Option<Ia5String>,
    pub(super) ocsp: Option<Ia5String>,
    pub(super) ca_issuers: Option<Ia5String>,
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
    if url.len() > URL_BYTES_MAX {
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

#[cfg(test)]
mod tests {
    use super::*;

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
