//! Freezes the wrapped KEK format v1 and the master-key inputs of the software sources:
//! the committed key file, passphrase header and Shamir shares must open to the committed
//! master-key ids, and the committed wrapped KEKs must unwrap under them to the committed
//! KEK — forever, or every vault sealed with them is lost. Wrapping draws a random nonce,
//! so a wrap is checked by unwrapping a stored one; for the key file and the passphrase,
//! whose secret the test knows, the stored bytes are also decrypted here from the format
//! as `docs/formats.md` specifies it (AES-256-GCM, nonce ‖ ciphertext ‖ tag, associated
//! data `0x01 ‖ aad`), without the crate's wrapping code.
//!
//! Regenerating (`AFFIX_REGENERATE_VECTORS=1 cargo test -p affix-seal --test vectors --
//! --test-threads=1`, then update `tests/vectors/README.md`) approves a new format: don't —
//! add a version 2 beside v1.

#![allow(clippy::unwrap_used, missing_docs)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInOut as _, KeyInit as _, Tag};
use aes_gcm::{Aes256Gcm, Nonce};
use affix_seal::{
    Kek, KeyFileMaster, MasterKey, Passphrase, PassphraseMaster, ShamirMaster, Share, WrappedKek,
};
use sha2::{Digest as _, Sha256};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn regenerating() -> bool {
    std::env::var_os("AFFIX_REGENERATE_VECTORS").is_some()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap()
}

/// Compares `expected` with the stored vector `name` (or writes it when regenerating).
fn frozen(name: &str, expected: &str) {
    if regenerating() {
        std::fs::write(dir().join(name), expected).unwrap();
    }
    assert_eq!(read(name), expected, "{name}: the format changed");
}

/// The KEK every vector wraps.
fn kek() -> Kek {
    Kek::from_bytes(Sha256::digest(b"affix-seal test vector KEK").into())
}

/// The associated data the vault binds to the KEK of generation 1, tenant 7
/// (`docs/formats.md`, "Master keys and wrapped KEKs").
fn aad() -> Vec<u8> {
    let mut aad = b"affix.dev/vault/kek/v1\0".to_vec();
    aad.extend_from_slice(&1u32.to_be_bytes());
    aad.extend_from_slice(&7u32.to_be_bytes());
    aad
}

/// The key-check value of a master secret, from the format: the first 8 bytes of
/// SHA-256("affix.dev/seal/kcv/v1\0" ‖ secret), hex.
fn kcv(secret: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"affix.dev/seal/kcv/v1\0")
        .chain_update(secret)
        .finalize();
    hex::encode(&digest[..8])
}

/// Decrypts a wrapped KEK v1 from its specification alone.
fn unwrap_by_the_spec(secret: &[u8; 32], wrapped: &[u8], aad: &[u8]) -> [u8; 32] {
    assert_eq!(wrapped.len(), 61);
    assert_eq!(wrapped[0], 0x01, "version");
    let nonce: [u8; 12] = wrapped[1..13].try_into().unwrap();
    let mut plain: [u8; 32] = wrapped[13..45].try_into().unwrap();
    let tag = Tag::<Aes256Gcm>::try_from(&wrapped[45..]).unwrap();
    let mut gcm_aad = vec![0x01];
    gcm_aad.extend_from_slice(aad);
    Aes256Gcm::new_from_slice(secret)
        .unwrap()
        .decrypt_inout_detached(&Nonce::from(nonce), &gcm_aad, (&mut plain[..]).into(), &tag)
        .expect("the stored wrapped KEK decrypts by the specification");
    plain
}

/// Wraps under `master` when regenerating; then checks the stored wrapped KEK unwraps to
/// [`kek`], and only under its own associated data. Returns the stored bytes.
fn wrapped_kek_is_frozen(name: &str, master: &dyn MasterKey) -> Vec<u8> {
    if regenerating() {
        let wrapped = master.wrap(&kek(), &aad()).unwrap();
        std::fs::write(
            dir().join(name),
            format!("{}\n", hex::encode(wrapped.as_bytes())),
        )
        .unwrap();
    }
    let bytes = hex::decode(read(name).trim_end()).unwrap();
    let wrapped = WrappedKek::decode(&bytes).unwrap();
    let unwrapped = master.unwrap(&wrapped, &aad()).unwrap();
    assert_eq!(unwrapped.expose_secret(), kek().expose_secret(), "{name}");
    let mut other = aad();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert!(master.unwrap(&wrapped, &other).is_err(), "{name}");
    bytes
}

