//! PKI and trusted time from the command line: a certificate authority in a directory
//! (`affix ca ...`), a time-stamping authority (`affix tsa ...`), the OCSP/CRL and RFC 3161
//! HTTP servers, the RFC 3161 client (`affix timestamp`) and CMS signatures
//! (`affix sign --cms`, `affix verify --cms`).
//!
//! The command line drives ECDSA P-256 keys held in PKCS#8 files (mode 0600); the
//! libraries (`affix-pki`, `affix-tsp`, `affix-cms`) also do Ed25519 and SM2/SM3 through
//! `signature::Signer`, which is how the key vault will plug in.
//!
//! A CA directory holds `root.pem`, `root.key`, `issuing.pem`, `issuing.key`, `ca.toml`
//! (URLs, CRL number), `issued.log` and `revoked.log` (one line per certificate: serial,
//! times, subject), and the latest `crl.der`.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use affix_pki::ca::{
    CreditCode, DistributionUrls, Issuer, OrganizationSubject, Profile, SubjectName,
    SubjectPublicKey, ValidityPeriod, VerifiedCsr, serial_number_from_random,
};
use affix_pki::crl::{CrlTimes, RevokedEntry, build_crl};
use affix_pki::ocsp::{CertStatus, Responder, ResponseTimes};
use affix_tsp::{
    DigestAlgorithm, ExpectedImprint, GenTime, Nonce, TimeStampAuthority, TimeStampRequest,
    TimeStampResponse, TokenSerial, TsaConfig, TsaTrust,
};
use anyhow::{Context as _, Result, anyhow, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;

type P256Issuer = Issuer<SigningKey, DerSignature>;

/// The default TSA policy: an OID under Affix's (placeholder) private arc; deployments
/// set their own in `tsa.toml`.
const DEFAULT_TSA_POLICY: &str = "1.3.6.1.4.1.59999.1.1";

/// Largest request the HTTP servers read.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Serial numbers reserved (and fsync'd) per step, so a restarted TSA never reuses one.
const SERIAL_BLOCK: u64 = 10_000;

fn now() -> x509_cert::der::DateTime {
    // The system clock is within DateTime's range (1970–9999) on any machine we run on.
    x509_cert::der::DateTime::from_system_time(SystemTime::now())
        .unwrap_or(x509_cert::der::DateTime::INFINITY)
}

fn datetime_after(seconds: u64) -> Result<x509_cert::der::DateTime> {
    x509_cert::der::DateTime::from_system_time(SystemTime::now() + Duration::from_secs(seconds))
        .map_err(|e| anyhow!("time out of range: {e}"))
}

fn random_serial() -> Result<SerialNumber> {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).map_err(|e| anyhow!("randomness: {e}"))?;
    Ok(serial_number_from_random(r))
}

fn new_p256_key() -> Result<SigningKey> {
    loop {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| anyhow!("randomness: {e}"))?;
        if let Ok(key) = SigningKey::from_slice(seed.as_slice()) {
            return Ok(key);
        }
    }
}

fn write_key(path: &Path, key: &SigningKey) -> Result<()> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("encoding key: {e}"))?;
    crate::consortium::write_secret(path, pem.as_str())
}

fn read_key(path: &Path) -> Result<SigningKey> {
    let pem = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow!("{} is not a P-256 PKCS#8 key: {e}", path.display()))
}

fn write_cert(path: &Path, cert: &Certificate) -> Result<()> {
    let pem = cert
        .to_pem(x509_cert::der::pem::LineEnding::LF)
        .map_err(|e| anyhow!("encoding certificate: {e}"))?;
    std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn read_cert(path: &Path) -> Result<Certificate> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Certificate::from_pem(&bytes)
        .or_else(|_| Certificate::from_der(&bytes))
        .map_err(|e| anyhow!("{} is not a certificate: {e}", path.display()))
}

fn hex_serial(serial: &SerialNumber) -> String {
    hex::encode(serial.as_bytes())
}

/// Appends a line and fsyncs: nothing is reported as issued or revoked before it is on
/// disk.
fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_data()?;
    Ok(())
}

