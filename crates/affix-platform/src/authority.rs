//! The platform's own certificate authority and time-stamping authority, in process.
//!
//! Directories use the layout of `affix ca init` and `affix tsa init` (docs/formats.md),
//! so the command-line tools (`affix ca revoke|crl|serve`, `affix tsa serve`) work on a
//! platform's `ca/` and `tsa/` directories too. Keys are P-256 PKCS#8 files, mode 0600.
//!
//! A signer's certificate certifies the public key of the signer's vault key: the CA
//! never sees a signer's private key.
//!
//! No clock is read here: every issuance and time-stamp takes `now` as a parameter, and
//! the platform passes its own clock's time.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use affix_pki::ca::{
    CreditCode, Issuer, OrganizationSubject, Profile, SubjectName, SubjectPublicKey,
    ValidityPeriod, serial_number_from_random,
};
use affix_tsp::{TimeStampAuthority, TokenSerial, TsaConfig};
use der::asn1::ObjectIdentifier;
use der::{Decode as _, DecodePem as _, EncodePem as _};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use x509_cert::Certificate;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::Error;

type P256Issuer = Issuer<SigningKey, DerSignature>;

/// The TSA policy OID under Affix's (placeholder) private arc, as `affix tsa init` writes.
pub const DEFAULT_TSA_POLICY: &str = "1.3.6.1.4.1.59999.1.1";

/// Serial numbers reserved (and fsync'd) per step, so a restart never reuses one.
const SERIAL_BLOCK: u64 = 10_000;

/// Validity of a signer certificate.
const SIGNER_CERT_DAYS: u64 = 2 * 365;

fn pki(e: impl std::fmt::Display) -> Error {
    Error::Pki(e.to_string())
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

fn datetime(t: SystemTime) -> Result<der::DateTime, Error> {
    der::DateTime::from_system_time(t).map_err(pki)
}

fn random_serial() -> Result<SerialNumber, Error> {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    Ok(serial_number_from_random(r))
}

fn new_p256_key() -> Result<SigningKey, Error> {
    loop {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| Error::Internal(format!("randomness: {e}")))?;
        if let Ok(key) = SigningKey::from_slice(seed.as_slice()) {
            return Ok(key);
        }
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}

fn write_key(path: &Path, key: &SigningKey) -> Result<(), Error> {
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(pki)?;
    write_private(path, pem.as_str())
}

fn read_key(path: &Path) -> Result<SigningKey, Error> {
    let pem = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io(path, e))?);
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| Error::Pki(format!("{}: {e}", path.display())))
}

fn write_cert(path: &Path, cert: &Certificate) -> Result<(), Error> {
    let pem = cert.to_pem(der::pem::LineEnding::LF).map_err(pki)?;
    std::fs::write(path, pem).map_err(|e| io(path, e))
}

/// Reads a PEM or DER certificate.
///
/// # Errors
/// [`Error::Io`], [`Error::Pki`].
pub fn read_cert(path: &Path) -> Result<Certificate, Error> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    Certificate::from_pem(&bytes)
        .or_else(|_| Certificate::from_der(&bytes))
        .map_err(|e| Error::Pki(format!("{}: {e}", path.display())))
}

fn append_line(path: &Path, line: &str) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| io(path, e))?;
    f.sync_data().map_err(|e| io(path, e))
}

