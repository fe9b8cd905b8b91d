//! `affix ca ...`: a certificate authority in a directory — keys and certificates for
//! signers, revocation, CRLs, and the OCSP and CRL HTTP server.
//!
//! The directory and its files are `affix_platform::authority::CaDirectory`'s (the
//! platform's own CA uses the same type): `root.pem`, `root.key`, `issuing.pem`,
//! `issuing.key`, `ca.toml` (name, URLs), `issued.log` and `revoked.log` (one line per
//! certificate: serial, time, subject or reason), `crl_number` and the latest `crl.der`
//! (docs/formats.md, "CA directory").
//!
//! The command line drives ECDSA P-256 keys held in PKCS#8 files (mode 0600); the
//! libraries (`affix-pki`, `affix-tsp`, `affix-cms`) also do Ed25519 and SM2/SM3 through
//! `signature::Signer`, which is how the key vault plugs in.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use affix_pki::ca::{CreditCode, OrganizationSubject, Profile, SubjectName};
use affix_pki::ocsp::Responder;
use affix_platform::authority::{CaDirectory, CaOptions, crl_reason_from_name};
use anyhow::{Context as _, Result, anyhow, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use p256::ecdsa::{DerSignature, SigningKey};
use x509_cert::Certificate;

use crate::http::{REQUEST_BYTES_MAX, problem, typed};

/// One day.
const DAY: Duration = Duration::from_secs(86_400);

/// `affix ca ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Create a root and an issuing CA (ECDSA P-256) in DIR.
    Init {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Organization name in the CA certificates.
        #[arg(long)]
        name: String,
        /// OCSP responder URL to put in issued certificates.
        #[arg(long)]
        ocsp_url: Option<String>,
        /// CRL URL to put in issued certificates.
        #[arg(long)]
        crl_url: Option<String>,
        /// Validity of the issuing CA in days (the root gets twice as long).
        #[arg(long, default_value_t = 3650)]
        days: u64,
    },
    /// Issue a certificate: for a CSR, or for a new key written to --key-out.
    Issue(IssueArgs),
    /// Revoke a certificate (hex serial) and publish a new CRL.
    Revoke {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Serial number, hex.
        serial: String,
        /// keyCompromise, superseded, cessationOfOperation, affiliationChanged, ...
        #[arg(long, default_value = "keyCompromise")]
        reason: String,
    },
    /// Sign a fresh CRL; writes DER to --out (default DIR/crl.der).
    Crl {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve OCSP (POST /ocsp) and the CRL (GET /crl).
    Serve {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8180")]
        listen: SocketAddr,
    },
}

/// Arguments of `affix ca issue`.
#[derive(clap::Args, Debug)]
pub(crate) struct IssueArgs {
    /// CA directory.
    #[arg(long)]
    dir: PathBuf,
    /// person, organization or tsa.
    #[arg(long, default_value = "person")]
    profile: String,
    /// Subject name (a person's name, or the organization's registered name).
    #[arg(long)]
    name: String,
    /// Organization of a person.
    #[arg(long)]
    organization: Option<String>,
    /// Unified social credit code of an organization (18 characters).
    #[arg(long)]
    credit_code: Option<String>,
    /// PKCS#10 request (PEM or DER); its key stays with the requester.
    #[arg(long)]
    csr: Option<PathBuf>,
    /// Generate a P-256 key and write it here (mode 0600).
    #[arg(long)]
    key_out: Option<PathBuf>,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Runs one `affix ca` command.
pub(crate) fn run(command: Command) -> Result<()> {
    // The CA's clock: the one read of the system time per command.
    let now = SystemTime::now();
    match command {
        Command::Init {
            dir,
            name,
            ocsp_url,
            crl_url,
            days,
        } => {
            let days_of = |n: Option<u64>| -> Result<Duration> {
                Ok(DAY
                    * u32::try_from(n.context("--days is too large")?)
                        .context("--days is too large")?)
            };
            let options = CaOptions {
                ocsp_url,
                crl_url,
                root_validity: days_of(days.checked_mul(2))?,
                issuing_validity: days_of(Some(days))?,
            };
            CaDirectory::create(&dir, &name, &options, now)?;
            println!("root CA:    {}", dir.join("root.pem").display());
            println!("issuing CA: {}", dir.join("issuing.pem").display());
            Ok(())
        }
        Command::Issue(args) => {
            let cert = issue(&args, now)?;
            println!(
                "{}\tserial {}",
                args.out.display(),
                hex::encode(cert.tbs_certificate().serial_number().as_bytes())
            );
            Ok(())
        }
        Command::Revoke {
            dir,
            serial,
            reason,
        } => {
            let reason = crl_reason_from_name(&reason).ok_or_else(|| {
                anyhow!(
                    "unknown reason {reason:?} (keyCompromise, superseded, cessationOfOperation, ...)"
                )
            })?;
            CaDirectory::open(&dir)?.revoke(&serial, reason, now)?;
            Ok(())
        }
        Command::Crl { dir, out } => {
            let der = CaDirectory::open(&dir)?.publish_crl(now)?;
            if let Some(out) = out {
                std::fs::write(&out, der).with_context(|| format!("writing {}", out.display()))?;
            }
            Ok(())
        }
        Command::Serve { dir, listen } => serve(&dir, listen),
    }
}

/// `affix ca issue`: from a CSR (the key stays with the requester) or with a new key
/// written to `key_out`.
fn issue(args: &IssueArgs, now: SystemTime) -> Result<Certificate> {
    let ca = CaDirectory::open(&args.dir)?;
    let issuer = ca.issuer()?;
    let profile = match args.profile.as_str() {
        "person" => {
            let mut s = SubjectName::new(&args.name)?;
            if let Some(o) = &args.organization {
                s = s.with_organization(o)?;
            }
            Profile::Person(s.with_country("CN")?)
        }
        "organization" => {
            let code = args
                .credit_code
                .as_deref()
                .ok_or_else(|| anyhow!("an organization needs --credit-code (统一社会信用代码)"))?;
            Profile::Organization(OrganizationSubject::new(
                &args.name,
                CreditCode::parse(code)?,
            )?)
        }
        "tsa" => Profile::TsaSigner(SubjectName::new(&args.name)?),
        other => bail!("unknown profile {other:?}: person, organization or tsa"),
    };
    let validity = DAY * u32::try_from(args.days).context("--days is too large")?;
    let cert = match (&args.csr, &args.key_out) {
        (Some(csr), None) => {
            let bytes = std::fs::read(csr).with_context(|| format!("reading {}", csr.display()))?;
            let verified = match std::str::from_utf8(&bytes) {
                Ok(pem) if pem.contains("-----BEGIN") => affix_pki::ca::VerifiedCsr::from_pem(pem)?,
                _ => affix_pki::ca::VerifiedCsr::from_der(&bytes)?,
            };
            ca.issue(&issuer, &profile, verified.public_key(), validity, now)?
        }
        (None, Some(key_out)) => ca.issue_new_key(&issuer, &profile, key_out, validity, now)?,
        _ => bail!("give exactly one of --csr FILE or --key-out FILE"),
    };
    write_cert(&args.out, &cert)?;
    Ok(cert)
}

fn write_cert(path: &Path, cert: &Certificate) -> Result<()> {
    use x509_cert::der::EncodePem as _;
    let pem = cert
        .to_pem(x509_cert::der::pem::LineEnding::LF)
        .map_err(|e| anyhow!("encoding certificate: {e}"))?;
    std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))
}

