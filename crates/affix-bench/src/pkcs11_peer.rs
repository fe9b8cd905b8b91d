//! A PKCS#11 signing peer for benchmarks: how fast a token creates signing keys and signs.
//!
//! The vault benchmark compares its own signing against a token's. [`generate_keys`]
//! creates N key pairs as token objects (EC P-256 with `CKM_EC_KEY_PAIR_GEN`, Ed25519 with
//! `CKM_EC_EDWARDS_KEY_PAIR_GEN`, which SoftHSM 2.6 offers); [`sign_with_random_key`]
//! signs a 32-byte digest with one of them chosen at random (`CKM_ECDSA`, raw r‖s; or
//! `CKM_EDDSA` over the 32 bytes as the message). Open a session per benchmark thread with
//! [`Pkcs11Token::open_session`].
//!
//! It serves the vault benchmark only, so it lives here rather than in `affix-seal`,
//! whose public API keeps to master keys.

use affix_seal::Pkcs11Token;
use affix_seal::cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use affix_seal::cryptoki::mechanism::{Mechanism, MechanismType};
use affix_seal::cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use affix_seal::cryptoki::session::Session;
use anyhow::{Context as _, Result, bail};

/// Most key pairs one [`generate_keys`] call creates.
pub(crate) const KEYS_MAX: usize = 100_000;

/// DER of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` value.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// DER of the Ed25519 OID (1.3.101.112), the `CKA_EC_PARAMS` value.
const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// The signature algorithm of a peer key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub(crate) enum PeerAlgorithm {
    /// ECDSA over P-256 (`CKM_ECDSA` on a digest; signature r‖s, 64 bytes).
    EcdsaP256,
    /// Ed25519 (`CKM_EDDSA`; signature 64 bytes).
    Ed25519,
}

impl PeerAlgorithm {
    fn key_gen(self) -> (Mechanism<'static>, MechanismType, KeyType, &'static [u8]) {
        match self {
            Self::EcdsaP256 => (
                Mechanism::EccKeyPairGen,
                MechanismType::ECC_KEY_PAIR_GEN,
                KeyType::EC,
                P256_PARAMS,
            ),
            Self::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
                KeyType::EC_EDWARDS,
                ED25519_PARAMS,
            ),
        }
    }

    fn sign_mechanism(self) -> MechanismType {
        match self {
            Self::EcdsaP256 => MechanismType::ECDSA,
            Self::Ed25519 => MechanismType::EDDSA,
        }
    }
}

/// Whether `token` can generate keys for and sign with `algorithm`.
pub(crate) fn supported(token: &Pkcs11Token, algorithm: PeerAlgorithm) -> Result<bool> {
    let (_, key_gen, _, _) = algorithm.key_gen();
    Ok(token.supports(key_gen)? && token.supports(algorithm.sign_mechanism())?)
}

/// One key pair on the token (handles only; the private key stays in the token).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PeerKey {
    algorithm: PeerAlgorithm,
    private: ObjectHandle,
    public: ObjectHandle,
}

impl PeerKey {
    /// The public key: for P-256 the SEC1 uncompressed point (65 bytes), for Ed25519 the
    /// 32-byte encoding (both taken out of the DER OCTET STRING in `CKA_EC_POINT`). The
    /// benchmark does not need it; the test verifies the token's signatures with it.
    #[cfg(test)]
    pub(crate) fn public_key(&self, session: &Session) -> Result<Vec<u8>> {
        use affix_seal::cryptoki::object::AttributeType;
        use anyhow::anyhow;
        let attributes = session
            .get_attributes(self.public, &[AttributeType::EcPoint])
            .context("PKCS#11 read public key")?;
        let point = attributes
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(point) => Some(point),
                _ => None,
            })
            .ok_or_else(|| anyhow!("the token returned no CKA_EC_POINT"))?;
        der_octet_string(&point)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| anyhow!("the token's CKA_EC_POINT is not a DER OCTET STRING"))
    }
}

