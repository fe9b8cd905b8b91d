//! Master keys held in process memory: key file, passphrase, Shamir shares; and the
//! wrapped KEK format they share.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use affix_seal::{
    Error, KdfParams, Kek, KeyFileMaster, MasterKey, MasterKeyId, Passphrase, PassphraseMaster,
    ShamirMaster, Share, WRAPPED_KEK_BYTES, WrappedKek,
};
use sha2::{Digest as _, Sha256};
use support::{AAD, assert_wraps_and_detects_tampering, hex, sample_kek};

fn cheap() -> KdfParams {
    KdfParams::dangerous_weak(64, 1, 1).expect("valid weak params")
}

fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(text.to_owned()).expect("valid passphrase")
}

// ---- wrapped KEK format -------------------------------------------------------------

#[test]
fn wrapped_kek_decode_rejects_empty_unknown_version_and_wrong_length() {
    assert!(matches!(
        WrappedKek::decode(&[]),
        Err(Error::MalformedWrappedKek(_))
    ));
    let mut bytes = [0u8; WRAPPED_KEK_BYTES];
    bytes[0] = 2;
    assert!(matches!(
        WrappedKek::decode(&bytes),
        Err(Error::MalformedWrappedKek("unknown version"))
    ));
    bytes[0] = 1;
    assert!(WrappedKek::decode(&bytes).is_ok());
    assert!(WrappedKek::decode(&bytes[..WRAPPED_KEK_BYTES - 1]).is_err());
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(WrappedKek::decode(&long).is_err());
}

#[test]
fn secrets_print_redacted() {
    let kek = sample_kek();
    let debug = format!("{kek:?}");
    assert_eq!(debug, "Kek([REDACTED])");
    assert_eq!(
        format!("{:?}", passphrase("correct horse")),
        "Passphrase([REDACTED])"
    );
    let (_, shares) = ShamirMaster::split(2, 3).expect("split");
    let debug = format!("{:?}", shares[0]);
    assert!(debug.contains("REDACTED"), "{debug}");
    assert!(!debug.contains(&shares[0].to_text()[30..60]), "{debug}");
}

#[test]
fn kek_generate_uses_the_given_rng_and_random_differs() {
    struct Counter(u8);
    impl rand_core::TryRng for Counter {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Counter {}
    let kek = Kek::generate(&mut Counter(0));
    assert_eq!(kek.expose_secret()[..3], [1, 2, 3]);
    let a = Kek::random().expect("random");
    let b = Kek::random().expect("random");
    assert_ne!(a.expose_secret(), b.expose_secret());
}

#[test]
fn master_key_id_parse_limits() {
    assert!(MasterKeyId::parse("file:0011223344556677").is_ok());
    assert!(MasterKeyId::parse("").is_err());
    assert!(MasterKeyId::parse("a\nb").is_err());
    assert!(MasterKeyId::parse(&"x".repeat(161)).is_err());
}

// ---- key file -----------------------------------------------------------------------

#[test]
fn key_file_create_then_open_gives_the_same_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("master.key");
    let created = KeyFileMaster::create(&path).expect("create");
    assert!(created.id().as_str().starts_with("file:"));
    assert_eq!(created.id().as_str().len(), "file:".len() + 16);
    let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let opened = KeyFileMaster::open(&path).expect("open");
    assert_eq!(opened.id(), created.id());
    let wrapped = created.wrap(&sample_kek(), AAD).expect("wrap");
    let kek = opened
        .unwrap(&wrapped, AAD)
        .expect("unwrap with reopened key");
    assert_eq!(kek.expose_secret(), sample_kek().expose_secret());
    assert!(!format!("{opened:?}").contains(&hex_of_file_key(&path)));
}

fn hex_of_file_key(path: &std::path::Path) -> String {
    let text = fs::read_to_string(path).expect("read");
    text.lines().nth(1).expect("key line").to_owned()
}

