//! Fixed keys and trust policies shared by the Affix fuzz targets.
//!
//! The seeds in `seeds/` are signed with these keys (see `make-seeds.sh`), so inputs the
//! fuzzer derives from them reach signature checks and inclusion proofs, not only the
//! grammar. They are fuzzing keys: public, constant, and trusted by nothing else.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use affix_note::{KeyName, NoteSigner as _, Origin, SignerKey, TrustPolicy, VerifierKey};

/// Origin (and key name) of the SHA-256 fuzz log.
pub const ORIGIN: &str = "fuzz.example/log";

/// Origin (and key name) of the SM3 fuzz log.
pub const SM3_ORIGIN: &str = "fuzz.example/log/sm3";

/// Seed of the fixed Ed25519 key; `keys/fixed-ed25519.key` is this key's file.
pub const ED25519_SEED: &[u8; 32] = b"affix-fuzz-fixed-ed25519-seed-v1";

/// The fixed SM2 key, drawn once by `affix keygen --algorithm sm2`.
const SM2_KEY: &str = include_str!("../keys/fixed-sm2.key");

/// The fixed Ed25519 signer for [`ORIGIN`], built from [`ED25519_SEED`].
pub fn ed25519_signer() -> &'static SignerKey {
    static KEY: OnceLock<SignerKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let name = KeyName::new(ORIGIN).expect("valid key name");
        SignerKey::ed25519_from_seed(name, ED25519_SEED)
    })
}

/// The fixed SM2 signer for [`SM3_ORIGIN`].
pub fn sm2_signer() -> &'static SignerKey {
    static KEY: OnceLock<SignerKey> = OnceLock::new();
    KEY.get_or_init(|| SignerKey::parse(SM2_KEY).expect("keys/fixed-sm2.key parses"))
}

/// Verifier key of [`ed25519_signer`].
pub fn ed25519_verifier() -> &'static VerifierKey {
    ed25519_signer().verifier_key()
}

/// Verifier key of [`sm2_signer`].
pub fn sm2_verifier() -> &'static VerifierKey {
    sm2_signer().verifier_key()
}

/// Origin [`ORIGIN`], the fixed Ed25519 key, quorum 1.
pub fn sha256_policy() -> &'static TrustPolicy {
    static POLICY: OnceLock<TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let origin = Origin::new(ORIGIN).expect("valid origin");
        TrustPolicy::new(origin, vec![ed25519_verifier().clone()], 1).expect("valid policy")
    })
}

/// Origin [`SM3_ORIGIN`], the fixed SM2 key, quorum 1.
pub fn sm3_policy() -> &'static TrustPolicy {
    static POLICY: OnceLock<TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let origin = Origin::new(SM3_ORIGIN).expect("valid origin");
        TrustPolicy::new(origin, vec![sm2_verifier().clone()], 1).expect("valid policy")
    })
}