/// Generates `count` key pairs of `algorithm` as token objects labelled
/// `<label_prefix>-<n>` (private key: private, sensitive, not extractable, sign only).
pub(crate) fn generate_keys(
    session: &Session,
    algorithm: PeerAlgorithm,
    count: usize,
    label_prefix: &str,
) -> Result<Vec<PeerKey>> {
    if count > KEYS_MAX {
        bail!("more than KEYS_MAX peer keys");
    }
    if label_prefix.is_empty() || label_prefix.len() > 48 {
        bail!("label prefix must be 1..=48 bytes");
    }
    let (mechanism, _, key_type, params) = algorithm.key_gen();
    let mut keys = Vec::with_capacity(count);
    for n in 0..count {
        let label = format!("{label_prefix}-{n}").into_bytes();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::KeyType(key_type),
            Attribute::EcParams(params.to_vec()),
            Attribute::Label(label.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(key_type),
            Attribute::Label(label),
        ];
        let (public, private) = session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .context("PKCS#11 generate key pair")?;
        keys.push(PeerKey {
            algorithm,
            private,
            public,
        });
    }
    Ok(keys)
}

/// Signs `digest` with one of `keys` chosen uniformly by `rng`; returns the index of the
/// key used and the signature.
pub(crate) fn sign_with_random_key(
    session: &Session,
    keys: &[PeerKey],
    digest: &[u8; 32],
    rng: &mut impl rand_core::Rng,
) -> Result<(usize, Vec<u8>)> {
    let len = u64::try_from(keys.len()).context("too many keys")?;
    if len == 0 {
        bail!("no peer keys to sign with");
    }
    // Rejection sampling: no modulo bias.
    let zone = u64::MAX - u64::MAX % len;
    let pick = loop {
        let r = rng.next_u64();
        if r < zone {
            break r % len;
        }
    };
    let index = usize::try_from(pick).context("too many keys")?;
    let key = keys[index];
    let mechanism = match key.algorithm {
        PeerAlgorithm::EcdsaP256 => Mechanism::Ecdsa,
        PeerAlgorithm::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    };
    let signature = session
        .sign(&mechanism, key.private, digest)
        .context("PKCS#11 sign")?;
    Ok((index, signature))
}

/// The content of a DER OCTET STRING (short or long definite length).
#[cfg(test)]
fn der_octet_string(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        0x82 => {
            let (len, rest) = rest.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
        }
        _ => return None,
    };
    (rest.len() == len).then_some(rest)
}

#[cfg(test)]
mod tests {
    //! The signing peer against a real SoftHSM2 token. SoftHSM2 reads its configuration
    //! from `SOFTHSM2_CONF` once per process, so the test runs twice: the parent makes a
    //! temporary token with `softhsm2-util` and re-runs this test binary for the one test
    //! with `SOFTHSM2_CONF` set; the child does the work. The test fails (never skips)
    //! when SoftHSM2 is not installed.

    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    use affix_seal::{Pin, Pkcs11Token};

    use super::*;

    const CHILD_ENV: &str = "AFFIX_BENCH_SOFTHSM_CHILD";
    const MODULE_ENV: &str = "AFFIX_BENCH_SOFTHSM_MODULE";
    const TOKEN: &str = "affix-test";
    const USER_PIN: &str = "1234";
    const SO_PIN: &str = "5678";

    /// Where Debian, Ubuntu, Fedora and Homebrew-style installs put the module.
    const MODULE_CANDIDATES: &[&str] = &[
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ];