#[test]
fn key_file_wraps_and_detects_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master = KeyFileMaster::create(&dir.path().join("k")).expect("create");
    assert_wraps_and_detects_tampering(&master);
}

#[test]
fn key_file_create_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("master.key");
    KeyFileMaster::create(&path).expect("create");
    let before = fs::read(&path).expect("read");
    assert!(matches!(
        KeyFileMaster::create(&path),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(fs::read(&path).expect("read"), before);
    let other = dir.path().join("other");
    fs::write(&other, b"not a key").expect("write");
    assert!(matches!(
        KeyFileMaster::create(&other),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn key_file_open_refuses_group_or_world_accessible_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("master.key");
    KeyFileMaster::create(&path).expect("create");
    let key_hex = hex_of_file_key(&path);
    for mode in [0o640, 0o604, 0o620, 0o660, 0o644] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        let error = KeyFileMaster::open(&path).expect_err("must refuse");
        assert!(
            matches!(error, Error::InsecurePermissions { mode: m, .. } if m == mode),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("chmod 600"), "{text}");
        assert!(!text.contains(&key_hex));
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
    KeyFileMaster::open(&path).expect("owner read-only is fine");
}

#[test]
fn key_file_open_rejects_malformed_files_without_echoing_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [&[u8]; 5] = [
        b"",
        b"0011\n",
        b"affix-seal-keyfile v1\n00112233\n",
        b"affix-seal-keyfile v1\nzz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        b"affix-seal-keyfile v2\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    ];
    for (i, contents) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}"));
        fs::write(&path, contents).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        let error = KeyFileMaster::open(&path).expect_err("malformed");
        assert!(matches!(error, Error::MalformedFile { .. }), "{error:?}");
        assert!(!error.to_string().contains("00112233"), "{error}");
    }
    let big = dir.path().join("big");
    fs::write(&big, vec![b'a'; 10_000]).expect("write");
    fs::set_permissions(&big, fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(matches!(
        KeyFileMaster::open(&big),
        Err(Error::MalformedFile {
            reason: "file too large",
            ..
        })
    ));
}

#[test]
fn another_key_file_cannot_unwrap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = KeyFileMaster::create(&dir.path().join("a")).expect("create");
    let b = KeyFileMaster::create(&dir.path().join("b")).expect("create");
    assert_ne!(a.id(), b.id());
    let wrapped = a.wrap(&sample_kek(), AAD).expect("wrap");
    assert!(matches!(b.unwrap(&wrapped, AAD), Err(Error::UnwrapFailed)));
}

// ---- passphrase ---------------------------------------------------------------------

#[test]
fn passphrase_create_then_open_gives_the_same_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seal.header");
    let created = PassphraseMaster::create(&path, &passphrase("correct horse battery"), cheap())
        .expect("create");
    assert!(created.id().as_str().starts_with("passphrase:"));
    let opened = PassphraseMaster::open(&path, &passphrase("correct horse battery")).expect("open");
    assert_eq!(opened.id(), created.id());
    assert_eq!(opened.params(), cheap());
    let wrapped = created.wrap(&sample_kek(), AAD).expect("wrap");
    assert_eq!(
        opened
            .unwrap(&wrapped, AAD)
            .expect("unwrap")
            .expose_secret(),
        sample_kek().expose_secret()
    );
    let header = fs::read_to_string(&path).expect("read header");
    assert!(
        header.starts_with("affix-seal-passphrase v1\nsalt "),
        "{header}"
    );
    assert!(header.contains("\nm_kib 64\nt 1\np 1\nkcv "), "{header}");
    assert!(!header.contains("horse"));
}

#[test]
fn passphrase_wrong_one_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seal.header");
    PassphraseMaster::create(&path, &passphrase("correct horse battery"), cheap()).expect("create");
    let error = PassphraseMaster::open(&path, &passphrase("correct horse batterz"))
        .expect_err("wrong passphrase");
    assert!(matches!(error, Error::WrongPassphrase), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(!text.contains("horse"), "{text}");
}

