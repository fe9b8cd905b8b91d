//! A CA directory: the root and issuing CA, what they issued and revoked, the CRL.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use affix_pki::ca::{
    DistributionUrls, Issuer, Profile, SubjectName, SubjectPublicKey, ValidityPeriod,
};
use affix_pki::crl::{CrlTimes, RevokedEntry, build_crl};
use affix_pki::ocsp::{CertStatus, Responder, ResponseTimes};
use der::Encode as _;
use p256::ecdsa::{DerSignature, SigningKey};
use x509_cert::Certificate;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;

use super::files::{
    append_line, datetime, io, new_p256_key, pki, random_serial, read_cert, read_key, replace_file,
    unix_seconds, write_cert, write_key,
};
use crate::Error;

/// Validity of a CRL `publish_crl` signs.
const CRL_VALIDITY: Duration = Duration::from_secs(86_400);
/// How long an OCSP response is fresh (nextUpdate).
const OCSP_RESPONSE_VALIDITY: Duration = Duration::from_secs(3600);

/// What a new CA directory holds besides its keys.
#[derive(Debug, Clone, Default)]
pub struct CaOptions {
    /// OCSP responder URL put into issued certificates (AIA).
    pub ocsp_url: Option<String>,
    /// CRL URL put into issued certificates (CRL distribution point).
    pub crl_url: Option<String>,
    /// Validity of the root CA certificate.
    pub root_validity: Duration,
    /// Validity of the issuing CA certificate.
    pub issuing_validity: Duration,
}

/// `ca.toml`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaFile {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ocsp_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crl_url: Option<String>,
}

/// One revocation, as `revoked.log` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// When the certificate was revoked.
    pub at: der::DateTime,
    /// Why, if the log names a reason this crate knows.
    pub reason: Option<CrlReason>,
}

/// A CA directory (layout in docs/formats.md, "CA directory"): `root.pem`, `root.key`,
/// `issuing.pem`, `issuing.key`, `ca.toml`, `issued.log`, `revoked.log`, `crl_number`,
/// `crl.der`. Keys are P-256 PKCS#8 files, mode 0600.
#[derive(Debug, Clone)]
pub struct CaDirectory {
    dir: PathBuf,
}

impl CaDirectory {
    /// Creates a root and an issuing CA named after `name` (`<name> Root CA`, `<name>
    /// Issuing CA`, `O=<name>, C=CN`) in `dir` and publishes an empty CRL. `root.pem` is
    /// written last: its presence marks a complete directory.
    ///
    /// # Errors
    /// [`Error::Conflict`] if `dir` already holds a CA; [`Error::Pki`] for a bad name or
    /// URL; [`Error::Io`] (a key file that already exists included).
    pub fn create(
        dir: &Path,
        name: &str,
        options: &CaOptions,
        now: SystemTime,
    ) -> Result<Self, Error> {
        if dir.join("root.pem").exists() {
            return Err(Error::Conflict {
                kind: crate::ProblemType::CaExists,
                detail: format!("{} already holds a CA", dir.display()),
            });
        }
        // Check the URLs before anything is written.
        let mut urls = DistributionUrls::new();
        if let Some(u) = &options.ocsp_url {
            urls = urls.with_ocsp(u).map_err(pki)?;
        }
        if let Some(u) = &options.crl_url {
            urls = urls.with_crl(u).map_err(pki)?;
        }
        drop(urls);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let root_key = new_p256_key()?;
        let issuing_key = new_p256_key()?;
        let subject = |role: &str| {
            SubjectName::new(&format!("{name} {role}"))
                .and_then(|s| s.with_organization(name))
                .and_then(|s| s.with_country("CN"))
                .map_err(pki)
        };
        let validity = |length: Duration| {
            ValidityPeriod::new(datetime(now)?, datetime(now + length)?).map_err(pki)
        };
        let root: Issuer<SigningKey, DerSignature> = Issuer::create_root(
            root_key.clone(),
            &subject("Root CA")?,
            random_serial()?,
            validity(options.root_validity)?,
        )
        .map_err(pki)?;
        let issuing_public = SubjectPublicKey::from_keypair(&issuing_key).map_err(pki)?;
        let issuing_cert = root
            .issue_subordinate_ca(
                &subject("Issuing CA")?,
                &issuing_public,
                0,
                random_serial()?,
                validity(options.issuing_validity)?,
            )
            .map_err(pki)?;
        write_key(&dir.join("root.key"), &root_key)?;
        write_key(&dir.join("issuing.key"), &issuing_key)?;
        write_cert(&dir.join("issuing.pem"), &issuing_cert)?;
        let config = CaFile {
            name: name.to_owned(),
            ocsp_url: options.ocsp_url.clone(),
            crl_url: options.crl_url.clone(),
        };
        let config = toml::to_string(&config).map_err(|e| Error::Internal(e.to_string()))?;
        replace_file(&dir.join("ca.toml"), config.as_bytes())?;
        replace_file(&dir.join("crl_number"), b"0\n")?;
        let ca = Self {
            dir: dir.to_owned(),
        };
        ca.publish_crl_with(&Issuer::new(issuing_cert, issuing_key).map_err(pki)?, now)?;
        // Written last: its presence marks a complete CA directory.
        write_cert(&dir.join("root.pem"), root.certificate())?;
        Ok(ca)
    }

