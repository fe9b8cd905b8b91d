//! Version 2 certificate revocation lists (RFC 5280 §5) signed by an
//! [`Issuer`].
//!
//! The CRL carries the issuer's name, `thisUpdate` and `nextUpdate` (both
//! from the caller), one entry per revoked certificate with its revocation
//! time and, when known, its reasonCode, and the cRLNumber and
//! authorityKeyIdentifier extensions.
//!
//! x509-cert's own `CrlBuilder` is not used: it copies the issuer
//! certificate's *authority* key identifier into the CRL, which is the key
//! identifier of the issuer's issuer, so a CRL made by an intermediate would
//! point at the root's key.

use std::collections::HashSet;

use der::{DateTime, Encode};
use spki::SignatureBitStringEncoding;
use x509_cert::{
    certificate::Version,
    crl::{CertificateList, RevokedCert, TbsCertList},
    ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason, KeyUsage},
    serial_number::SerialNumber,
    time::Time,
};

use crate::{
    ca::{CertificateSigner, Issuer, extension},
    error::{Error, Result},
};

/// Most entries one CRL may hold. At about 40 bytes an entry this is a
/// 40 MB CRL; partition (or rely on OCSP) well before that.
pub const CRL_ENTRIES_MAX: usize = 1_000_000;

/// One revoked certificate, as listed in a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    serial: SerialNumber,
    revoked_at: DateTime,
    reason: Option<CrlReason>,
}

impl RevokedEntry {
    /// An entry for the certificate `serial`, revoked at `revoked_at`.
    ///
    /// A reason of `unspecified` is kept out of the CRL (RFC 5280 §5.3.1:
    /// the reasonCode extension SHOULD be absent rather than say
    /// unspecified).
    ///
    /// # Errors
    /// [`Error::RevocationReasonNotAllowed`] for `removeFromCRL`, which only
    /// delta CRLs may carry.
    pub fn new(
        serial: SerialNumber,
        revoked_at: DateTime,
        reason: Option<CrlReason>,
    ) -> Result<Self> {
        if reason == Some(CrlReason::RemoveFromCRL) {
            return Err(Error::RevocationReasonNotAllowed(CrlReason::RemoveFromCRL));
        }
        Ok(Self {
            serial,
            revoked_at,
            reason: reason.filter(|reason| *reason != CrlReason::Unspecified),
        })
    }

    /// Serial number of the revoked certificate.
    pub fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    /// When the certificate was revoked.
    pub fn revoked_at(&self) -> DateTime {
        self.revoked_at
    }

    /// Why, if a reason other than `unspecified` was given.
    pub fn reason(&self) -> Option<CrlReason> {
        self.reason
    }
}

/// The times of a CRL: `thisUpdate` strictly before `nextUpdate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlTimes {
    this_update: DateTime,
    next_update: DateTime,
}

impl CrlTimes {
    /// CRL issued at `this_update`; the next one will be issued by
    /// `next_update` (RFC 5280 requires conforming CRLs to say when).
    ///
    /// # Errors
    /// [`Error::UpdateTimesOutOfOrder`] unless `this_update < next_update`.
    pub fn new(this_update: DateTime, next_update: DateTime) -> Result<Self> {
        if this_update >= next_update {
            return Err(Error::UpdateTimesOutOfOrder);
        }
        Ok(Self {
            this_update,
            next_update,
        })
    }
}

