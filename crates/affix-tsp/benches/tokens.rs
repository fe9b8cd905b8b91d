//! Prints (does not assert) how many P-256 tokens per second one core
//! issues, next to raw P-256 signatures per second over a message of the
//! same size as the signed attributes.
//!
//! Meaningful numbers need an optimised build:
//! `cargo test --release --test throughput -- --nocapture`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use affix_tsp::{
    DigestAlgorithm, ExpectedImprint, Nonce, TimeStampAuthority, TimeStampRequest, TokenSerial,
    TsaConfig, TsaTrust, verify_token,
};
use common::*;
use const_oid::ObjectIdentifier;
use p256::ecdsa::DerSignature;
use signature::Signer;

/// Best rate of three rounds of `count` calls (the first round doubles as
/// warm-up; the best round is the least disturbed by other processes).
fn per_second(count: u32, mut run: impl FnMut(u32)) -> f64 {
    let mut best: f64 = 0.0;
    for round in 0..3 {
        let start = Instant::now();
        for i in 0..count {
            run(round * count + i);
        }
        best = best.max(f64::from(count) / start.elapsed().as_secs_f64());
    }
    best
}

fn p256_tokens_per_second_against_raw_signatures() {
    let count = if cfg!(debug_assertions) { 100 } else { 3000 };
    let root_key = p256_key("root");
    let root = root_certificate::<_, DerSignature>(&root_key, ROOT_SUBJECT);
    let tsa_key = p256_key("tsa");
    let certificate =
        tsa_certificate::<_, DerSignature>(public_key_of(&tsa_key), &root, &root_key, 2);
    let tsa = TimeStampAuthority::<_, DerSignature>::new(
        tsa_key.clone(),
        certificate,
        vec![],
        TsaConfig::new(ObjectIdentifier::new_unwrap(POLICY)),
    )
    .unwrap();
    let digest = DigestAlgorithm::Sha256.digest(b"contract");
    let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest)
        .unwrap()
        .with_nonce(Nonce::from_u64(0x0123_4567_89ab_cdef))
        .with_certificate_requested(true)
        .to_der()
        .unwrap();
    let gen_time = now();

    // The signed attributes of a token are about 200 bytes.
    let message = [0x5a_u8; 200];
    let raw = per_second(count, |_| {
        let _: DerSignature = tsa_key.sign(&message);
    });
    let tokens = per_second(count, |i| {
        let response = tsa
            .respond(&request, &TokenSerial::from_u64(u64::from(i) + 1), gen_time)
            .unwrap();
        assert!(!response.der().is_empty());
    });
    let parsed = TimeStampRequest::parse(&request).unwrap();
    let token = tsa
        .issue_token(&parsed, &TokenSerial::from_u64(1), gen_time)
        .unwrap();
    let verifications = per_second(count / 4, |_| {
        verify_token(
            &token,
            TsaTrust::IssuedBy(std::slice::from_ref(&root)),
            ExpectedImprint::Digest {
                algorithm: DigestAlgorithm::Sha256,
                digest: &digest,
            },
            parsed.nonce(),
        )
        .unwrap();
    });

    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "P-256 ({profile}, one core, best of 3 x {count}): raw signatures {raw:.0}/s, \
         tokens (parse + issue + encode response, certReq) {tokens:.0}/s = {:.0} % of raw; \
         token verifications (chain to root) {verifications:.0}/s",
        100.0 * tokens / raw
    );
}

fn main() {
    p256_tokens_per_second_against_raw_signatures();
}
