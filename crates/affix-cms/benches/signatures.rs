//! Prints (does not assert) signing and verification rates, one thread. Meaningful only in
//! an optimised build: `cargo test --release --test throughput -- --nocapture`.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use affix_cms::{DetachedSignature, Sm2DerSigner, sign_detached, verify_detached};
use support::{Pki, Sm2Pki};

/// Runs `operation` for about `budget` and returns operations per second.
fn rate(budget: Duration, mut operation: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < budget || count < 3 {
        operation();
        count += 1;
    }
    f64::from(count) / start.elapsed().as_secs_f64()
}

fn print_signature_rates() {
    let budget = Duration::from_secs(1);
    let pki = Pki::new();
    let document = support::random_bytes::<1024>();
    let trust = [pki.root.clone()];
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };

    let p256 = || {
        sign_detached::<_, p256::ecdsa::DerSignature>(
            &document,
            &pki.signer_key,
            &pki.signer,
            &pki.chain(),
            pki.now,
        )
        .unwrap()
    };
    let signature = p256();
    let sign_rate = rate(budget, || {
        p256();
    });
    let verify_rate = rate(budget, || {
        verify_detached(&signature, &document, &trust, pki.now).unwrap();
    });
    let parse_rate = rate(budget, || {
        DetachedSignature::from_der(&signature).unwrap();
    });
    println!(
        "[{build}] P-256 CMS (1 KiB, 3 certs): sign_detached {sign_rate:.0}/s, \
         verify_detached {verify_rate:.0}/s (3 ECDSA verifications each), \
         DetachedSignature::from_der {parse_rate:.0}/s"
    );

    let (key, certificate) = pki.ed25519_leaf("Ed25519 Signer");
    let ed25519 = || {
        sign_detached::<_, ed25519_dalek::Signature>(
            &document,
            &key,
            &certificate,
            &pki.chain(),
            pki.now,
        )
        .unwrap()
    };
    let signature = ed25519();
    let sign_rate = rate(budget, || {
        ed25519();
    });
    let verify_rate = rate(budget, || {
        verify_detached(&signature, &document, &trust, pki.now).unwrap();
    });
    println!(
        "[{build}] Ed25519 CMS: sign_detached {sign_rate:.0}/s, verify_detached {verify_rate:.0}/s"
    );

    let sm2 = Sm2Pki::new(pki.now);
    let signer = Sm2DerSigner::new(sm2.signer_key.clone()).unwrap();
    let sm2_sign = || {
        sign_detached::<_, sm2::dsa::DerSignature>(
            &document,
            &signer,
            &sm2.signer,
            std::slice::from_ref(&sm2.root),
            pki.now,
        )
        .unwrap()
    };
    let signature = sm2_sign();
    let sign_rate = rate(budget, || {
        sm2_sign();
    });
    let sm2_trust = [sm2.root.clone()];
    let verify_rate = rate(budget, || {
        verify_detached(&signature, &document, &sm2_trust, pki.now).unwrap();
    });
    println!(
        "[{build}] SM2 CMS: sign_detached {sign_rate:.0}/s, verify_detached {verify_rate:.0}/s"
    );

    // The raw primitive, for comparison with the CMS overhead.
    use signature::Signer as _;
    let raw_rate = rate(budget, || {
        let _: p256::ecdsa::DerSignature = pki.signer_key.sign(&document);
    });
    println!("[{build}] raw P-256 ECDSA sign (RustCrypto p256): {raw_rate:.0}/s");
}

fn main() {
    print_signature_rates();
}
