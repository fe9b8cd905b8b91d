//! HD wallets in the vault from the outside: derivation equal to `affix-wallet`'s from the
//! exported mnemonic, authorized signing, refusals, audit, seed export through the
//! recovery policy, tampering and rotation.
#![allow(clippy::unwrap_used)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::recovery::{
    Approval, IdentityCheck, RecoveryCode, RecoveryNotice, RecoveryPolicy,
};
use affix_vault::wallet::seed_export_digest;
use affix_vault::{
    Action, Algorithm, BitcoinNetwork, CredentialKind, DeviceKey, Error, OwnerId, RecoveryId,
    RecoveryRefusal, Refusal, TenantId, UnboundStatement, Vault, VaultConfig, WalletChain,
    WalletId, WalletPayload, WalletSignRequest, WordCount,
};
use affix_wallet::{DerivationPath, Mnemonic};
use sha2::{Digest as _, Sha256};
use signature::Signer as _;
use std::sync::Arc;

const T0: u64 = 1_795_000_000_000;

// Field order matters: the vault closes before its directory is removed.
struct Fixture {
    vault: Vault,
    path: std::path::PathBuf,
    master_path: std::path::PathBuf,
    platform: ed25519_dalek::SigningKey,
    notary: ed25519_dalek::SigningKey,
    window_ms: u64,
    _dir: tempfile::TempDir,
}

fn master(path: &std::path::Path) -> Arc<dyn MasterKey> {
    Arc::new(KeyFileMaster::open(path).unwrap())
}

