//! The platform's own certificate authority and time-stamping authority, in process.
//!
//! The CA and TSA directories ([`CaDirectory`], [`TsaDirectory`], with the TSA's durable
//! token [`Serials`]) are defined here once: `affix ca` and `affix tsa` use these types,
//! so the command-line tools (`affix ca revoke|crl|serve`, `affix tsa serve`) work on a
//! platform's `ca/` and `tsa/` directories too (layout in docs/formats.md). Keys are
//! P-256 PKCS#8 files, mode 0600, written and read through `affix_seal::secret_file`.
//!
//! A signer's certificate certifies the public key of the signer's vault key: the CA
//! never sees a signer's private key.
//!
//! No clock is read here: every issuance and time-stamp takes `now` as a parameter, and
//! the platform passes its own clock's time.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use affix_pki::ca::{
    CreditCode, Issuer, OrganizationSubject, Profile, SubjectName, SubjectPublicKey,
};
use affix_tsp::{TimeStampAuthority, TokenSerial};
use der::Decode as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use x509_cert::Certificate;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::Error;

mod ca;
mod files;
mod tsa;

pub use ca::{CaDirectory, CaOptions, Revocation, crl_reason_from_name, crl_reason_name};
pub use files::read_cert;
pub use tsa::{DEFAULT_TSA_POLICY, Serials, TsaDirectory};

use files::pki;

/// Validity of a signer certificate.
const SIGNER_CERT_VALIDITY: Duration = Duration::from_secs(2 * 365 * 86_400);

/// Validity of the root and issuing CA certificates the platform creates.
const PLATFORM_ROOT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);
const PLATFORM_ISSUING_VALIDITY: Duration = Duration::from_secs(5 * 365 * 86_400);

/// The CA and TSA of a platform.
pub struct Authority {
    ca: CaDirectory,
    root: Certificate,
    issuing: Issuer<SigningKey, DerSignature>,
    issuing_cert: Certificate,
    tsa: TimeStampAuthority<SigningKey, DerSignature>,
    serials: Mutex<Serials>,
    ocsp: affix_pki::ocsp::Responder<SigningKey, DerSignature>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca_dir", &self.ca.path())
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Opens the CA in `dir/ca` and the TSA in `dir/tsa`, creating both on first use
    /// (root and issuing CA named after `name`, ten and five years).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`], [`Error::Config`].
    ///
    /// With `public_url`, certificates issued from now on name `<public_url>/v1/ca/ocsp`
    /// (AIA) and `<public_url>/v1/ca/crl` (CRL distribution point), which the platform
    /// serves ([`Self::ocsp_answer`], [`Self::crl`]): what long-term validation needs.
    pub fn open_or_create(
        dir: &Path,
        name: &str,
        public_url: Option<&str>,
        now: SystemTime,
    ) -> Result<Self, Error> {
        let ca_dir = dir.join("ca");
        let tsa_dir = dir.join("tsa");
        let ca = match CaDirectory::open(&ca_dir) {
            Ok(ca) => ca,
            Err(Error::NotFound(_)) => CaDirectory::create(
                &ca_dir,
                name,
                &CaOptions {
                    root_validity: PLATFORM_ROOT_VALIDITY,
                    issuing_validity: PLATFORM_ISSUING_VALIDITY,
                    ..CaOptions::default()
                },
                now,
            )?,
            Err(e) => return Err(e),
        };
        let tsa = match TsaDirectory::open(&tsa_dir) {
            Ok(tsa) => tsa,
            Err(Error::NotFound(_)) => TsaDirectory::create(
                &tsa_dir,
                &ca,
                &format!("{name} Time-Stamping Authority"),
                now,
            )?,
            Err(e) => return Err(e),
        };
        if let Some(base) = public_url {
            ca.set_distribution_urls(&format!("{base}/v1/ca/ocsp"), &format!("{base}/v1/ca/crl"))?;
        }
        Ok(Self {
            ocsp: ca.ocsp_responder()?,
            root: ca.root()?,
            issuing: ca.issuer()?,
            issuing_cert: ca.issuing_certificate()?,
            tsa: tsa.authority()?,
            serials: Mutex::new(tsa.serials()?),
            ca,
        })
    }