#[test]
fn passphrase_wraps_and_detects_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master = PassphraseMaster::create(&dir.path().join("h"), &passphrase("pw"), cheap())
        .expect("create");
    assert_wraps_and_detects_tampering(&master);
}

#[test]
fn passphrase_same_text_with_another_salt_is_another_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = PassphraseMaster::create(&dir.path().join("a"), &passphrase("same"), cheap())
        .expect("create");
    let b = PassphraseMaster::create(&dir.path().join("b"), &passphrase("same"), cheap())
        .expect("create");
    assert_ne!(a.id(), b.id());
    let wrapped = a.wrap(&sample_kek(), AAD).expect("wrap");
    assert!(matches!(b.unwrap(&wrapped, AAD), Err(Error::UnwrapFailed)));
    assert!(matches!(
        PassphraseMaster::create(&dir.path().join("a"), &passphrase("same"), cheap()),
        Err(Error::AlreadyExists(_))
    ));
}

#[test]
fn passphrase_default_params_are_owasp_and_work() {
    let params = KdfParams::default();
    assert_eq!(
        (
            params.memory_kib(),
            params.iterations(),
            params.parallelism()
        ),
        (19456, 2, 1)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h");
    let created = PassphraseMaster::create(&path, &passphrase("pw"), params).expect("create");
    let opened = PassphraseMaster::open(&path, &passphrase("pw")).expect("open");
    assert_eq!(created.id(), opened.id());
    assert_eq!(opened.params(), params);
}

#[test]
fn kdf_params_new_refuses_weak_and_oversized_params() {
    assert!(KdfParams::new(19456, 2, 1).is_ok());
    assert!(matches!(
        KdfParams::new(8192, 2, 1),
        Err(Error::InvalidKdfParams(_))
    ));
    assert!(matches!(
        KdfParams::new(19456, 1, 1),
        Err(Error::InvalidKdfParams(_))
    ));
    assert!(KdfParams::new(8 * 1024 * 1024, 2, 1).is_err());
    assert!(KdfParams::new(19456, 65, 1).is_err());
    assert!(KdfParams::new(19456, 2, 0).is_err());
    assert!(KdfParams::new(19456, 2, 17).is_err());
    assert!(KdfParams::dangerous_weak(7, 1, 1).is_err());
}

#[test]
fn passphrase_header_with_hostile_or_broken_fields_is_refused_before_deriving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good_salt = "00112233445566778899aabbccddeeff";
    let cases = [
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib 4294967295\nt 1\np 1\nkcv 0011223344556677\n"
            ),
            "InvalidKdfParams",
        ),
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib 64\nt 100000\np 1\nkcv 0011223344556677\n"
            ),
            "InvalidKdfParams",
        ),
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib 64\nt 1\nkcv 0011223344556677\n"
            ),
            "MalformedFile",
        ),
        (
            "affix-seal-passphrase v1\nsalt 0011\nm_kib 64\nt 1\np 1\nkcv 0011223344556677\n"
                .to_owned(),
            "MalformedFile",
        ),
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib 64\nt 1\np 1\nkcv 0011223344556677\nextra\n"
            ),
            "MalformedFile",
        ),
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib -1\nt 1\np 1\nkcv 0011223344556677\n"
            ),
            "MalformedFile",
        ),
        (
            format!(
                "affix-seal-passphrase v1\nsalt {good_salt}\nm_kib 64\nt 1\np 1\nkcv 0011223344556677\n"
            ),
            "WrongPassphrase",
        ),
    ];
    for (i, (header, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("h{i}"));
        fs::write(&path, header).expect("write");
        let error = PassphraseMaster::open(&path, &passphrase("pw")).expect_err("refused");
        assert!(
            format!("{error:?}").starts_with(expected),
            "case {i}: {error:?}"
        );
    }
}

