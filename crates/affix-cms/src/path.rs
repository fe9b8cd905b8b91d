//! Certificate path building and validation, just enough for signer certificates.
//!
//! Checks, for every certificate from the signer up to a trust anchor: the issuer's
//! signature, validity at the validation time, no unprocessed critical extension; for
//! every issuer: basic constraints `cA`, key usage `keyCertSign` when present, and the
//! path length constraint. Not checked here: revocation (CRL/OCSP), certificate policies,
//! name constraints (a certificate that marks them critical is rejected).

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use std::time::SystemTime;

use der::Encode;
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, KeyUsage},
};

use super::{
    CHAIN_DEPTH_MAX, Error,
    algorithm::{self, SignatureCheckError},
};

/// Extensions this module understands well enough to accept when marked critical.
const PROCESSED_EXTENSIONS: [const_oid::ObjectIdentifier; 7] = [
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_CERTIFICATE_POLICIES,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
    ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// A certificate's subject as an RFC 4514 string, for errors and reports.
pub(super) fn subject_of(certificate: &Certificate) -> String {
    certificate.tbs_certificate().subject().to_string()
}

/// Builds a path from `signer` to one of `trust_anchors`, using `intermediates` as
/// candidate issuers, and validates it at `time`. Returns the path, signer first and
/// trust anchor last (a signer that is itself a trust anchor gives a path of one).
///
/// At each step the issuer is the first candidate — trust anchors first, then the
/// carried certificates not already on the path — whose subject is the current
/// certificate's issuer and whose key verifies its signature. Signature checks are
/// bounded by `CHAIN_DEPTH_MAX × (trust anchors + CERTIFICATES_MAX)`.
pub(super) fn validate(
    signer: &Certificate,
    intermediates: &[Certificate],
    trust_anchors: &[Certificate],
    time: SystemTime,
) -> Result<Vec<Certificate>, Error> {
    check_certificate(signer, time)?;
    let mut path = vec![signer.clone()];
    for _ in 0..CHAIN_DEPTH_MAX {
        let current = path.last().unwrap_or(signer);
        if trust_anchors.contains(current) {
            return Ok(path);
        }
        let untrusted = || Error::UntrustedChain {
            subject: subject_of(current),
        };
        // A self-issued certificate that is not a trust anchor ends the path.
        let tbs = current.tbs_certificate();
        if tbs.issuer() == tbs.subject() {
            return Err(untrusted());
        }
        let candidates = trust_anchors
            .iter()
            .map(|anchor| (anchor, true))
            .chain(
                intermediates
                    .iter()
                    .filter(|certificate| !path.contains(certificate))
                    .map(|certificate| (certificate, false)),
            )
            .filter(|(candidate, _)| candidate.tbs_certificate().subject() == tbs.issuer());
        // Why the name-matching candidates failed: an unusable key (unsupported
        // algorithm, ...) is more telling than a bad signature; no match at all means
        // the path leaves the certificates we have.
        let mut failure = None;
        let mut issuer = None;
        for (candidate, is_anchor) in candidates {
            match verify_certificate_signature(current, candidate) {
                Ok(()) => {
                    issuer = Some((candidate, is_anchor));
                    break;
                }
                Err(error @ Error::CertificateSignatureInvalid { .. }) => {
                    failure.get_or_insert(error);
                }
                Err(error) => failure = Some(error),
            }
        }
        let Some((issuer, is_anchor)) = issuer else {
            return Err(failure.unwrap_or_else(untrusted));
        };
        check_issuer(issuer, path.len(), time)?;
        path.push(issuer.clone());
        if is_anchor {
            return Ok(path);
        }
    }
    Err(Error::ChainTooLong {
        max: CHAIN_DEPTH_MAX,
    })
}

/// Verifies `child`'s signature with `issuer`'s public key.
pub(super) fn verify_certificate_signature(
    child: &Certificate,
    issuer: &Certificate,
) -> Result<(), Error> {
    let invalid = || Error::CertificateSignatureInvalid {
        subject: subject_of(child),
    };
    let key = algorithm::public_key(
        issuer.tbs_certificate().subject_public_key_info(),
        &subject_of(issuer),
    )?;
    // Both TBS and signature algorithm fields must agree (RFC 5280 §4.1.1.2).
    if child.signature_algorithm() != child.tbs_certificate().signature() {
        return Err(invalid());
    }
    let tbs_der = child.tbs_certificate().to_der().map_err(Error::Encoding)?;
    let signature = child.signature().as_bytes().ok_or_else(invalid)?;
    match algorithm::verify(&key, child.signature_algorithm(), None, &tbs_der, signature) {
        Ok(_) => Ok(()),
        Err(SignatureCheckError::Invalid) => Err(invalid()),
        Err(SignatureCheckError::Unusable(error)) => Err(error),
    }
}

/// Checks that hold for every certificate on the path: validity at `time`, and no
/// critical extension we do not process.
fn check_certificate(certificate: &Certificate, time: SystemTime) -> Result<(), Error> {
    let tbs = certificate.tbs_certificate();
    let validity = tbs.validity();
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    if time < not_before {
        return Err(Error::CertificateNotYetValid {
            subject: subject_of(certificate),
            not_before,
        });
    }
    if time > not_after {
        return Err(Error::CertificateExpired {
            subject: subject_of(certificate),
            not_after,
        });
    }
    for extension in tbs.extensions().into_iter().flatten() {
        if extension.critical && !PROCESSED_EXTENSIONS.contains(&extension.extn_id) {
            return Err(Error::UnsupportedCriticalExtension {
                subject: subject_of(certificate),
                oid: extension.extn_id,
            });
        }
    }
    Ok(())
}

/// Checks an issuer: everything in [`check_certificate`], plus CA-ness, `keyCertSign`
/// and the path length constraint. `certificates_below` counts the certificates already
/// on the path (signer included).
fn check_issuer(
    issuer: &Certificate,
    certificates_below: usize,
    time: SystemTime,
) -> Result<(), Error> {
    check_certificate(issuer, time)?;
    let subject = || subject_of(issuer);
    let tbs = issuer.tbs_certificate();
    let basic_constraints =
        tbs.get_extension::<BasicConstraints>()
            .map_err(|_| Error::ExtensionInvalid {
                subject: subject(),
                oid: ID_CE_BASIC_CONSTRAINTS,
            })?;
    let Some((_, basic_constraints)) = basic_constraints.filter(|(_, bc)| bc.ca) else {
        return Err(Error::NotCaCertificate { subject: subject() });
    };
    // pathLenConstraint counts the non-self-issued intermediates below this CA; the
    // signer is not one of them.
    if let Some(path_len) = basic_constraints.path_len_constraint
        && certificates_below.saturating_sub(1) > usize::from(path_len)
    {
        return Err(Error::PathLengthExceeded { subject: subject() });
    }
    if let Some((_, key_usage)) = key_usage(issuer)?
        && !key_usage.key_cert_sign()
    {
        return Err(Error::KeyUsageNotPermitted {
            subject: subject(),
            usage: "keyCertSign",
        });
    }
    Ok(())
}

/// Checks that the signer certificate may sign documents: if key usage is present it must
/// include digitalSignature or nonRepudiation (contentCommitment).
pub(super) fn check_signer_key_usage(signer: &Certificate) -> Result<(), Error> {
    match key_usage(signer)? {
        Some((_, usage)) if !(usage.digital_signature() || usage.non_repudiation()) => {
            Err(Error::KeyUsageNotPermitted {
                subject: subject_of(signer),
                usage: "digitalSignature or nonRepudiation",
            })
        }
        _ => Ok(()),
    }
}

fn key_usage(certificate: &Certificate) -> Result<Option<(bool, KeyUsage)>, Error> {
    certificate
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(|_| Error::ExtensionInvalid {
            subject: subject_of(certificate),
            oid: ID_CE_KEY_USAGE,
        })
}