    fn module_path() -> PathBuf {
        if let Some(path) = std::env::var_os(MODULE_ENV) {
            return PathBuf::from(path);
        }
        MODULE_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| {
                panic!(
                    "SoftHSM2 module not found in {MODULE_CANDIDATES:?}: install softhsm2 \
                     (apt install softhsm2) or set {MODULE_ENV}"
                )
            })
    }

    /// Runs `body` in a child process that sees a fresh SoftHSM2 token `affix-test`
    /// (user PIN 1234, SO PIN 5678).
    fn with_softhsm(test_name: &str, body: impl FnOnce(&Path)) {
        if std::env::var_os(CHILD_ENV).is_some() {
            body(&module_path());
            return;
        }
        let module = module_path();
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("token dir");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .expect("write softhsm2.conf");
        let init = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", TOKEN])
            .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util must be installed (apt install softhsm2)");
        assert!(
            init.status.success(),
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let child = Command::new(std::env::current_exe().expect("test binary path"))
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env("SOFTHSM2_CONF", &conf)
            .env(CHILD_ENV, "1")
            .env(MODULE_ENV, &module)
            .output()
            .expect("re-run test binary");
        let stdout = String::from_utf8_lossy(&child.stdout);
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(
            child.status.success() && stdout.contains("1 passed"),
            "child run of {test_name} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        print!("{stdout}");
    }

    fn open_token(module: &Path) -> Pkcs11Token {
        let pin = Pin::new(USER_PIN.to_owned()).expect("valid PIN");
        Pkcs11Token::open(module, TOKEN, &pin).expect("open token")
    }

    /// A small deterministic generator for picking keys (not for secrets).
    struct SplitMix(u64);

    impl rand_core::TryRng for SplitMix {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok((self.try_next_u64()? >> 32) as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Ok(z ^ (z >> 31))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for chunk in dst.chunks_mut(8) {
                let bytes = self.try_next_u64()?.to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            Ok(())
        }
    }

    #[test]
    fn signing_peer_creates_20_keys_per_algorithm_and_signs_verifiably() {
        with_softhsm(
            "pkcs11_peer::tests::signing_peer_creates_20_keys_per_algorithm_and_signs_verifiably",
            |module| {
                use p256::ecdsa::signature::hazmat::PrehashVerifier as _;

                let token = open_token(module);
                let session = token.open_session().expect("session");
                let mut rng = SplitMix(7);
                let digest: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).expect("< 32") * 3);

                assert!(supported(&token, PeerAlgorithm::EcdsaP256).expect("query"));
                let started = Instant::now();
                let keys = generate_keys(&session, PeerAlgorithm::EcdsaP256, 20, "p256")
                    .expect("generate P-256 keys");
                println!("20 P-256 key pairs in {:?}", started.elapsed());
                assert_eq!(keys.len(), 20);
                let mut used = std::collections::BTreeSet::new();
                let started = Instant::now();
                for _ in 0..200 {
                    let (index, signature) =
                        sign_with_random_key(&session, &keys, &digest, &mut rng).expect("sign");
                    used.insert(index);
                    let point = keys[index].public_key(&session).expect("public key");
                    let key =
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("SEC1 point");
                    let signature =
                        p256::ecdsa::Signature::from_slice(&signature).expect("r||s signature");
                    key.verify_prehash(&digest, &signature)
                        .expect("token ECDSA signature verifies with RustCrypto p256");
                }
                println!(
                    "200 P-256 signatures (+ verification) in {:?}",
                    started.elapsed()
                );
                assert!(used.len() > 10, "keys chosen at random: {used:?}");

                // SoftHSM 2.6 has CKM_EC_EDWARDS_KEY_PAIR_GEN; CI installs that version, so a
                // missing mechanism is a failure here, not a skip.
                assert!(supported(&token, PeerAlgorithm::Ed25519).expect("query"));
                let started = Instant::now();
                let keys = generate_keys(&session, PeerAlgorithm::Ed25519, 20, "ed25519")
                    .expect("generate Ed25519 keys");
                println!("20 Ed25519 key pairs in {:?}", started.elapsed());
                for _ in 0..50 {
                    let (index, signature) =
                        sign_with_random_key(&session, &keys, &digest, &mut rng).expect("sign");
                    let point = keys[index].public_key(&session).expect("public key");
                    let key = ed25519_dalek::VerifyingKey::from_bytes(
                        &<[u8; 32]>::try_from(point.as_slice()).expect("32-byte key"),
                    )
                    .expect("Ed25519 point");
                    let signature = ed25519_dalek::Signature::from_bytes(
                        &<[u8; 64]>::try_from(signature.as_slice()).expect("64-byte signature"),
                    );
                    key.verify_strict(&digest, &signature)
                        .expect("token Ed25519 signature verifies with ed25519-dalek");
                }

                let refused = sign_with_random_key(&session, &[], &digest, &mut rng)
                    .expect_err("no keys to sign with");
                assert!(refused.to_string().contains("no peer keys"), "{refused}");
            },
        );
    }

    #[test]
    fn der_octet_string_accepts_short_and_long_lengths_and_rejects_the_rest() {
        assert_eq!(der_octet_string(&[0x04, 0x02, 1, 2]), Some(&[1u8, 2][..]));
        let mut long = vec![0x04, 0x81, 65];
        long.extend([7u8; 65]);
        assert_eq!(der_octet_string(&long).map(<[u8]>::len), Some(65));
        assert_eq!(der_octet_string(&[0x04, 0x03, 1, 2]), None);
        assert_eq!(der_octet_string(&[0x03, 0x02, 1, 2]), None);
        assert_eq!(der_octet_string(&[]), None);
    }
}