fn config(platform: &ed25519_dalek::SigningKey, notary: &ed25519_dalek::SigningKey) -> VaultConfig {
    VaultConfig {
        recovery: RecoveryPolicy {
            platform_key: Some(platform.verifying_key().to_bytes()),
            authorities: vec![("notary".into(), notary.verifying_key().to_bytes())],
            ..RecoveryPolicy::default()
        },
        ..VaultConfig::default()
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let master_path = dir.path().join("master.key");
    KeyFileMaster::create(&master_path).unwrap();
    let path = dir.path().join("vault");
    let platform = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let notary = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
    let config = config(&platform, &notary);
    let window_ms = config.recovery.window_ms;
    let vault = Vault::create(
        &path,
        master(&master_path),
        "test.affix.local/vault",
        config,
    )
    .unwrap();
    Fixture {
        vault,
        path,
        master_path,
        platform,
        notary,
        window_ms,
        _dir: dir,
    }
}

/// The owner's notice, accepted (the platform queues it for e-mail and SMS).
fn notified(_: &RecoveryNotice) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn enrol(vault: &Vault, t: &TenantId) -> (OwnerId, DeviceKey) {
    let owner = OwnerId::random().unwrap();
    let mut device = DeviceKey::generate().unwrap();
    device.credential = Some(
        vault
            .register_credential(
                t,
                owner,
                CredentialKind::Ed25519,
                &device.public_key(),
                None,
                T0,
            )
            .unwrap(),
    );
    (owner, device)
}

fn request(
    t: &TenantId,
    wallet: WalletId,
    index: u32,
    payload: WalletPayload,
    device: &DeviceKey,
    now: u64,
) -> WalletSignRequest {
    let statement =
        UnboundStatement::for_wallet_signing(t, wallet, index, &payload, now, 60_000).unwrap();
    WalletSignRequest {
        tenant: t.clone(),
        wallet,
        index,
        payload,
        authorization: device.authorize(statement),
    }
}

fn identity() -> IdentityCheck {
    IdentityCheck {
        provider: "face-provider-x".into(),
        result_digest: [3; 32],
    }
}

/// Runs a seed export to completion (platform and notary approve, the window passes)
/// and returns the mnemonic.
fn export(f: &Fixture, t: &TenantId, owner: OwnerId, wallet: WalletId, start: u64) -> String {
    let recipient = DeviceKey::generate().unwrap();
    let id = f
        .vault
        .start_seed_export(
            t,
            owner,
            wallet,
            CredentialKind::Ed25519,
            &recipient.public_key(),
            &identity(),
            &notified,
            start,
        )
        .unwrap();
    approve_platform_and_notary(f, t, owner, id, start);
    let now = start + f.window_ms;
    let exported = f
        .vault
        .complete_seed_export(
            t,
            owner,
            id,
            &export_authorization(t, &recipient, id, wallet, now),
            now,
        )
        .unwrap();
    assert_eq!(exported.wallet, wallet);
    assert!(format!("{exported:?}").contains("redacted"));
    exported.mnemonic.to_string()
}

fn approve_platform_and_notary(
    f: &Fixture,
    t: &TenantId,
    owner: OwnerId,
    id: RecoveryId,
    now: u64,
) {
    let message = f
        .vault
        .recovery(t, owner, id)
        .unwrap()
        .approval_message(t, id);
    f.vault
        .approve_recovery(
            t,
            owner,
            id,
            Approval::Platform {
                signature: f.platform.sign(&message).to_bytes().to_vec(),
            },
            now,
        )
        .unwrap();
    f.vault
        .approve_recovery(
            t,
            owner,
            id,
            Approval::Authority {
                name: "notary".into(),
                signature: f.notary.sign(&message).to_bytes().to_vec(),
            },
            now,
        )
        .unwrap();
}

fn export_authorization(
    t: &TenantId,
    recipient: &DeviceKey,
    id: RecoveryId,
    wallet: WalletId,
    now: u64,
) -> affix_vault::Authorization {
    let statement = UnboundStatement::for_action(
        t,
        Action::ExportSeed,
        None,
        seed_export_digest(id, wallet),
        now,
        60_000,
    )
    .unwrap();
    recipient.authorize(statement)
}

fn recover_eip191(message: &[u8], signature: &[u8]) -> String {
    let sig = k256::ecdsa::Signature::from_slice(&signature[..64]).unwrap();
    let rec = k256::ecdsa::RecoveryId::from_byte(signature[64] - 27).unwrap();
    let key = k256::ecdsa::VerifyingKey::recover_from_prehash(
        &affix_wallet::eip191_hash(message),
        &sig,
        rec,
    )
    .unwrap();
    affix_wallet::ethereum_address_of(&key)
}

#[test]
fn vault_derivation_and_signatures_equal_affix_wallets_from_the_exported_mnemonic() {
    let f = fixture();
    let t = tenant("people");
    let (owner, device) = enrol(&f.vault, &t);
    for words in [WordCount::Words12, WordCount::Words24] {
        let wallet = f.vault.create_wallet(&t, owner, words, T0).unwrap();
        let chains = [
            WalletChain::Ethereum,
            WalletChain::Bitcoin(BitcoinNetwork::Mainnet),
            WalletChain::Bitcoin(BitcoinNetwork::Testnet),
            WalletChain::Ed25519,
        ];
        let addresses: Vec<_> = chains
            .iter()
            .flat_map(|&c| {
                [0, 7].map(|i| (c, i, f.vault.wallet_address(&t, &wallet.id, c, i).unwrap()))
            })
            .collect();

        let message = b"I agree to the loan terms v3".to_vec();
        let eip191 = f
            .vault
            .wallet_sign(
                &request(
                    &t,
                    wallet.id,
                    7,
                    WalletPayload::EthereumMessage(message.clone()),
                    &device,
                    T0,
                ),
                T0,
            )
            .unwrap();
        let hash = [0x42; 32];
        let raw = f
            .vault
            .wallet_sign(
                &request(
                    &t,
                    wallet.id,
                    0,
                    WalletPayload::EthereumHash(hash),
                    &device,
                    T0,
                ),
                T0,
            )
            .unwrap();
        let ed = f
            .vault
            .wallet_sign(
                &request(
                    &t,
                    wallet.id,
                    7,
                    WalletPayload::Ed25519Message(message.clone()),
                    &device,
                    T0,
                ),
                T0,
            )
            .unwrap();

        // The owner takes the seed out (the one exit) and derives with affix-wallet.
        let start = T0
            + if words == WordCount::Words12 {
                0
            } else {
                10 * f.window_ms
            };
        let phrase = export(&f, &t, owner, wallet.id, start);
        let mnemonic = Mnemonic::parse(&phrase).unwrap();
        assert_eq!(mnemonic.word_count(), usize::from(wallet.words));
        let seed = mnemonic.to_seed("");
        for (chain, index, got) in &addresses {
            let path = DerivationPath::parse(&got.path).unwrap();
            assert_eq!(path, chain.path(*index).unwrap());
            let expected = match chain {
                WalletChain::Ethereum => seed.derive_secp256k1(&path).unwrap().ethereum_address(),
                WalletChain::Bitcoin(n) => seed
                    .derive_secp256k1(&path)
                    .unwrap()
                    .bitcoin_p2wpkh_address(*n),
                _ => hex::encode(
                    seed.derive_ed25519(&path)
                        .unwrap()
                        .verifying_key()
                        .to_bytes(),
                ),
            };
            assert_eq!(got.address, expected, "{chain:?} {index}");
        }
        assert_eq!(
            addresses[0].2.path, "m/44'/60'/0'/0/0",
            "Ethereum is the MetaMask path"
        );
        assert!(addresses[2].2.address.starts_with("bc1q"));
        assert!(addresses[4].2.address.starts_with("tb1q"));

        // Signatures: the same as affix-wallet's keys make (RFC 6979 and Ed25519 are
        // deterministic), and they recover or verify to the derived keys.
        let eth7 = seed
            .derive_secp256k1(&DerivationPath::ethereum(7).unwrap())
            .unwrap();
        assert_eq!(eip191.signature, eth7.sign_eip191(&message).unwrap());
        assert_eq!(
            recover_eip191(&message, &eip191.signature),
            eth7.ethereum_address()
        );
        assert_eq!(eip191.address.address, eth7.ethereum_address());
        let eth0 = seed
            .derive_secp256k1(&DerivationPath::ethereum(0).unwrap())
            .unwrap();
        assert_eq!(raw.signature, eth0.sign_prehash_recoverable(&hash).unwrap());
        let ed7 = seed
            .derive_ed25519(&WalletChain::Ed25519.path(7).unwrap())
            .unwrap();
        assert_eq!(ed.signature, ed7.sign(&message).to_bytes());

        // Every signature and the export are recorded about the wallet; no record holds
        // the mnemonic or the message.
        let audit = f.vault.audit_wallet(&t, &wallet.id, 100).unwrap();
        let kinds: Vec<&str> = audit.iter().map(|e| e.record.kind()).collect();
        assert_eq!(
            kinds,
            [
                "vault.wallet.created",
                "vault.wallet.signed",
                "vault.wallet.signed",
                "vault.wallet.signed",
                "vault.wallet.seed-exported"
            ]
        );
        assert!(
            audit
                .iter()
                .find(|e| e.leaf == eip191.evidence_leaf)
                .unwrap()
                .record
                .covers(&message, Some("signed"))
        );
        let first_words: String = phrase.split(' ').take(3).collect::<Vec<_>>().join(" ");
        for e in f
            .vault
            .audit_owner(&t, owner, 100)
            .unwrap()
            .iter()
            .chain(&audit)
        {
            let bytes = e.record.encode();
            assert!(
                !bytes
                    .windows(first_words.len())
                    .any(|w| w == first_words.as_bytes())
            );
            assert!(
                !bytes
                    .windows(message.len())
                    .any(|w| w == message.as_slice())
            );
        }
    }
}

#[test]
fn wallet_signing_needs_the_owners_fresh_authorization_of_exactly_that() {
    let f = fixture();
    let t = tenant("people");
    let (owner, device) = enrol(&f.vault, &t);
    let (stranger_owner, stranger) = enrol(&f.vault, &t);
    let wallet = f
        .vault
        .create_wallet(&t, owner, WordCount::Words12, T0)
        .unwrap();
    let other = f
        .vault
        .create_wallet(&t, stranger_owner, WordCount::Words12, T0)
        .unwrap();
    let msg = || WalletPayload::EthereumMessage(b"transfer 1 ETH".to_vec());
    let before = f.vault.evidence_len();
    let refused = |r: WalletSignRequest, now: u64| {
        let e = f.vault.wallet_sign(&r, now).unwrap_err();
        assert!(matches!(e, Error::AuthorizationRefused(_)), "{e:?}");
    };

    // The good one, then its replay.
    let good = request(&t, wallet.id, 0, msg(), &device, T0);
    f.vault.wallet_sign(&good, T0).unwrap();
    let e = f.vault.wallet_sign(&good, T0 + 1).unwrap_err();
    assert!(
        matches!(&e, Error::AuthorizationRefused(Refusal::Replayed)),
        "{e:?}"
    );
    // Another index, payload, scheme or wallet than authorized.
    let mut r = request(&t, wallet.id, 0, msg(), &device, T0);
    r.index = 1;
    refused(r, T0);
    let mut r = request(&t, wallet.id, 0, msg(), &device, T0);
    r.payload = WalletPayload::EthereumMessage(b"transfer 100 ETH".to_vec());
    refused(r, T0);
    let mut r = request(&t, wallet.id, 0, msg(), &device, T0);
    r.payload = WalletPayload::Ed25519Message(b"transfer 1 ETH".to_vec());
    refused(r, T0);
    let mut r = request(&t, other.id, 0, msg(), &stranger, T0);
    r.wallet = wallet.id;
    refused(r, T0);
    // Someone else's credential; a forged signature; expired; too long-lived.
    refused(request(&t, wallet.id, 0, msg(), &stranger, T0), T0);
    let mut r = request(&t, wallet.id, 0, msg(), &device, T0);
    r.authorization.signature[3] ^= 1;
    refused(r, T0);
    refused(request(&t, wallet.id, 0, msg(), &device, T0), T0 + 60_000);
    let long =
        UnboundStatement::for_wallet_signing(&t, wallet.id, 0, &msg(), T0, 10 * 60_000).unwrap();
    refused(
        WalletSignRequest {
            authorization: device.authorize(long),
            ..request(&t, wallet.id, 0, msg(), &device, T0)
        },
        T0,
    );
    // An e-signature key's sign authorization is not a wallet authorization.
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::EcdsaSecp256k1, T0)
        .unwrap();
    let key_payload = affix_vault::Payload::Message(b"transfer 1 ETH".to_vec());
    let stmt =
        affix_vault::UnboundStatement::for_signing(&t, key.id, &key_payload, None, T0, 60_000)
            .unwrap();
    refused(
        WalletSignRequest {
            authorization: device.authorize(stmt),
            ..request(&t, wallet.id, 0, msg(), &device, T0)
        },
        T0,
    );
    // Other tenants do not see the wallet, even with the owner's authorization.
    let mut r = request(&t, wallet.id, 0, msg(), &device, T0);
    r.tenant = tenant("elsewhere");
    f.vault
        .create_wallet(&r.tenant, owner, WordCount::Words12, T0)
        .unwrap();
    assert!(matches!(
        f.vault.wallet_sign(&r, T0),
        Err(Error::WalletNotFound(_))
    ));
    assert!(matches!(
        f.vault
            .wallet_address(&r.tenant, &wallet.id, WalletChain::Ethereum, 0),
        Err(Error::WalletNotFound(_))
    ));
    // Oversized message.
    let big = WalletPayload::EthereumMessage(vec![0; affix_vault::MESSAGE_BYTES_MAX + 1]);
    assert!(matches!(
        f.vault
            .wallet_sign(&request(&t, wallet.id, 0, big, &device, T0), T0),
        Err(Error::TooLarge { .. })
    ));
    // Records: the good signature, the key creation and the other tenant's wallet.
    assert_eq!(f.vault.evidence_len(), before + 3);
    let signed = f
        .vault
        .audit_wallet(&t, &wallet.id, 100)
        .unwrap()
        .iter()
        .filter(|e| e.record.kind() == "vault.wallet.signed")
        .count();
    assert_eq!(signed, 1);
}