/// A CA directory.
pub(crate) struct CaDir {
    dir: PathBuf,
}

impl CaDir {
    fn issuing(&self) -> Result<P256Issuer> {
        let cert = read_cert(&self.dir.join("issuing.pem"))?;
        let key = read_key(&self.dir.join("issuing.key"))?;
        let mut urls = DistributionUrls::new();
        let config = std::fs::read_to_string(self.dir.join("ca.toml")).unwrap_or_default();
        for line in config.lines() {
            if let Some(url) = line.strip_prefix("ocsp_url = ") {
                urls = urls.with_ocsp(url.trim_matches('"'))?;
            }
            if let Some(url) = line.strip_prefix("crl_url = ") {
                urls = urls.with_crl(url.trim_matches('"'))?;
            }
        }
        Ok(Issuer::new(cert, key)?.with_distribution_urls(urls))
    }

    /// serial (hex) → (revocation time, reason) for every revoked certificate.
    fn revoked(&self) -> Result<HashMap<String, (x509_cert::der::DateTime, Option<CrlReason>)>> {
        let mut out = HashMap::new();
        let text = std::fs::read_to_string(self.dir.join("revoked.log")).unwrap_or_default();
        for line in text.lines() {
            let mut parts = line.split('\t');
            let (Some(serial), Some(unix), reason) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(unix.parse().unwrap_or(0));
            let t = x509_cert::der::DateTime::from_system_time(t)?;
            out.insert(serial.to_owned(), (t, reason.and_then(parse_reason)));
        }
        Ok(out)
    }

    fn issued(&self) -> Result<std::collections::HashSet<String>> {
        let text = std::fs::read_to_string(self.dir.join("issued.log")).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect())
    }
}

