//! `affix_bundle::verify` and `verify_litigation` (what a court, notary or appraiser feeds
//! the verifier: a file someone handed them) on arbitrary bytes: never panic, never
//! hang. The trust anchors are those of the recorded bundles in
//! `crates/affix-bundle/tests/vectors/` (v1, and `evidence-v2/` with passkey and
//! browser-held-key approvals), which are also the seeds, so mutations reach the
//! receipt, chain, CMS, time-stamp, signed-document and approval checks, not only the
//! JSON grammar.
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
// The v2 vector's platform (passkey and browser-held-key approvals).
const VERIFIER_KEYS_V2: &str =
    include_str!("../../crates/affix-bundle/tests/vectors/evidence-v2/verifier-keys");
const ROOT_V2: &[u8] =
    include_bytes!("../../crates/affix-bundle/tests/vectors/evidence-v2/root.pem");

type Anchors = (TrustPolicy, Vec<Certificate>);

fn load(keys: &str, root: &[u8]) -> Anchors {
    let policy = VerifierKeysFile::parse(keys)
        .and_then(|file| file.trust_policy())
        .expect("recorded verifier keys");
    let root = <Certificate as der::DecodePem>::from_pem(root).expect("recorded root");
    (policy, vec![root])
}

fn anchors() -> &'static [Anchors; 2] {
    static ANCHORS: OnceLock<[Anchors; 2]> = OnceLock::new();
    ANCHORS.get_or_init(|| [load(VERIFIER_KEYS, ROOT), load(VERIFIER_KEYS_V2, ROOT_V2)])
}

fuzz_target!(|data: &[u8]| {
    let [(policy, roots), (policy_v2, roots_v2)] = anchors();
    for (policy, roots) in [(policy, roots), (policy_v2, roots_v2)] {
        if let Ok(v) = verify(data, policy, roots) {
            let again = verify(data, policy, roots).expect("verified once, verifies again");
            assert_eq!(
                (again.leaf_indices, again.approvals),
                (v.leaf_indices, v.approvals)
            );
        }
    }
    if let Ok(v) = verify_litigation(data, policy, roots) {
        let again =
            verify_litigation(data, policy, roots).expect("verified once, verifies again");
        assert_eq!((again.events, again.documents), (v.events, v.documents));
    }
});
