//! Prints (does not assert) how many P-256 end-entity certificates the core
//! issues per second in this process. Target: at least 5,000/s in a release
//! build (`cargo test --release --test issuance_rate -- --nocapture`).

#![allow(clippy::unwrap_used, missing_docs, dead_code)] // Test code: a panic is the failure report.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use affix_pki::ca::{Profile, SubjectName, SubjectPublicKey};
use common::*;

fn p256_issuance_rate_is_printed() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let subject_key = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let profile = Profile::Person(
        SubjectName::new("张三")
            .unwrap()
            .with_organization("北京某某科技有限公司")
            .unwrap()
            .with_country("CN")
            .unwrap(),
    );
    let validity = validity(0, 365 * DAY_S);
    // Serial numbers drawn up front so the loop measures issuance only.
    let serials: Vec<_> = (0..20_000).map(|_| serial()).collect();

    let budget = Duration::from_secs(2);
    let start = Instant::now();
    let mut issued = 0usize;
    let mut der_bytes = 0usize;
    for serial in serials {
        let certificate = issuing
            .issue(&profile, &subject_key, serial, validity)
            .expect("issue");
        der_bytes += der::Encode::encoded_len(&certificate)
            .map(usize::try_from)
            .unwrap()
            .unwrap();
        issued += 1;
        if start.elapsed() >= budget {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "P-256 issuance ({} build, 1 thread): {issued} certificates in {elapsed:.2} s = {:.0}/s, \
         {} bytes each on average",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        issued as f64 / elapsed,
        der_bytes / issued.max(1),
    );
}

fn main() {
    p256_issuance_rate_is_printed();
}