fn parse_reason(name: &str) -> Option<CrlReason> {
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

/// `affix ca init`.
pub(crate) fn ca_init(
    dir: &Path,
    name: &str,
    ocsp_url: Option<&str>,
    crl_url: Option<&str>,
    days: u64,
) -> Result<()> {
    if dir.join("root.pem").exists() {
        bail!("{} already holds a CA", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    let root_key = new_p256_key()?;
    let issuing_key = new_p256_key()?;
    let root_name = SubjectName::new(&format!("{name} Root CA"))?
        .with_organization(name)?
        .with_country("CN")?;
    let issuing_name = SubjectName::new(&format!("{name} Issuing CA"))?
        .with_organization(name)?
        .with_country("CN")?;
    let root: P256Issuer = Issuer::create_root(
        root_key.clone(),
        &root_name,
        random_serial()?,
        ValidityPeriod::new(now(), datetime_after(days * 2 * 86_400)?)?,
    )?;
    let issuing_public = SubjectPublicKey::from_keypair(&issuing_key)?;
    let issuing_cert = root.issue_subordinate_ca(
        &issuing_name,
        &issuing_public,
        0,
        random_serial()?,
        ValidityPeriod::new(now(), datetime_after(days * 86_400)?)?,
    )?;
    write_key(&dir.join("root.key"), &root_key)?;
    write_key(&dir.join("issuing.key"), &issuing_key)?;
    write_cert(&dir.join("root.pem"), root.certificate())?;
    write_cert(&dir.join("issuing.pem"), &issuing_cert)?;
    let mut config = format!("name = \"{name}\"\n");
    if let Some(u) = ocsp_url {
        DistributionUrls::new().with_ocsp(u)?;
        config.push_str(&format!("ocsp_url = \"{u}\"\n"));
    }
    if let Some(u) = crl_url {
        DistributionUrls::new().with_crl(u)?;
        config.push_str(&format!("crl_url = \"{u}\"\n"));
    }
    std::fs::write(dir.join("ca.toml"), config)?;
    std::fs::write(dir.join("crl_number"), "0\n")?;
    ca_crl(dir)?;
    println!("root CA:    {}", dir.join("root.pem").display());
    println!("issuing CA: {}", dir.join("issuing.pem").display());
    Ok(())
}

/// What `affix ca issue` makes.
pub(crate) struct IssueRequest<'a> {
    pub(crate) profile: &'a str,
    pub(crate) name: &'a str,
    pub(crate) organization: Option<&'a str>,
    pub(crate) credit_code: Option<&'a str>,
    pub(crate) csr: Option<&'a Path>,
    pub(crate) key_out: Option<&'a Path>,
    pub(crate) days: u64,
    pub(crate) out: &'a Path,
}

/// `affix ca issue`: from a CSR (the key stays with the requester) or with a new key
/// written to `key_out`.
pub(crate) fn ca_issue(dir: &Path, req: &IssueRequest<'_>) -> Result<Certificate> {
    let ca = CaDir {
        dir: dir.to_owned(),
    };
    let issuing = ca.issuing()?;
    let profile = match req.profile {
        "person" => {
            let mut s = SubjectName::new(req.name)?;
            if let Some(o) = req.organization {
                s = s.with_organization(o)?;
            }
            Profile::Person(s.with_country("CN")?)
        }
        "organization" => {
            let code = req
                .credit_code
                .ok_or_else(|| anyhow!("an organization needs --credit-code (统一社会信用代码)"))?;
            Profile::Organization(OrganizationSubject::new(
                req.name,
                CreditCode::parse(code)?,
            )?)
        }
        "tsa" => Profile::TsaSigner(SubjectName::new(req.name)?),
        other => bail!("unknown profile {other:?}: person, organization or tsa"),
    };
    let public = match (req.csr, req.key_out) {
        (Some(csr), None) => {
            let bytes = std::fs::read(csr).with_context(|| format!("reading {}", csr.display()))?;
            let verified = match std::str::from_utf8(&bytes) {
                Ok(pem) if pem.contains("-----BEGIN") => VerifiedCsr::from_pem(pem)?,
                _ => VerifiedCsr::from_der(&bytes)?,
            };
            verified.public_key().clone()
        }
        (None, Some(key_out)) => {
            let key = new_p256_key()?;
            write_key(key_out, &key)?;
            SubjectPublicKey::from_keypair(&key)?
        }
        _ => bail!("give exactly one of --csr FILE or --key-out FILE"),
    };
    let cert = issuing.issue(
        &profile,
        &public,
        random_serial()?,
        ValidityPeriod::new(now(), datetime_after(req.days * 86_400)?)?,
    )?;
    let serial = hex_serial(cert.tbs_certificate().serial_number());
    append_line(
        &dir.join("issued.log"),
        &format!(
            "{serial}\t{}\t{}",
            unix_now(),
            cert.tbs_certificate().subject()
        ),
    )?;
    write_cert(req.out, &cert)?;
    Ok(cert)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `affix ca revoke`: records the revocation durably, then publishes a new CRL.
pub(crate) fn ca_revoke(dir: &Path, serial: &str, reason: &str) -> Result<()> {
    let ca = CaDir {
        dir: dir.to_owned(),
    };
    let serial = serial
        .to_ascii_lowercase()
        .trim_start_matches("0x")
        .to_owned();
    if !ca.issued()?.contains(&serial) {
        bail!("no certificate with serial {serial} was issued by this CA");
    }
    if ca.revoked()?.contains_key(&serial) {
        bail!("certificate {serial} is already revoked");
    }
    if parse_reason(reason).is_none() {
        bail!("unknown reason {reason:?} (keyCompromise, superseded, cessationOfOperation, ...)");
    }
    append_line(
        &dir.join("revoked.log"),
        &format!("{serial}\t{}\t{reason}", unix_now()),
    )?;
    ca_crl(dir)?;
    Ok(())
}

/// `affix ca crl`: signs a CRL with the next CRL number, valid for a day.
pub(crate) fn ca_crl(dir: &Path) -> Result<Vec<u8>> {
    let ca = CaDir {
        dir: dir.to_owned(),
    };
    let issuing = ca.issuing()?;
    let number: u64 = std::fs::read_to_string(dir.join("crl_number"))
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
        + 1;
    let mut entries = Vec::new();
    for (serial, (time, reason)) in ca.revoked()? {
        let bytes = hex::decode(&serial)?;
        entries.push(RevokedEntry::new(SerialNumber::new(&bytes)?, time, reason)?);
    }
    let crl = build_crl(
        &issuing,
        number,
        CrlTimes::new(now(), datetime_after(86_400)?)?,
        &entries,
    )?;
    let der = crl.to_der()?;
    std::fs::write(dir.join("crl_number"), format!("{number}\n"))?;
    let tmp = dir.join(".crl.der.tmp");
    std::fs::write(&tmp, &der)?;
    std::fs::rename(&tmp, dir.join("crl.der"))?;
    Ok(der)
}

fn problem(status: StatusCode, kind: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://affix.dev/problems/{kind}"),
        "title": kind.replace('-', " "),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

fn typed(bytes: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

struct CaServer {
    ca: CaDir,
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
    let (Ok(issued), Ok(revoked)) = (s.ca.issued(), s.ca.revoked()) else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "CA database unreadable",
        );
    };
    let (Ok(now), Ok(next)) = (datetime_after(0), datetime_after(3600)) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "clock");
    };
    let Ok(times) = ResponseTimes::new(now, now, Some(next)) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "clock");
    };
    let answer = s.responder.respond(request, &times, |serial| {
        let hex = hex_serial(serial);
        match revoked.get(&hex) {
            Some((t, reason)) => CertStatus::Revoked {
                revoked_at: *t,
                reason: *reason,
            },
            None if issued.contains(&hex) => CertStatus::Good,
            None => CertStatus::Unknown,
        }
    });
    if let Some(e) = answer.refusal() {
        tracing::info!(error = %e, "OCSP request refused");
    }
    // OCSP errors travel inside a 200 response (RFC 6960 §2.3).
    typed(answer.der().to_vec(), "application/ocsp-response")
}