    /// The OCSP response (DER) to a request (DER), signed by the issuing CA at `now`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn ocsp_answer(&self, request: &[u8], now: SystemTime) -> Result<Vec<u8>, Error> {
        self.ca.ocsp_answer(&self.ocsp, request, now)
    }

    /// The issuing CA's current CRL (DER), republished when half its validity is gone.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn crl(&self, now: SystemTime) -> Result<Vec<u8>, Error> {
        self.ca.current_crl(now)
    }

    /// The root certificate: the trust anchor of every signature the platform makes.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The issuing CA certificate (the chain between a signer and the root).
    pub fn issuing(&self) -> &Certificate {
        &self.issuing_cert
    }

    /// Issues a signer's certificate (`C=CN, CN=<name>, serialNumber=<account>`,
    /// non-repudiation) for the P-256 public key `public_key_sec1` of the signer
    /// account's vault key, recorded in `issued.log` before it is returned.
    ///
    /// The name is the one the signer gave (never a tenant's); the account id in
    /// serialNumber tells apart two people of the same name; the certificate policies
    /// say how much was verified (contact verified, name self-asserted) and which kind of
    /// credential authorizes the key's use.
    ///
    /// # Errors
    /// [`Error::Pki`] for a bad key or name; [`Error::Io`].
    pub fn issue_person(
        &self,
        name: &str,
        account: &str,
        credential: CredentialPolicy,
        public_key_sec1: &[u8],
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let profile = Profile::Person(
            SubjectName::new(name)
                .and_then(|n| n.with_country("CN"))
                .and_then(|n| n.with_serial_number(account))
                .map_err(pki)?,
        );
        self.issue(
            &profile,
            public_key_sec1,
            now,
            &[
                affix_pki::oid::CP_PERSON_CONTACT_VERIFIED_NAME_ASSERTED,
                credential.oid(),
            ],
        )
    }

    /// Issues an organization's seal certificate (`C=CN, O=<name>, CN=<name>` with the
    /// unified social credit code, non-repudiation) for the P-256 public key of the
    /// organization's vault key, recorded in `issued.log` before it is returned. No
    /// business registry is configured (see `affix_identity::BusinessRegistry`), so the
    /// certificate policy says the credit code is asserted by the tenant.
    ///
    /// # Errors
    /// [`Error::Pki`] for a bad key, name or code; [`Error::Io`].
    pub fn issue_organization(
        &self,
        name: &str,
        credit_code: &str,
        public_key_sec1: &[u8],
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let subject = OrganizationSubject::new(name, CreditCode::parse(credit_code).map_err(pki)?)
            .map_err(pki)?;
        self.issue(
            &Profile::Organization(subject),
            public_key_sec1,
            now,
            &[
                affix_pki::oid::CP_ORGANIZATION_CREDIT_CODE_ASSERTED,
                affix_pki::oid::CP_CREDENTIAL_TENANT_HELD,
            ],
        )
    }

    fn issue(
        &self,
        profile: &Profile,
        public_key_sec1: &[u8],
        now: SystemTime,
        policies: &[const_oid::ObjectIdentifier],
    ) -> Result<Certificate, Error> {
        let key = p256::PublicKey::from_sec1_bytes(public_key_sec1).map_err(pki)?;
        let spki_der = key.to_public_key_der().map_err(pki)?;
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(pki)?;
        let public = SubjectPublicKey::from_spki(&spki).map_err(pki)?;
        self.ca.issue_with_policies(
            &self.issuing,
            profile,
            &public,
            SIGNER_CERT_VALIDITY,
            now,
            policies,
        )
    }

    /// An RFC 3161 token (with the TSA certificate) over SHA-256 of `data`, at `now`.
    ///
    /// # Errors
    /// [`Error::Pki`] if the TSA cannot sign; [`Error::Io`] reserving serials.
    pub fn timestamp(&self, data: &[u8], now: SystemTime) -> Result<Vec<u8>, Error> {
        let serial = self
            .serials
            .lock()
            .map_err(|_| Error::Internal("TSA serial lock".into()))?
            .take()?;
        let digest = affix_tsp::DigestAlgorithm::Sha256.digest(data);
        let request = affix_tsp::TimeStampRequest::new(affix_tsp::DigestAlgorithm::Sha256, &digest)
            .map_err(pki)?
            .with_certificate_requested(true)
            .to_der()
            .map_err(pki)?;
        let time = affix_tsp::GenTime::from_system_time(now).map_err(pki)?;
        match self
            .tsa
            .respond(&request, &TokenSerial::from_u64(serial), time)
            .map_err(pki)?
        {
            affix_tsp::Response::Granted(der) => {
                let parsed = affix_tsp::TimeStampResponse::parse(&der).map_err(pki)?;
                parsed
                    .token_der()
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| Error::Pki("the TSA answered without a token".into()))
            }
            affix_tsp::Response::Rejected { reason, .. } => {
                Err(Error::Pki(format!("the TSA refused: {reason}")))
            }
        }
    }
}

/// Which kind of credential authorizes a signer's key: named in the certificate (a
/// certificate policy) so that a court sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialPolicy {
    /// An Ed25519 device key (an app integration or `affix device`).
    DeviceKey,
    /// A passkey (WebAuthn).
    Passkey,
    /// A non-extractable WebCrypto key held by the signer's browser.
    BrowserKey,
}

impl CredentialPolicy {
    /// The certificate policy identifier.
    pub fn oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Self::DeviceKey => affix_pki::oid::CP_CREDENTIAL_DEVICE_KEY,
            Self::Passkey => affix_pki::oid::CP_CREDENTIAL_PASSKEY,
            Self::BrowserKey => affix_pki::oid::CP_CREDENTIAL_BROWSER_KEY,
        }
    }
}