/// A copy of a stored secret file with mode 0600 (git keeps 0644, which `open` refuses).
fn private_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    std::fs::copy(dir().join(name), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (tmp, path)
}

#[test]
fn key_file_source_is_frozen() {
    let secret: [u8; 32] = Sha256::digest(b"affix-seal test vector key file").into();
    frozen(
        "master-v1.keyfile",
        &format!("affix-seal-keyfile v1\n{}\n", hex::encode(secret)),
    );
    let (_tmp, path) = private_copy("master-v1.keyfile");
    let master = KeyFileMaster::open(&path).unwrap();
    assert_eq!(master.id().as_str(), format!("file:{}", kcv(&secret)));
    frozen("master-v1.keyfile.id", &format!("{}\n", master.id()));
    let bytes = wrapped_kek_is_frozen("wrapped-kek-v1.keyfile.hex", &master);
    assert_eq!(
        unwrap_by_the_spec(&secret, &bytes, &aad()),
        *kek().expose_secret()
    );
}

#[test]
fn passphrase_source_is_frozen() {
    const PASSPHRASE: &str = "correct horse battery staple";
    let salt: [u8; 16] = Sha256::digest(b"affix-seal test vector salt")[..16]
        .try_into()
        .unwrap();
    // Argon2id v1.3 with the default parameters (19 MiB, 2 passes, 1 lane), 32 bytes.
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).unwrap();
    let mut secret = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(PASSPHRASE.as_bytes(), &salt, &mut secret)
        .unwrap();
    frozen(
        "master-v1.passphrase-header",
        &format!(
            "affix-seal-passphrase v1\nsalt {}\nm_kib 19456\nt 2\np 1\nkcv {}\n",
            hex::encode(salt),
            kcv(&secret)
        ),
    );
    let master = PassphraseMaster::open(
        &dir().join("master-v1.passphrase-header"),
        &Passphrase::new(PASSPHRASE.into()).unwrap(),
    )
    .unwrap();
    assert_eq!(master.id().as_str(), format!("passphrase:{}", kcv(&secret)));
    frozen(
        "master-v1.passphrase-header.id",
        &format!("{}\n", master.id()),
    );
    let bytes = wrapped_kek_is_frozen("wrapped-kek-v1.passphrase.hex", &master);
    assert_eq!(
        unwrap_by_the_spec(&secret, &bytes, &aad()),
        *kek().expose_secret()
    );
}

#[test]
fn shamir_source_is_frozen() {
    // Splitting draws the secret and the polynomial at random: the stored shares are the
    // fixed input, drawn once.
    if regenerating() {
        let (_, shares) = ShamirMaster::split(2, 3).unwrap();
        let text: String = shares
            .iter()
            .map(|s| format!("{}\n", *s.to_text()))
            .collect();
        std::fs::write(dir().join("master-v1.shares"), text).unwrap();
    }
    let shares: Vec<Share> = read("master-v1.shares")
        .lines()
        .map(|l| Share::parse(l).unwrap())
        .collect();
    assert_eq!(shares.len(), 3);
    // Any two of the three shares give the same master key.
    let ids: Vec<String> = [[0, 1], [1, 2], [0, 2]]
        .iter()
        .map(|pair| {
            let two = [shares[pair[0]].clone(), shares[pair[1]].clone()];
            ShamirMaster::combine(&two).unwrap().id().to_string()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let master = ShamirMaster::combine(&shares[..2]).unwrap();
    // The key-check value every share carries is the master key's.
    let share_kcv = read("master-v1.shares")
        .lines()
        .next()
        .unwrap()
        .split(':')
        .nth(3)
        .unwrap()
        .to_owned();
    assert_eq!(master.id().as_str(), format!("shamir:{share_kcv}"));
    if regenerating() {
        std::fs::write(
            dir().join("master-v1.shares.id"),
            format!("{}\n", master.id()),
        )
        .unwrap();
    }
    assert_eq!(read("master-v1.shares.id"), format!("{}\n", master.id()));
    wrapped_kek_is_frozen("wrapped-kek-v1.shamir.hex", &master);
}

/// The README lists each vector with its SHA-256, so a reader can check the files
/// without running Rust; it must list the current ones.
#[test]
fn readme_lists_every_vector_with_its_digest() {
    let readme = read("README.md");
    let mut names: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let digest = hex::encode(Sha256::digest(std::fs::read(dir().join(&name)).unwrap()));
        assert!(
            readme.contains(&format!("| `{name}` |")) && readme.contains(&digest),
            "README.md must list `{name}` with SHA-256 {digest}"
        );
    }
}