async fn crl_get(State(s): State<Arc<CaServer>>) -> Response {
    match std::fs::read(s.ca.dir.join("crl.der")) {
        Ok(der) => typed(der, "application/pkix-crl"),
        Err(_) => problem(StatusCode::NOT_FOUND, "no-crl", "no CRL published yet"),
    }
}

/// `affix ca serve`: OCSP responder (RFC 6960, POST `/ocsp`) and the CRL (`/crl`).
pub(crate) fn ca_serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let ca = CaDir {
        dir: dir.to_owned(),
    };
    let issuing = ca.issuing()?;
    let responder = Responder::for_ca(issuing.certificate(), read_key(&dir.join("issuing.key"))?)?;
    let state = Arc::new(CaServer { ca, responder });
    let router = axum::Router::new()
        .route("/ocsp", axum::routing::post(ocsp_post))
        .route("/crl", axum::routing::get(crl_get))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state);
    serve(router, listen, "OCSP responder and CRL")
}

fn serve(router: axum::Router, listen: SocketAddr, what: &str) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!("affix {what}: http://{}", listener.local_addr()?);
        axum::serve(listener, router).await?;
        Ok(())
    })
}

/// Monotonic serial numbers that survive restarts: blocks of [`SERIAL_BLOCK`] are
/// reserved on disk (fsync) before use, so a crash skips numbers but never repeats one.
struct Serials {
    path: PathBuf,
    next: u64,
    reserved_until: u64,
}

impl Serials {
    fn open(path: &Path) -> Result<Self> {
        let start: u64 = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        let mut s = Self {
            path: path.to_owned(),
            next: start,
            reserved_until: start,
        };
        s.reserve()?;
        Ok(s)
    }

    fn reserve(&mut self) -> Result<()> {
        let until = self.reserved_until + SERIAL_BLOCK;
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("{until}\n").as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        self.reserved_until = until;
        Ok(())
    }

    fn take(&mut self) -> Result<u64> {
        if self.next >= self.reserved_until {
            self.reserve()?;
        }
        let n = self.next;
        self.next += 1;
        Ok(n)
    }