/// Build and sign a full CRL (version 2) for the certificates `issuer` has
/// issued.
///
/// `crl_number` must grow with every CRL the issuer publishes (RFC 5280
/// §5.2.3); keeping it monotonic is the caller's job. Entries are written in
/// the order given.
///
/// # Errors
/// - [`Error::NotACaCertificate`] if the issuer's key usage lacks cRLSign;
/// - [`Error::TooManyRevokedEntries`] over [`CRL_ENTRIES_MAX`];
/// - [`Error::DuplicateRevokedSerial`] if a serial number is listed twice;
/// - [`Error::Signing`] / [`Error::Encoding`] on signer or encoding faults.
pub fn build_crl<S, Sig>(
    issuer: &Issuer<S, Sig>,
    crl_number: u64,
    times: CrlTimes,
    revoked: &[RevokedEntry],
) -> Result<CertificateList>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let crl_sign = issuer
        .certificate()
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(Error::Encoding)?
        .is_some_and(|(_, key_usage)| key_usage.crl_sign());
    if !crl_sign {
        return Err(Error::NotACaCertificate {
            reason: "keyUsage lacks cRLSign",
        });
    }
    if revoked.len() > CRL_ENTRIES_MAX {
        return Err(Error::TooManyRevokedEntries {
            count: revoked.len(),
            max: CRL_ENTRIES_MAX,
        });
    }
    let mut seen = HashSet::with_capacity(revoked.len());
    for entry in revoked {
        if !seen.insert(entry.serial.as_bytes()) {
            return Err(Error::DuplicateRevokedSerial {
                serial: entry.serial.to_string(),
            });
        }
    }

    let revoked_certificates = revoked
        .iter()
        .map(|entry| {
            let crl_entry_extensions = match entry.reason {
                Some(reason) => Some(vec![extension(false, &reason)?]),
                None => None,
            };
            Ok(RevokedCert {
                serial_number: entry.serial.clone(),
                revocation_date: Time::from(entry.revoked_at),
                crl_entry_extensions,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let crl_number = CrlNumber::try_from(crl_number).map_err(Error::Encoding)?;
    let authority_key_identifier = AuthorityKeyIdentifier {
        key_identifier: Some(
            der::asn1::OctetString::new(issuer.key_identifier()).map_err(Error::Encoding)?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };

    let tbs_cert_list = TbsCertList {
        version: Version::V2,
        signature: issuer.signature_algorithm()?,
        issuer: issuer.certificate().tbs_certificate().subject().clone(),
        this_update: Time::from(times.this_update),
        next_update: Some(Time::from(times.next_update)),
        // RFC 5280 §5.1.2.6: absent, not empty, when nothing is revoked.
        revoked_certificates: (!revoked_certificates.is_empty()).then_some(revoked_certificates),
        crl_extensions: Some(vec![
            extension(false, &crl_number)?,
            extension(false, &authority_key_identifier)?,
        ]),
    };
    let tbs_der = tbs_cert_list.to_der().map_err(Error::Encoding)?;
    let signature = issuer.sign_bits(&tbs_der)?;
    Ok(CertificateList {
        signature_algorithm: tbs_cert_list.signature.clone(),
        tbs_cert_list,
        signature,
    })
}

/// Largest CRL accepted by [`VerifiedCrl::from_der`].
pub const CRL_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A CRL whose issuer name and signature were checked against the issuer's certificate.
#[derive(Debug, Clone)]
pub struct VerifiedCrl {
    list: CertificateList,
}

impl VerifiedCrl {
    /// Parses a DER CRL and checks that `issuer` issued and signed it.
    pub fn from_der(der: &[u8], issuer: &x509_cert::Certificate) -> Result<Self> {
        use der::Decode as _;
        if der.len() > CRL_BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "CRL",
                len_bytes: der.len(),
                max_bytes: CRL_BYTES_MAX,
            });
        }
        let list = CertificateList::from_der(der).map_err(Error::MalformedCrl)?;
        if list.tbs_cert_list.issuer != *issuer.tbs_certificate().subject() {
            return Err(Error::CrlSignatureInvalid);
        }
        let key = crate::ca::SubjectPublicKey::from_spki(
            issuer.tbs_certificate().subject_public_key_info(),
        )?;
        let tbs = list.tbs_cert_list.to_der().map_err(Error::Encoding)?;
        if !key.verify(&list.signature_algorithm, &tbs, &list.signature)? {
            return Err(Error::CrlSignatureInvalid);
        }
        Ok(Self { list })
    }

    /// When the certificate with `serial` was revoked, if it is listed.
    pub fn revocation_time(&self, serial: &SerialNumber) -> Option<DateTime> {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()?
            .iter()
            .find(|r| r.serial_number == *serial)
            .map(|r| r.revocation_date.to_date_time())
    }

    /// `thisUpdate` of the CRL.
    pub fn this_update(&self) -> DateTime {
        self.list.tbs_cert_list.this_update.to_date_time()
    }
}