    /// The CA in `dir`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if `dir` holds no (complete) CA.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        if !dir.join("root.pem").exists() {
            return Err(Error::NotFound(format!(
                "no CA in {} (run `affix ca init`)",
                dir.display()
            )));
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The root certificate.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn root(&self) -> Result<Certificate, Error> {
        read_cert(&self.dir.join("root.pem"))
    }

    /// The issuing CA certificate.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn issuing_certificate(&self) -> Result<Certificate, Error> {
        read_cert(&self.dir.join("issuing.pem"))
    }

    /// The issuing CA with its key and the distribution URLs of `ca.toml`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`], [`Error::Config`] for a malformed `ca.toml`.
    pub fn issuer(&self) -> Result<Issuer<SigningKey, DerSignature>, Error> {
        let config = self.config()?;
        let mut urls = DistributionUrls::new();
        if let Some(u) = &config.ocsp_url {
            urls = urls.with_ocsp(u).map_err(pki)?;
        }
        if let Some(u) = &config.crl_url {
            urls = urls.with_crl(u).map_err(pki)?;
        }
        Ok(Issuer::new(
            self.issuing_certificate()?,
            read_key(&self.dir.join("issuing.key"))?,
        )
        .map_err(pki)?
        .with_distribution_urls(urls))
    }

    /// An OCSP responder signing with the issuing CA's key (RFC 6960 §2.6: the CA itself).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn ocsp_responder(&self) -> Result<Responder<SigningKey, DerSignature>, Error> {
        Responder::for_ca(
            &self.issuing_certificate()?,
            read_key(&self.dir.join("issuing.key"))?,
        )
        .map_err(pki)
    }

    fn config(&self) -> Result<CaFile, Error> {
        let path = self.dir.join("ca.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CaFile::default()),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Issues a certificate for `public` with `issuer` (from [`Self::issuer`]), valid for
    /// `validity` from `now`, with a random 16-byte serial; recorded in `issued.log`
    /// (fsync'd) before it is returned.
    ///
    /// # Errors
    /// [`Error::Pki`], [`Error::Io`].
    pub fn issue(
        &self,
        issuer: &Issuer<SigningKey, DerSignature>,
        profile: &Profile,
        public: &SubjectPublicKey,
        validity: Duration,
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        self.issue_with_policies(issuer, profile, public, validity, now, &[])
    }

    /// [`Self::issue`] with a certificatePolicies extension naming `policies`.
    ///
    /// # Errors
    /// [`Error::Pki`], [`Error::Io`].
    pub fn issue_with_policies(
        &self,
        issuer: &Issuer<SigningKey, DerSignature>,
        profile: &Profile,
        public: &SubjectPublicKey,
        validity: Duration,
        now: SystemTime,
        policies: &[const_oid::ObjectIdentifier],
    ) -> Result<Certificate, Error> {
        let cert = issuer
            .issue_with_policies(
                profile,
                public,
                random_serial()?,
                ValidityPeriod::new(datetime(now)?, datetime(now + validity)?).map_err(pki)?,
                policies,
            )
            .map_err(pki)?;
        let serial = hex::encode(cert.tbs_certificate().serial_number().as_bytes());
        append_line(
            &self.dir.join("issued.log"),
            &format!(
                "{serial}\t{}\t{}",
                unix_seconds(now),
                cert.tbs_certificate().subject()
            ),
        )?;
        Ok(cert)
    }

    /// Issues a certificate, as [`Self::issue`], for a new P-256 key written to `key_out`
    /// (PKCS#8 PEM, mode 0600, never overwriting anything) before the certificate is
    /// issued.
    ///
    /// # Errors
    /// [`Error::Io`] (a file at `key_out` included), [`Error::Pki`].
    pub fn issue_new_key(
        &self,
        issuer: &Issuer<SigningKey, DerSignature>,
        profile: &Profile,
        key_out: &Path,
        validity: Duration,
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let key = new_p256_key()?;
        write_key(key_out, &key)?;
        let public = SubjectPublicKey::from_keypair(&key).map_err(pki)?;
        self.issue(issuer, profile, &public, validity, now)
    }

    /// The serials (lowercase hex) of every certificate in `issued.log`.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn issued(&self) -> Result<HashSet<String>, Error> {
        Ok(self
            .read_log("issued.log")?
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect())
    }

    /// Every revocation in `revoked.log`, by serial (lowercase hex).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`] for a time out of range.
    pub fn revoked(&self) -> Result<HashMap<String, Revocation>, Error> {
        let mut out = HashMap::new();
        for line in self.read_log("revoked.log")?.lines() {
            let mut parts = line.split('\t');
            let (Some(serial), Some(unix), reason) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(unix.parse().unwrap_or(0));
            out.insert(
                serial.to_owned(),
                Revocation {
                    at: datetime(at)?,
                    reason: reason.and_then(crl_reason_from_name),
                },
            );
        }
        Ok(out)
    }

    fn read_log(&self, name: &str) -> Result<String, Error> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Revokes the certificate with `serial` (hex, an optional `0x`), recording it in
    /// `revoked.log` (fsync'd), then publishes a new CRL.
    ///
    /// # Errors
    /// [`Error::NotFound`] if this CA did not issue it; [`Error::Conflict`] if it is
    /// revoked already; [`Error::Io`], [`Error::Pki`].
    pub fn revoke(&self, serial: &str, reason: CrlReason, now: SystemTime) -> Result<(), Error> {
        let serial = serial
            .to_ascii_lowercase()
            .trim_start_matches("0x")
            .to_owned();
        if !self.issued()?.contains(&serial) {
            return Err(Error::NotFound(format!(
                "no certificate with serial {serial} was issued by this CA"
            )));
        }
        if self.revoked()?.contains_key(&serial) {
            return Err(Error::Conflict {
                kind: crate::ProblemType::AlreadyRevoked,
                detail: format!("certificate {serial} is already revoked"),
            });
        }
        append_line(
            &self.dir.join("revoked.log"),
            &format!(
                "{serial}\t{}\t{}",
                unix_seconds(now),
                crl_reason_name(reason)
            ),
        )?;
        self.publish_crl(now)?;
        Ok(())
    }

    /// Signs a CRL with the next CRL number, valid for a day from `now`, and replaces
    /// `crl.der` with it (the number first, so a crash never reuses one); returns its DER.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn publish_crl(&self, now: SystemTime) -> Result<Vec<u8>, Error> {
        self.publish_crl_with(&self.issuer()?, now)
    }

    fn publish_crl_with(
        &self,
        issuer: &Issuer<SigningKey, DerSignature>,
        now: SystemTime,
    ) -> Result<Vec<u8>, Error> {
        let number_path = self.dir.join("crl_number");
        let number: u64 = match std::fs::read_to_string(&number_path) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| Error::Config(format!("{}: not a number", number_path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&number_path, e)),
        } + 1;
        let mut entries = Vec::new();
        for (serial, revocation) in self.revoked()? {
            let bytes = hex::decode(&serial).map_err(|e| Error::Pki(format!("{serial}: {e}")))?;
            entries.push(
                RevokedEntry::new(
                    SerialNumber::new(&bytes).map_err(pki)?,
                    revocation.at,
                    revocation.reason,
                )
                .map_err(pki)?,
            );
        }
        let crl = build_crl(
            issuer,
            number,
            CrlTimes::new(datetime(now)?, datetime(now + CRL_VALIDITY)?).map_err(pki)?,
            &entries,
        )
        .map_err(pki)?;
        let der = crl.to_der().map_err(pki)?;
        replace_file(&number_path, format!("{number}\n").as_bytes())?;
        replace_file(&self.dir.join("crl.der"), &der)?;
        Ok(der)
    }
}