    /// Gives back the serial just taken (the request was refused).
    fn unused(&mut self, n: u64) {
        if n + 1 == self.next {
            self.next = n;
        }
    }
}

/// `affix tsa init`: a TSA key and certificate issued by the CA in `ca_dir`.
pub(crate) fn tsa_init(dir: &Path, ca_dir: &Path, name: &str) -> Result<()> {
    if dir.join("tsa.pem").exists() {
        bail!("{} already holds a TSA", dir.display());
    }
    std::fs::create_dir_all(dir)?;
    ca_issue(
        ca_dir,
        &IssueRequest {
            profile: "tsa",
            name,
            organization: None,
            credit_code: None,
            csr: None,
            key_out: Some(&dir.join("tsa.key")),
            days: 3 * 365,
            out: &dir.join("tsa.pem"),
        },
    )?;
    std::fs::copy(ca_dir.join("issuing.pem"), dir.join("chain.pem"))?;
    std::fs::copy(ca_dir.join("root.pem"), dir.join("root.pem"))?;
    std::fs::write(
        dir.join("tsa.toml"),
        format!("policy = \"{DEFAULT_TSA_POLICY}\"\naccuracy_ms = 100\n"),
    )?;
    println!("TSA certificate: {}", dir.join("tsa.pem").display());
    Ok(())
}

struct TsaServer {
    tsa: TimeStampAuthority<SigningKey, DerSignature>,
    serials: Mutex<Serials>,
}

async fn tsa_post(State(s): State<Arc<TsaServer>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"application/timestamp-query")
    {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong-content-type",
            "send application/timestamp-query",
        );
    }
    let Ok(serial) = s
        .serials
        .lock()
        .map_err(|_| ())
        .and_then(|mut g| g.take().map_err(|_| ()))
    else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "serial store",
        );
    };
    // The only clock read of the TSA.
    let Ok(time) = GenTime::from_system_time(SystemTime::now()) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "clock");
    };
    match s.tsa.respond(&body, &TokenSerial::from_u64(serial), time) {
        Ok(affix_tsp::Response::Granted(der)) => typed(der, "application/timestamp-reply"),
        Ok(affix_tsp::Response::Rejected { der, reason }) => {
            if let Ok(mut g) = s.serials.lock() {
                g.unused(serial);
            }
            tracing::info!(error = %reason, "time-stamp request rejected");
            // RFC 3161 rejections are answers, not HTTP errors.
            typed(der, "application/timestamp-reply")
        }
        Err(e) => {
            tracing::error!(error = %e, "TSA cannot issue");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "tsa-unavailable",
                &e.to_string(),
            )
        }
    }
}

/// Loads the TSA of `dir`.
fn load_tsa(dir: &Path) -> Result<TimeStampAuthority<SigningKey, DerSignature>> {
    let cert = read_cert(&dir.join("tsa.pem"))?;
    let chain = vec![read_cert(&dir.join("chain.pem"))?];
    let config = std::fs::read_to_string(dir.join("tsa.toml")).unwrap_or_default();
    let mut policy = DEFAULT_TSA_POLICY.to_owned();
    let mut accuracy_ms = 100u16;
    for line in config.lines() {
        if let Some(p) = line.strip_prefix("policy = ") {
            policy = p.trim_matches('"').to_owned();
        }
        if let Some(a) = line.strip_prefix("accuracy_ms = ") {
            accuracy_ms = a.trim().parse().context("accuracy_ms")?;
        }
    }
    let policy = ObjectIdentifier::new(&policy).map_err(|e| anyhow!("policy OID: {e}"))?;
    let config = TsaConfig::new(policy).with_accuracy(affix_tsp::Accuracy {
        seconds: None,
        millis: Some(accuracy_ms),
        micros: None,
    })?;
    Ok(TimeStampAuthority::new(
        read_key(&dir.join("tsa.key"))?,
        cert,
        chain,
        config,
    )?)
}