/// The CA and TSA of a platform.
pub struct Authority {
    ca_dir: PathBuf,
    root: Certificate,
    issuing: P256Issuer,
    issuing_cert: Certificate,
    tsa: TimeStampAuthority<SigningKey, DerSignature>,
    serials: Mutex<Serials>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca_dir", &self.ca_dir)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Opens the CA in `dir/ca` and the TSA in `dir/tsa`, creating both on first use
    /// (root and issuing CA named after `name`, ten and five years).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`].
    pub fn open_or_create(dir: &Path, name: &str, now: SystemTime) -> Result<Self, Error> {
        let ca_dir = dir.join("ca");
        let tsa_dir = dir.join("tsa");
        if !ca_dir.join("root.pem").exists() {
            init_ca(&ca_dir, name, now)?;
        }
        if !tsa_dir.join("tsa.pem").exists() {
            init_tsa(
                &tsa_dir,
                &ca_dir,
                &format!("{name} Time-Stamping Authority"),
                now,
            )?;
        }
        let root = read_cert(&ca_dir.join("root.pem"))?;
        let issuing_cert = read_cert(&ca_dir.join("issuing.pem"))?;
        let issuing = Issuer::new(issuing_cert.clone(), read_key(&ca_dir.join("issuing.key"))?)
            .map_err(pki)?;
        let tsa_cert = read_cert(&tsa_dir.join("tsa.pem"))?;
        let policy = ObjectIdentifier::new(DEFAULT_TSA_POLICY).map_err(pki)?;
        let config = TsaConfig::new(policy)
            .with_accuracy(affix_tsp::Accuracy {
                seconds: None,
                millis: Some(100),
                micros: None,
            })
            .map_err(pki)?;
        let tsa = TimeStampAuthority::new(
            read_key(&tsa_dir.join("tsa.key"))?,
            tsa_cert,
            vec![issuing_cert.clone()],
            config,
        )
        .map_err(pki)?;
        Ok(Self {
            ca_dir,
            root,
            issuing,
            issuing_cert,
            tsa,
            serials: Mutex::new(Serials::open(&tsa_dir.join("serial"))?),
        })
    }

    /// The root certificate: the trust anchor of every signature the platform makes.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The issuing CA certificate (the chain between a signer and the root).
    pub fn issuing(&self) -> &Certificate {
        &self.issuing_cert
    }

    /// Issues a person certificate (`C=CN, CN=<name>`, non-repudiation) for the P-256
    /// public key `public_key_sec1` of the person's vault key, recorded in `issued.log`
    /// before it is returned.
    ///
    /// # Errors
    /// [`Error::Pki`] for a bad key or name; [`Error::Io`].
    pub fn issue_person(
        &self,
        name: &str,
        public_key_sec1: &[u8],
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let profile = Profile::Person(
            SubjectName::new(name)
                .map_err(pki)?
                .with_country("CN")
                .map_err(pki)?,
        );
        self.issue(&profile, public_key_sec1, now)
    }

    /// Issues an organization's seal certificate (`C=CN, O=<name>, CN=<name>` with the
    /// unified social credit code, non-repudiation) for the P-256 public key of the
    /// organization's vault key, recorded in `issued.log` before it is returned.
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
        self.issue(&Profile::Organization(subject), public_key_sec1, now)
    }

    fn issue(
        &self,
        profile: &Profile,
        public_key_sec1: &[u8],
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let key = p256::PublicKey::from_sec1_bytes(public_key_sec1).map_err(pki)?;
        let spki_der = key.to_public_key_der().map_err(pki)?;
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(pki)?;
        let public = SubjectPublicKey::from_spki(&spki).map_err(pki)?;
        let cert = self
            .issuing
            .issue(
                profile,
                &public,
                random_serial()?,
                ValidityPeriod::new(
                    datetime(now)?,
                    datetime(now + Duration::from_secs(SIGNER_CERT_DAYS * 86_400))?,
                )
                .map_err(pki)?,
            )
            .map_err(pki)?;
        let serial = hex::encode(cert.tbs_certificate().serial_number().as_bytes());
        let unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        append_line(
            &self.ca_dir.join("issued.log"),
            &format!("{serial}\t{unix}\t{}", cert.tbs_certificate().subject()),
        )?;
        Ok(cert)
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

fn init_ca(dir: &Path, name: &str, now: SystemTime) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let root_key = new_p256_key()?;
    let issuing_key = new_p256_key()?;
    let root_name = SubjectName::new(&format!("{name} Root CA"))
        .and_then(|s| s.with_organization(name))
        .and_then(|s| s.with_country("CN"))
        .map_err(pki)?;
    let issuing_name = SubjectName::new(&format!("{name} Issuing CA"))
        .and_then(|s| s.with_organization(name))
        .and_then(|s| s.with_country("CN"))
        .map_err(pki)?;
    let years = |n: u64| datetime(now + Duration::from_secs(n * 365 * 86_400));
    let root: P256Issuer = Issuer::create_root(
        root_key.clone(),
        &root_name,
        random_serial()?,
        ValidityPeriod::new(datetime(now)?, years(10)?).map_err(pki)?,
    )
    .map_err(pki)?;
    let issuing_public = SubjectPublicKey::from_keypair(&issuing_key).map_err(pki)?;
    let issuing_cert = root
        .issue_subordinate_ca(
            &issuing_name,
            &issuing_public,
            0,
            random_serial()?,
            ValidityPeriod::new(datetime(now)?, years(5)?).map_err(pki)?,
        )
        .map_err(pki)?;
    write_key(&dir.join("root.key"), &root_key)?;
    write_key(&dir.join("issuing.key"), &issuing_key)?;
    write_cert(&dir.join("issuing.pem"), &issuing_cert)?;
    std::fs::write(dir.join("ca.toml"), format!("name = \"{name}\"\n")).map_err(|e| io(dir, e))?;
    std::fs::write(dir.join("crl_number"), "0\n").map_err(|e| io(dir, e))?;
    // Written last: its presence marks a complete CA directory.
    write_cert(&dir.join("root.pem"), root.certificate())
}