#[test]
fn passphrase_text_limits() {
    assert!(Passphrase::new(String::new()).is_err());
    assert!(Passphrase::new("x".repeat(1025)).is_err());
    assert!(Passphrase::new("x".repeat(1024)).is_ok());
}

// ---- Shamir -------------------------------------------------------------------------

fn texts(shares: &[Share]) -> Vec<String> {
    shares.iter().map(|s| s.to_text().to_string()).collect()
}

fn parse_all(texts: &[&String]) -> Vec<Share> {
    texts
        .iter()
        .map(|t| Share::parse(t).expect("parse share"))
        .collect()
}

#[test]
fn shamir_any_k_of_n_shares_reconstruct_the_master_key() {
    let (master, shares) = ShamirMaster::split(3, 5).expect("split");
    assert_eq!(shares.len(), 5);
    assert!(master.id().as_str().starts_with("shamir:"));
    let texts = texts(&shares);
    for (i, text) in texts.iter().enumerate() {
        assert!(
            text.starts_with(&format!("affix-share-v1:3:{}:", i + 1)),
            "{text}"
        );
        assert_eq!(text.split(':').count(), 6);
    }
    let wrapped = master.wrap(&sample_kek(), AAD).expect("wrap");
    for a in 0..5 {
        for b in a + 1..5 {
            for c in b + 1..5 {
                let subset = parse_all(&[&texts[c], &texts[a], &texts[b]]);
                let combined = ShamirMaster::combine(&subset).expect("combine");
                assert_eq!(combined.id(), master.id());
                assert_eq!(
                    combined
                        .unwrap(&wrapped, AAD)
                        .expect("unwrap")
                        .expose_secret(),
                    sample_kek().expose_secret()
                );
            }
        }
    }
    let all = parse_all(&texts.iter().collect::<Vec<_>>());
    assert_eq!(
        ShamirMaster::combine(&all).expect("all five").id(),
        master.id()
    );
}

#[test]
fn shamir_wraps_and_detects_tampering() {
    let (master, _) = ShamirMaster::split(2, 2).expect("split");
    assert_wraps_and_detects_tampering(&master);
}

#[test]
fn shamir_fewer_than_k_shares_are_refused() {
    let (_, shares) = ShamirMaster::split(3, 5).expect("split");
    let error = ShamirMaster::combine(&shares[..2]).expect_err("two of three");
    assert!(
        matches!(error, Error::NotEnoughShares { needed: 3, got: 2 }),
        "{error:?}"
    );
    // The same share twice counts once.
    let error = ShamirMaster::combine(&[shares[0].clone(), shares[0].clone(), shares[1].clone()])
        .expect_err("duplicate");
    assert!(
        matches!(error, Error::NotEnoughShares { needed: 3, got: 2 }),
        "{error:?}"
    );
    assert!(matches!(
        ShamirMaster::combine(&[]),
        Err(Error::NotEnoughShares { got: 0, .. })
    ));
}

#[test]
fn shamir_mistyped_share_fails_its_checksum_without_echoing_it() {
    let (_, shares) = ShamirMaster::split(2, 3).expect("split");
    let text = shares[1].to_text().to_string();
    let value = text.split(':').nth(4).expect("value field").to_owned();
    // Change one hex digit of the share value.
    let position = text.len() - 20;
    let original = text.as_bytes()[position];
    let replacement = if original == b'0' { '1' } else { '0' };
    let mut typo = text.clone();
    typo.replace_range(position..=position, &replacement.to_string());
    let error = Share::parse(&typo).expect_err("typo");
    assert!(
        matches!(error, Error::ShareChecksumMismatch { index: 2 }),
        "{error:?}"
    );
    let message = format!("{error} {error:?}");
    assert!(!message.contains(&value[..16]), "{message}");

    // Upper case and surrounding whitespace are fine.
    let upper = format!(
        "  {}\n",
        text.to_uppercase()
            .replace("AFFIX-SHARE-V1", "affix-share-v1")
    );
    assert_eq!(
        Share::parse(&upper).expect("upper").to_text().as_str(),
        text
    );
}