impl CaDirectory {
    /// The OCSP response (RFC 6960, DER) to `request` by `responder` at `now`: good for a
    /// certificate this CA issued and did not revoke, revoked (time and reason) for one
    /// in `revoked.log`, unknown otherwise; a malformed request gets an OCSP error
    /// response, which travels inside a 200 answer (§2.3). The one answer of
    /// `affix ca serve` and `affix serve`.
    ///
    /// # Errors
    /// [`Error::Io`] for unreadable logs, [`Error::Pki`] for a clock out of range.
    pub fn ocsp_answer(
        &self,
        responder: &Responder<SigningKey, DerSignature>,
        request: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, Error> {
        let issued = self.issued()?;
        let revoked = self.revoked()?;
        let this_update = datetime(now)?;
        let times = ResponseTimes::new(
            this_update,
            this_update,
            Some(datetime(now + OCSP_RESPONSE_VALIDITY)?),
        )
        .map_err(pki)?;
        let answer = responder.respond(request, &times, |serial| {
            let hex = hex::encode(serial.as_bytes());
            match revoked.get(&hex) {
                Some(r) => CertStatus::Revoked {
                    revoked_at: r.at,
                    reason: r.reason,
                },
                None if issued.contains(&hex) => CertStatus::Good,
                None => CertStatus::Unknown,
            }
        });
        if let Some(e) = answer.refusal() {
            tracing::info!(error = %e, "OCSP request refused");
        }
        Ok(answer.der().to_vec())
    }

    /// The current CRL (DER): `crl.der` while it is fresh (issued less than half its
    /// validity ago), else a newly published one.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn current_crl(&self, now: SystemTime) -> Result<Vec<u8>, Error> {
        let path = self.dir.join("crl.der");
        if let Ok(meta) = std::fs::metadata(&path)
            && let Ok(modified) = meta.modified()
            && now
                .duration_since(modified)
                .is_ok_and(|age| age < CRL_VALIDITY / 2)
            && let Ok(der) = std::fs::read(&path)
        {
            return Ok(der);
        }
        self.publish_crl(now)
    }

