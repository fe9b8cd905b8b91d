//! A TSA directory: the time-stamping key and certificate, its policy, and durable
//! token serial numbers.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use affix_pki::ca::{Profile, SubjectName, SubjectPublicKey};
use affix_tsp::{Accuracy, TimeStampAuthority, TsaConfig};
use der::asn1::ObjectIdentifier;
use p256::ecdsa::{DerSignature, SigningKey};

use super::CaDirectory;
use super::files::{io, new_p256_key, pki, read_cert, read_key, replace_file, write_key};
use crate::Error;

/// The TSA policy OID under Affix's (placeholder) private arc, as `affix tsa init` writes.
pub const DEFAULT_TSA_POLICY: &str = "1.3.6.1.4.1.59999.1.1";

/// The accuracy a new TSA claims, in milliseconds.
const DEFAULT_ACCURACY_MS: u16 = 100;

/// Validity of a TSA certificate.
const TSA_CERT_VALIDITY: Duration = Duration::from_secs(3 * 365 * 86_400);

/// Serial numbers reserved (and fsync'd) per step, so a restart never reuses one.
const SERIAL_BLOCK: u64 = 10_000;

/// `tsa.toml`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TsaFile {
    policy: String,
    accuracy_ms: u16,
}

/// A TSA directory (layout in docs/formats.md, "TSA directory"): `tsa.pem`, `tsa.key`,
/// `chain.pem` (the issuing CA), `root.pem`, `tsa.toml`, `serial`.
#[derive(Debug, Clone)]
pub struct TsaDirectory {
    dir: PathBuf,
}

impl TsaDirectory {
    /// Creates a TSA in `dir`: a P-256 key (or the one a crashed earlier attempt left)
    /// and a TSA certificate issued by `ca` for three years, recorded in the CA's
    /// `issued.log`. `tsa.pem` is written last: its presence marks a complete directory.
    ///
    /// # Errors
    /// [`Error::Conflict`] if `dir` already holds a TSA; [`Error::Io`], [`Error::Pki`].
    pub fn create(
        dir: &Path,
        ca: &CaDirectory,
        name: &str,
        now: SystemTime,
    ) -> Result<Self, Error> {
        if dir.join("tsa.pem").exists() {
            return Err(Error::Conflict {
                kind: crate::ProblemType::TsaExists,
                detail: format!("{} already holds a TSA", dir.display()),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let issuer = ca.issuer()?;
        let key_path = dir.join("tsa.key");
        let key = if key_path.exists() {
            read_key(&key_path)?
        } else {
            let key = new_p256_key()?;
            write_key(&key_path, &key)?;
            key
        };
        let public = SubjectPublicKey::from_keypair(&key).map_err(pki)?;
        let profile = Profile::TsaSigner(SubjectName::new(name).map_err(pki)?);
        let cert = ca.issue(&issuer, &profile, &public, TSA_CERT_VALIDITY, now)?;
        replace_file(
            &dir.join("chain.pem"),
            &std::fs::read(ca.path().join("issuing.pem"))
                .map_err(|e| io(&ca.path().join("issuing.pem"), e))?,
        )?;
        replace_file(
            &dir.join("root.pem"),
            &std::fs::read(ca.path().join("root.pem"))
                .map_err(|e| io(&ca.path().join("root.pem"), e))?,
        )?;
        let config = TsaFile {
            policy: DEFAULT_TSA_POLICY.to_owned(),
            accuracy_ms: DEFAULT_ACCURACY_MS,
        };
        let config = toml::to_string(&config).map_err(|e| Error::Internal(e.to_string()))?;
        replace_file(&dir.join("tsa.toml"), config.as_bytes())?;
        // Written last: its presence marks a complete TSA directory.
        super::files::write_cert(&dir.join("tsa.pem"), &cert)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The TSA in `dir`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if `dir` holds no (complete) TSA.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        if !dir.join("tsa.pem").exists() {
            return Err(Error::NotFound(format!(
                "no TSA in {} (run `affix tsa init`)",
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

    /// The time-stamping authority: its key, certificate (with the issuing CA as chain),
    /// and the policy and accuracy of `tsa.toml`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Pki`], [`Error::Config`] for a malformed `tsa.toml`.
    pub fn authority(&self) -> Result<TimeStampAuthority<SigningKey, DerSignature>, Error> {
        let path = self.dir.join("tsa.toml");
        let config: TsaFile = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TsaFile {
                policy: DEFAULT_TSA_POLICY.to_owned(),
                accuracy_ms: DEFAULT_ACCURACY_MS,
            },
            Err(e) => return Err(io(&path, e)),
        };
        let policy = ObjectIdentifier::new(&config.policy)
            .map_err(|e| Error::Config(format!("{}: policy: {e}", path.display())))?;
        let config = TsaConfig::new(policy)
            .with_accuracy(Accuracy {
                seconds: None,
                millis: Some(config.accuracy_ms),
                micros: None,
            })
            .map_err(pki)?;
        TimeStampAuthority::new(
            read_key(&self.dir.join("tsa.key"))?,
            read_cert(&self.dir.join("tsa.pem"))?,
            vec![read_cert(&self.dir.join("chain.pem"))?],
            config,
        )
        .map_err(pki)
    }

    /// The TSA's token serial numbers.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Config`] for a malformed `serial` file.
    pub fn serials(&self) -> Result<Serials, Error> {
        Serials::open(&self.dir.join("serial"))
    }
}

/// Token serial numbers that survive restarts: blocks of [`SERIAL_BLOCK`] are reserved
/// on disk before use — the new end written to a temporary file, fsync'd, renamed over
/// `serial`, and the directory fsync'd — so a crash skips numbers but never repeats one
/// (RFC 3161 §2.4.2 requires a serial to be unique for each token of a TSA).
///
/// One process at a time may hold a TSA directory's serials.
#[derive(Debug)]
pub struct Serials {
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
                .map_err(|_| Error::Config(format!("{}: not a number", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(io(path, e)),
        };
        Ok(Self {
            path: path.to_owned(),
            next: end,
            reserved_end: end,
        })
    }

    /// The next serial number, reserving a new block first when the current one is used up.
    ///
    /// # Errors
    /// [`Error::Io`] reserving a block (nothing is taken then).
    pub fn take(&mut self) -> Result<u64, Error> {
        if self.next >= self.reserved_end {
            let end = self.next + SERIAL_BLOCK;
            replace_file(&self.path, format!("{end}\n").as_bytes())?;
            self.reserved_end = end;
        }
        let serial = self.next;
        self.next += 1;
        Ok(serial)
    }

    /// Gives back `serial` if it is the one just taken (its request was refused), so
    /// serials of granted tokens stay dense.
    pub fn give_back(&mut self, serial: u64) {
        if serial + 1 == self.next {
            self.next = serial;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_only_grow_across_reopenings_and_reserve_in_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("serial");
        let mut serials = Serials::open(&path).expect("open");
        assert_eq!(serials.take().expect("take"), 1);
        assert_eq!(
            std::fs::read_to_string(&path).expect("reserved").trim(),
            (1 + SERIAL_BLOCK).to_string()
        );
        let second = serials.take().expect("take");
        assert_eq!(second, 2);
        serials.give_back(second);
        assert_eq!(serials.take().expect("take"), 2);
        drop(serials);
        // A restart (or a crash) skips the rest of the block, never repeats a serial.
        let mut reopened = Serials::open(&path).expect("reopen");
        assert_eq!(reopened.take().expect("take"), 1 + SERIAL_BLOCK);
        assert!(!dir.path().join("serial.tmp").exists());
    }
}