#[test]
fn shamir_malformed_share_texts_are_refused() {
    let (_, shares) = ShamirMaster::split(2, 3).expect("split");
    let text = shares[0].to_text().to_string();
    let fields: Vec<&str> = text.split(':').collect();
    let cases = [
        String::new(),
        "affix-share-v1".to_owned(),
        text.replace("affix-share-v1", "affix-share-v2"),
        format!("{text}:00"),
        fields[..5].join(":"),
        format!("{}:{}:{}", fields[0], "x", fields[2..].join(":")),
        format!("{}:{}:{}", fields[0], "256", fields[2..].join(":")),
        "a".repeat(300),
    ];
    for case in cases {
        let error = Share::parse(&case).expect_err("malformed");
        assert!(
            matches!(error, Error::MalformedShare(_)),
            "{case:?}: {error:?}"
        );
    }
}

#[test]
fn shamir_shares_of_different_splits_are_inconsistent() {
    let (_, a) = ShamirMaster::split(2, 3).expect("split");
    let (_, b) = ShamirMaster::split(2, 3).expect("split");
    let error = ShamirMaster::combine(&[a[0].clone(), b[1].clone()]).expect_err("mixed");
    assert!(matches!(error, Error::InconsistentShares(_)), "{error:?}");
    let (_, c) = ShamirMaster::split(3, 3).expect("split");
    let error = ShamirMaster::combine(&[a[0].clone(), c[1].clone(), c[2].clone()])
        .expect_err("thresholds differ");
    assert!(matches!(error, Error::InconsistentShares(_)), "{error:?}");
}

/// Re-encodes a share with an altered value and a matching checksum, as an attacker or a
/// corrupted backup with a recomputed checksum would.
fn forge(text: &str, value_byte: usize) -> String {
    let mut fields: Vec<String> = text.split(':').map(str::to_owned).collect();
    let mut value: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&fields[4][2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    value[value_byte] ^= 1;
    fields[4] = hex(&value);
    let body = format!("{}:", fields[..5].join(":"));
    let digest = Sha256::new()
        .chain_update(b"affix.dev/seal/share/v1\0")
        .chain_update(body.as_bytes())
        .finalize();
    format!("{body}{}", hex(&digest[..4]))
}

#[test]
fn shamir_wrong_share_with_valid_checksum_is_caught_by_the_key_check_value() {
    let (_, shares) = ShamirMaster::split(2, 3).expect("split");
    let texts = texts(&shares);
    let forged = Share::parse(&forge(&texts[1], 7)).expect("forged share parses");
    let error = ShamirMaster::combine(&[Share::parse(&texts[0]).expect("parse"), forged.clone()])
        .expect_err("forged");
    assert!(matches!(error, Error::CombinedKeyMismatch), "{error:?}");
    // Same index, different value: inconsistent.
    let error = ShamirMaster::combine(&[
        Share::parse(&texts[1]).expect("parse"),
        forged,
        Share::parse(&texts[0]).expect("parse"),
    ])
    .expect_err("conflict");
    assert!(matches!(error, Error::InconsistentShares(_)), "{error:?}");
}

#[test]
fn shamir_split_parameters_are_checked() {
    for (k, n) in [(0, 3), (1, 3), (4, 3), (2, 1), (0, 0)] {
        assert!(
            matches!(ShamirMaster::split(k, n), Err(Error::InvalidSharing { .. })),
            "{k}-of-{n}"
        );
    }
    let (master, shares) = ShamirMaster::split(2, 255).expect("2-of-255");
    assert_eq!(shares.len(), 255);
    assert_eq!(shares[254].index(), 255);
    let combined =
        ShamirMaster::combine(&[shares[254].clone(), shares[100].clone()]).expect("combine");
    assert_eq!(combined.id(), master.id());
}