/// `affix tsa serve`: RFC 3161 over HTTP (POST `/` or `/tsa`, application/timestamp-query).
pub(crate) fn tsa_serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let state = Arc::new(TsaServer {
        tsa: load_tsa(dir)?,
        serials: Mutex::new(Serials::open(&dir.join("serial"))?),
    });
    let router = axum::Router::new()
        .route("/", axum::routing::post(tsa_post))
        .route("/tsa", axum::routing::post(tsa_post))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state);
    serve(router, listen, "time-stamping authority (RFC 3161)")
}

/// Asks `tsa_url` for a token over `data`'s SHA-256, checks it against `trust`, returns
/// (token DER, gen time).
async fn fetch_token(
    tsa_url: &str,
    data: &[u8],
    trust: &[Certificate],
) -> Result<(Vec<u8>, String)> {
    let digest = DigestAlgorithm::Sha256.digest(data);
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| anyhow!("randomness: {e}"))?;
    nonce[0] &= 0x7f;
    let nonce = Nonce::from_unsigned_be_bytes(&nonce)?;
    let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest)?
        .with_nonce(nonce.clone())
        .with_certificate_requested(true)
        .to_der()?;
    let response = reqwest::Client::new()
        .post(tsa_url)
        .header("content-type", "application/timestamp-query")
        .body(request)
        .send()
        .await
        .with_context(|| format!("contacting {tsa_url}"))?;
    if !response.status().is_success() {
        bail!("{tsa_url}: HTTP {}", response.status());
    }
    let bytes = response.bytes().await?.to_vec();
    let parsed = TimeStampResponse::parse(&bytes)?;
    let token = parsed
        .token_der()
        .ok_or_else(|| anyhow!("the TSA refused: {}", parsed.status_text().join("; ")))?
        .to_vec();
    let verified = affix_tsp::verify_token(
        &token,
        TsaTrust::IssuedBy(trust),
        ExpectedImprint::Data(data),
        Some(&nonce),
    )?;
    Ok((token, verified.gen_time().to_string()))
}

/// `affix timestamp FILE --tsa URL`: writes `FILE.tsr` (the token), verified first.
pub(crate) fn timestamp(
    file: &Path,
    tsa_url: &str,
    ca: &[PathBuf],
    out: Option<&Path>,
) -> Result<()> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let trust = ca
        .iter()
        .map(|p| read_cert(p))
        .collect::<Result<Vec<_>>>()?;
    let (token, time) =
        tokio::runtime::Runtime::new()?.block_on(fetch_token(tsa_url, &data, &trust))?;
    let out = out.map_or_else(
        || PathBuf::from(format!("{}.tsr", file.display())),
        Path::to_owned,
    );
    std::fs::write(&out, token)?;
    println!("{}\ttime-stamped at {time}", out.display());
    Ok(())
}

/// `affix sign --cms`: a detached CMS signature (CAdES-B, plus a signature time-stamp:
/// CAdES-T, with `--tsa`).
pub(crate) fn sign_cms(
    file: &Path,
    cert: &Path,
    key: &Path,
    chain: &[PathBuf],
    tsa: Option<(&str, &[PathBuf])>,
    out: Option<&Path>,
) -> Result<()> {
    let content = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let cert = read_cert(cert)?;
    let chain = chain
        .iter()
        .map(|p| read_cert(p))
        .collect::<Result<Vec<_>>>()?;
    let key = read_key(key)?;
    let mut signature = affix_cms::sign_detached::<SigningKey, DerSignature>(
        &content,
        &key,
        &cert,
        &chain,
        SystemTime::now(),
    )?;
    if let Some((url, trust)) = tsa {
        let trust = trust
            .iter()
            .map(|p| read_cert(p))
            .collect::<Result<Vec<_>>>()?;
        let parsed = affix_cms::DetachedSignature::from_der(&signature)?;
        let (token, _) = tokio::runtime::Runtime::new()?.block_on(fetch_token(
            url,
            parsed.signature_value(),
            &trust,
        ))?;
        signature = affix_cms::add_timestamp(&signature, &token)?;
    }
    let out = out.map_or_else(
        || PathBuf::from(format!("{}.p7s", file.display())),
        Path::to_owned,
    );
    std::fs::write(&out, signature)?;
    println!("{}", out.display());
    Ok(())
}

