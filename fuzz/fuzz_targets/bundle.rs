//! `affix_bundle::verify` and `verify_litigation` (what a court, notary or appraiser feeds
//! the verifier: a file someone handed them) on arbitrary bytes: never panic, never
//! hang. The trust anchors are those of the recorded bundles in
//! `crates/affix-bundle/tests/vectors/`, which are also the seeds, so mutations reach the
//! receipt, chain, CMS, time-stamp and signed-document checks, not only the JSON grammar.
//! A bundle that verifies is verified again to the same result.
#![no_main]

use std::sync::OnceLock;

use affix_bundle::{verify, verify_litigation};
use affix_note::{TrustPolicy, VerifierKeysFile};
use libfuzzer_sys::fuzz_target;
use x509_cert::Certificate;

const VERIFIER_KEYS: &str =
    include_str!("../../crates/affix-bundle/tests/vectors/verifier-keys");
const ROOT: &[u8] = include_bytes!("../../crates/affix-bundle/tests/vectors/root.pem");

fn anchors() -> &'static (TrustPolicy, Vec<Certificate>) {
    static ANCHORS: OnceLock<(TrustPolicy, Vec<Certificate>)> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        let policy = VerifierKeysFile::parse(VERIFIER_KEYS)
            .and_then(|file| file.trust_policy())
            .expect("recorded verifier keys");
        let root = <Certificate as der::DecodePem>::from_pem(ROOT).expect("recorded root");
        (policy, vec![root])
    })
}

fuzz_target!(|data: &[u8]| {
    let (policy, roots) = anchors();
    if let Ok(v) = verify(data, policy, roots) {
        let again = verify(data, policy, roots).expect("verified once, verifies again");
        assert_eq!(again.leaf_indices, v.leaf_indices);
    }
    if let Ok(v) = verify_litigation(data, policy, roots) {
        let again =
            verify_litigation(data, policy, roots).expect("verified once, verifies again");
        assert_eq!((again.events, again.documents), (v.events, v.documents));
    }
});