fn init_tsa(dir: &Path, ca_dir: &Path, name: &str, now: SystemTime) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let issuing_cert = read_cert(&ca_dir.join("issuing.pem"))?;
    let issuing: P256Issuer =
        Issuer::new(issuing_cert.clone(), read_key(&ca_dir.join("issuing.key"))?).map_err(pki)?;
    let key_path = dir.join("tsa.key");
    let key = if key_path.exists() {
        read_key(&key_path)?
    } else {
        let key = new_p256_key()?;
        write_key(&key_path, &key)?;
        key
    };
    let public = SubjectPublicKey::from_keypair(&key).map_err(pki)?;
    let cert = issuing
        .issue(
            &Profile::TsaSigner(SubjectName::new(name).map_err(pki)?),
            &public,
            random_serial()?,
            ValidityPeriod::new(
                datetime(now)?,
                datetime(now + Duration::from_secs(3 * 365 * 86_400))?,
            )
            .map_err(pki)?,
        )
        .map_err(pki)?;
    write_cert(&dir.join("chain.pem"), &issuing_cert)?;
    std::fs::copy(ca_dir.join("root.pem"), dir.join("root.pem")).map_err(|e| io(dir, e))?;
    std::fs::write(
        dir.join("tsa.toml"),
        format!("policy = \"{DEFAULT_TSA_POLICY}\"\naccuracy_ms = 100\n"),
    )
    .map_err(|e| io(dir, e))?;
    write_cert(&dir.join("tsa.pem"), &cert)
}

/// Token serial numbers: reserved on disk in blocks (fsync'd) before use.
struct Serials {
    path: PathBuf,
    next: u64,
    reserved_end: u64,
}

impl Serials {
    fn open(path: &Path) -> Result<Self, Error> {
        let end = match std::fs::read_to_string(path) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| Error::Io(format!("{}: not a number", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(io(path, e)),
        };
        Ok(Self {
            path: path.to_owned(),
            next: end,
            reserved_end: end,
        })
    }

    fn take(&mut self) -> Result<u64, Error> {
        if self.next >= self.reserved_end {
            let end = self.next + SERIAL_BLOCK;
            let tmp = self.path.with_extension("tmp");
            {
                let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
                f.write_all(format!("{end}\n").as_bytes())
                    .map_err(|e| io(&tmp, e))?;
                f.sync_all().map_err(|e| io(&tmp, e))?;
            }
            std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, e))?;
            self.reserved_end = end;
        }
        let serial = self.next;
        self.next += 1;
        Ok(serial)
    }
}