/// `affix verify --cms`: verifies a detached signature over FILE against the given CA
/// certificates; a signature time-stamp, if present, is verified too and fixes the time
/// at which the certificates must have been valid.
pub(crate) fn verify_cms(
    signature: &Path,
    file: &Path,
    ca: &[PathBuf],
    crls: &[PathBuf],
) -> Result<String, crate::Failure> {
    let sig = std::fs::read(signature)
        .with_context(|| format!("reading {}", signature.display()))
        .map_err(crate::Failure::Error)?;
    let content = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(crate::Failure::Error)?;
    let trust = ca
        .iter()
        .map(|p| read_cert(p))
        .collect::<Result<Vec<_>>>()
        .map_err(crate::Failure::Error)?;
    if trust.is_empty() {
        return Err(crate::Failure::Error(anyhow!(
            "give the trusted CA certificates with --ca"
        )));
    }
    let parsed = affix_cms::DetachedSignature::from_der(&sig)
        .map_err(|e| crate::Failure::Verification(anyhow!("not a detached CMS signature: {e}")))?;
    let timestamped = parsed
        .embedded_timestamp()
        .map_err(|e| crate::Failure::Verification(e.into()))?
        .is_some();
    let verified = if timestamped {
        affix_cms::verify_detached_timestamped(&sig, &content, &trust, &TsaTrust::IssuedBy(&trust))
    } else {
        affix_cms::verify_detached(&sig, &content, &trust, SystemTime::now())
    }
    .map_err(|e| crate::Failure::Verification(e.into()))?;
    let validation_time = match verified.validation_time() {
        affix_cms::ValidationTime::SignatureTimestamp(t) | affix_cms::ValidationTime::Given(t) => t,
        _ => SystemTime::now(),
    };
    let signer_serial = verified
        .signer_certificate()
        .tbs_certificate()
        .serial_number()
        .clone();
    let signer_issuer = verified
        .signer_certificate()
        .tbs_certificate()
        .issuer()
        .clone();
    for path in crls {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))
            .map_err(crate::Failure::Error)?;
        let der = match x509_cert::der::pem::decode_vec(&bytes) {
            Ok((_, der)) => der,
            Err(_) => bytes,
        };
        let issuer = verified
            .chain()
            .iter()
            .chain(&trust)
            .find(|c| *c.tbs_certificate().subject() == signer_issuer)
            .ok_or_else(|| {
                crate::Failure::Error(anyhow!(
                    "the signer's issuer is not known to check {}",
                    path.display()
                ))
            })?;
        let crl = affix_pki::crl::VerifiedCrl::from_der(&der, issuer)
            .map_err(|e| crate::Failure::Verification(anyhow!("{}: {e}", path.display())))?;
        if let Some(revoked_at) = crl.revocation_time(&signer_serial)
            && revoked_at.to_system_time() <= validation_time
        {
            return Err(crate::Failure::Verification(anyhow!(
                "the signer's certificate was revoked at {} (before the signature's time)",
                httpdate(revoked_at.to_system_time())
            )));
        }
    }
    let mut report = format!("OK: signed by {}\n", verified.signer_subject());
    if !crls.is_empty() {
        report.push_str("revocation: not revoked according to the given CRL(s)\n");
    }
    if let Some(t) = verified.signing_time() {
        report.push_str(&format!(
            "signing time (claimed by the signer) {}\n",
            httpdate(t)
        ));
    }
    match verified.validation_time() {
        affix_cms::ValidationTime::SignatureTimestamp(t) => {
            report.push_str(&format!("time-stamped (verified token) {}\n", httpdate(t)));
        }
        _ => report.push_str("no signature time-stamp\n"),
    }
    report.push_str(&format!(
        "chain: {} certificate(s); signing-certificate-v2 bound: {}\n",
        verified.chain().len(),
        verified.signing_certificate_bound()
    ));
    Ok(report)
}

fn httpdate(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    affix_evidence::UnixMillis(ms).to_rfc3339()
}