struct CaServer {
    ca: CaDirectory,
    responder: Responder<SigningKey, DerSignature>,
}

async fn ocsp_post(State(s): State<Arc<CaServer>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() != b"application/ocsp-request")
    {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong-content-type",
            "send application/ocsp-request",
        );
    }
    answer_ocsp(&s, &body)
}

fn answer_ocsp(s: &CaServer, request: &[u8]) -> Response {
    // The responder's clock; the answer is the one the platform's responder gives too.
    match s.ca.ocsp_answer(&s.responder, request, SystemTime::now()) {
        // OCSP errors travel inside a 200 response (RFC 6960 §2.3).
        Ok(der) => typed(der, "application/ocsp-response"),
        Err(e) => {
            tracing::warn!(error = %e, "OCSP answer failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "CA database unreadable",
            )
        }
    }
}

async fn crl_get(State(s): State<Arc<CaServer>>) -> Response {
    match std::fs::read(s.ca.path().join("crl.der")) {
        Ok(der) => typed(der, "application/pkix-crl"),
        Err(_) => problem(StatusCode::NOT_FOUND, "no-crl", "no CRL published yet"),
    }
}

/// `affix ca serve`: OCSP responder (RFC 6960, POST `/ocsp`) and the CRL (`/crl`).
fn serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let ca = CaDirectory::open(dir)?;
    let responder = ca.ocsp_responder()?;
    let state = Arc::new(CaServer { ca, responder });
    let router = axum::Router::new()
        .route("/ocsp", axum::routing::post(ocsp_post))
        .route("/crl", axum::routing::get(crl_get))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state);
    crate::http::serve(router, listen, "OCSP responder and CRL")
}