    /// Points the certificates issued from now on at these OCSP and CRL URLs (AIA and
    /// CRL distribution point), rewriting `ca.toml` if they changed.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Config`].
    pub fn set_distribution_urls(&self, ocsp_url: &str, crl_url: &str) -> Result<(), Error> {
        let mut config = self.config()?;
        if config.ocsp_url.as_deref() == Some(ocsp_url)
            && config.crl_url.as_deref() == Some(crl_url)
        {
            return Ok(());
        }
        config.ocsp_url = Some(ocsp_url.to_owned());
        config.crl_url = Some(crl_url.to_owned());
        let text = toml::to_string(&config).map_err(|e| Error::Config(format!("ca.toml: {e}")))?;
        replace_file(&self.dir.join("ca.toml"), text.as_bytes())
    }
}

/// The RFC 5280 §5.3.1 reason code of its name (`keyCompromise`, `superseded`, …).
pub fn crl_reason_from_name(name: &str) -> Option<CrlReason> {
    Some(match name {
        "keyCompromise" => CrlReason::KeyCompromise,
        "cACompromise" => CrlReason::CaCompromise,
        "affiliationChanged" => CrlReason::AffiliationChanged,
        "superseded" => CrlReason::Superseded,
        "cessationOfOperation" => CrlReason::CessationOfOperation,
        "certificateHold" => CrlReason::CertificateHold,
        "privilegeWithdrawn" => CrlReason::PrivilegeWithdrawn,
        _ => return None,
    })
}

/// The name `revoked.log` records for `reason` (the inverse of [`crl_reason_from_name`]).
pub fn crl_reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}