#[test]
fn seed_export_needs_the_authority_and_a_second_party_the_window_and_the_recipient_once() {
    let f = fixture();
    let t = tenant("people");
    let (owner, device) = enrol(&f.vault, &t);
    let code = RecoveryCode::generate().unwrap();
    let digest = code.digest().unwrap();
    let set_code = UnboundStatement::for_action(
        &t,
        Action::SetRecoveryCode,
        None,
        digest.authorization_digest(),
        T0,
        60_000,
    )
    .unwrap();
    f.vault
        .set_recovery_code(&t, owner, &digest, &device.authorize(set_code), T0)
        .unwrap();
    let wallet = f
        .vault
        .create_wallet(&t, owner, WordCount::Words24, T0)
        .unwrap();
    let recipient = DeviceKey::generate().unwrap();
    let start = |now: u64| {
        f.vault.start_seed_export(
            &t,
            owner,
            wallet.id,
            CredentialKind::Ed25519,
            &recipient.public_key(),
            &identity(),
            &notified,
            now,
        )
    };

    // E-signature keys have no export path: a key id is no wallet.
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let e = f
        .vault
        .start_seed_export(
            &t,
            owner,
            WalletId(key.id.0),
            CredentialKind::Ed25519,
            &recipient.public_key(),
            &identity(),
            &notified,
            T0,
        )
        .unwrap_err();
    assert!(matches!(e, Error::WalletNotFound(_)), "{e:?}");
    // Nor can someone export another owner's wallet.
    let (other_owner, _) = enrol(&f.vault, &t);
    assert!(matches!(
        f.vault.start_seed_export(
            &t,
            other_owner,
            wallet.id,
            CredentialKind::Ed25519,
            &recipient.public_key(),
            &identity(),
            &notified,
            T0
        ),
        Err(Error::WalletNotFound(_))
    ));

    // First attempt: cancelled by the owner's device inside the window.
    let id = start(T0).unwrap();
    assert!(matches!(start(T0 + 1), Err(Error::RateLimited(_))));
    approve_platform_and_notary(&f, &t, owner, id, T0);
    let stmt = UnboundStatement::for_action(
        &t,
        Action::CancelRecovery,
        None,
        Sha256::digest(id.0).into(),
        T0 + 5,
        60_000,
    )
    .unwrap();
    f.vault
        .cancel_recovery(&t, owner, id, &device.authorize(stmt), T0 + 5)
        .unwrap();
    let after = T0 + f.window_ms;
    let e = f
        .vault
        .complete_seed_export(
            &t,
            owner,
            id,
            &export_authorization(&t, &recipient, id, wallet.id, after),
            after,
        )
        .unwrap_err();
    assert!(
        matches!(&e, Error::RecoveryRefused(RecoveryRefusal::Cancelled)),
        "{e:?}"
    );

    // Second attempt, after the rate-limit interval: one party is not enough.
    let t1 = T0 + 2 * f.window_ms;
    let id = start(t1).unwrap();
    let message = f
        .vault
        .recovery(&t, owner, id)
        .unwrap()
        .approval_message(&t, id);
    // A credential-recovery approval does not count for an export.
    let wrong = affix_vault::recovery::approval_message(&t, owner, id, &recipient.public_key());
    assert!(
        f.vault
            .approve_recovery(
                &t,
                owner,
                id,
                Approval::Platform {
                    signature: f.platform.sign(&wrong).to_bytes().to_vec()
                },
                t1
            )
            .is_err()
    );
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::Platform {
                signature: f.platform.sign(&message).to_bytes().to_vec(),
            },
            t1,
        )
        .unwrap();
    let done = t1 + f.window_ms;
    let auth = |now| export_authorization(&t, &recipient, id, wallet.id, now);
    assert!(matches!(
        f.vault
            .complete_seed_export(&t, owner, id, &auth(done), done),
        Err(Error::RecoveryRefused(
            RecoveryRefusal::AuthorityApprovalMissing
        ))
    ));
    // The platform and the owner's code: two parties, but no authority.
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::RecoveryCode(code.as_str().to_owned()),
            t1,
        )
        .unwrap();
    assert!(matches!(
        f.vault
            .complete_seed_export(&t, owner, id, &auth(done), done),
        Err(Error::RecoveryRefused(
            RecoveryRefusal::AuthorityApprovalMissing
        ))
    ));
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::Authority {
                name: "notary".into(),
                signature: f.notary.sign(&message).to_bytes().to_vec(),
            },
            t1,
        )
        .unwrap();
    // Approved, but the window still runs.
    assert!(matches!(
        f.vault
            .complete_seed_export(&t, owner, id, &auth(done - 1), done - 1),
        Err(Error::RecoveryRefused(RecoveryRefusal::WindowOpen { .. }))
    ));
    // Completing it as a credential recovery registers nothing.
    assert!(matches!(
        f.vault.complete_recovery(&t, owner, id, done),
        Err(Error::RecoveryRefused(
            RecoveryRefusal::NotACredentialRecovery
        ))
    ));
    // Only the recipient key's authorization of this export releases the seed.
    let e = f
        .vault
        .complete_seed_export(
            &t,
            owner,
            id,
            &export_authorization(&t, &device, id, wallet.id, done),
            done,
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::AuthorizationRefused(Refusal::SignatureInvalid)),
        "{e:?}"
    );
    let e = f
        .vault
        .complete_seed_export(
            &t,
            owner,
            id,
            &export_authorization(&t, &recipient, id, WalletId([0x80; 16]), done),
            done,
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::AuthorizationRefused(Refusal::DigestMismatch)),
        "{e:?}"
    );
    let exported = f
        .vault
        .complete_seed_export(&t, owner, id, &auth(done), done)
        .unwrap();
    assert_eq!(exported.mnemonic.split(' ').count(), 24);
    Mnemonic::parse(&exported.mnemonic).unwrap();
    // Once.
    assert!(matches!(
        f.vault
            .complete_seed_export(&t, owner, id, &auth(done + 1), done + 1),
        Err(Error::RecoveryRefused(RecoveryRefusal::Completed))
    ));
    // The owner's credentials are untouched: the device still signs.
    f.vault
        .wallet_sign(
            &request(
                &t,
                wallet.id,
                0,
                WalletPayload::EthereumHash([1; 32]),
                &device,
                done,
            ),
            done,
        )
        .unwrap();
    let kinds: Vec<String> = f
        .vault
        .audit_owner(&t, owner, 100)
        .unwrap()
        .iter()
        .map(|e| e.record.kind().to_owned())
        .collect();
    assert!(
        kinds.contains(&"vault.wallet.seed-exported".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"vault.recovery.cancelled".to_owned()),
        "{kinds:?}"
    );
}

#[test]
fn a_flipped_byte_in_a_stored_wallet_never_yields_a_signature() {
    const WALLETS: redb::TableDefinition<&[u8; 16], &[u8]> = redb::TableDefinition::new("wallets");
    let f = fixture();
    let t = tenant("people");
    let (owner, device) = enrol(&f.vault, &t);
    let wallet = f
        .vault
        .create_wallet(&t, owner, WordCount::Words12, T0)
        .unwrap();
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
        ..
    } = f;
    drop(vault);
    let db_path = path.join("vault.redb");
    let original = {
        let db = redb::Database::open(&db_path).unwrap();
        let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
        let table = tx.open_table(WALLETS).unwrap();
        table.get(&wallet.id.0).unwrap().unwrap().value().to_vec()
    };
    assert_eq!(original.len(), affix_vault::record::WALLET_RECORD_LEN);
    for i in 0..original.len() {
        let mut bad = original.clone();
        bad[i] ^= 0x01;
        {
            let db = redb::Database::open(&db_path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(WALLETS)
                .unwrap()
                .insert(&wallet.id.0, bad.as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
        let payload = WalletPayload::EthereumMessage(format!("m{i}").into_bytes());
        let result = vault.wallet_sign(&request(&t, wallet.id, 0, payload, &device, T0), T0);
        assert!(result.is_err(), "byte {i} flipped, yet it signed");
        assert!(
            vault
                .wallet_address(&t, &wallet.id, WalletChain::Ethereum, 0)
                .is_err(),
            "byte {i} flipped, yet it derived"
        );
    }
}

#[test]
fn rotation_reseals_wallet_seeds_which_keep_their_addresses_and_sign() {
    const WALLETS: redb::TableDefinition<&[u8; 16], &[u8]> = redb::TableDefinition::new("wallets");
    let f = fixture();
    let t = tenant("people");
    let (owner, device) = enrol(&f.vault, &t);
    let wallets: Vec<_> = (0..5)
        .map(|i| {
            let words = if i % 2 == 0 {
                WordCount::Words12
            } else {
                WordCount::Words24
            };
            f.vault.create_wallet(&t, owner, words, T0).unwrap()
        })
        .collect();
    f.vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let addresses: Vec<_> = wallets
        .iter()
        .map(|w| {
            f.vault
                .wallet_address(&t, &w.id, WalletChain::Ethereum, 0)
                .unwrap()
        })
        .collect();
    let new_path = f.path.parent().unwrap().join("master2.key");
    KeyFileMaster::create(&new_path).unwrap();
    let report =
        affix_vault::rotation::rotate(&f.vault, master(&new_path), T0, &mut |_, _| {}).unwrap();
    assert_eq!((report.resealed, report.total), (1, 1));
    assert_eq!((report.wallets_resealed, report.wallets_total), (5, 5));
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
        ..
    } = f;
    drop(vault);
    // Each stored record changed only its envelope: KEK generation and sealed bytes.
    {
        let db = redb::Database::open(path.join("vault.redb")).unwrap();
        let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
        let table = tx.open_table(WALLETS).unwrap();
        for w in &wallets {
            let record =
                affix_vault::WalletRecord::decode(table.get(&w.id.0).unwrap().unwrap().value())
                    .unwrap();
            assert_eq!(record.kek_gen, 2);
            assert_eq!(
                (record.owner, record.words, record.created_ms),
                (owner, w.words, T0)
            );
        }
    }
    assert!(matches!(
        Vault::open(&path, master(&master_path), VaultConfig::default()),
        Err(Error::WrongMasterKey { .. })
    ));
    let vault = Vault::open(&path, master(&new_path), VaultConfig::default()).unwrap();
    for (w, before) in wallets.iter().zip(&addresses) {
        assert_eq!(
            &vault
                .wallet_address(&t, &w.id, WalletChain::Ethereum, 0)
                .unwrap(),
            before
        );
        let message = b"after rotation".to_vec();
        let signed = vault
            .wallet_sign(
                &request(
                    &t,
                    w.id,
                    0,
                    WalletPayload::EthereumMessage(message.clone()),
                    &device,
                    T0 + 1,
                ),
                T0 + 1,
            )
            .unwrap();
        assert_eq!(recover_eip191(&message, &signed.signature), before.address);
    }
}
