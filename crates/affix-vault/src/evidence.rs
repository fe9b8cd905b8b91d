//! Key-usage transparency: the evidence record of every vault event.
//!
//! Records carry ids, algorithms, digests and times — never secrets, never document
//! contents (only the digest that was signed), never personal data. Kinds:
//!
//! | kind | subject | digests | metadata |
//! |---|---|---|---|
//! | `vault.key.created` | `key:<id>` | `public-key` | tenant, owner, algorithm |
//! | `vault.key.signed` | `key:<id>` | `signed`, `authorization`, passkey: `assertion-authenticator-data`, `assertion-client-data`, `assertion-signature` | tenant, credential, payload, grant?, credential-kind (newer kinds), sign-count (passkeys) |
//! | `vault.key.disabled` | `key:<id>` | `authorization` | tenant, credential |
//! | `vault.grant.created` | `key:<id>` | `grant`, `authorization` | tenant, grant, grantee, purpose, not-after, max-uses |
//! | `vault.credential.registered` | `owner:<id>` | `public-key`, `authorization`?, passkey: `attestation-object`, `client-data` | tenant, credential, kind, via, passkey: attestation, aaguid, rp-id, sign-count |
//! | `vault.credential.revoked` | `owner:<id>` | `authorization` | tenant, credential, via |
//! | `vault.recovery.*` | `owner:<id>` | `identity`/`approval`/`new-credential` | tenant, recovery, party |
//! | `vault.wallet.created` | `wallet:<id>` | `header` | tenant, owner, words |
//! | `vault.wallet.signed` | `wallet:<id>` | `signed`, `authorization` | tenant, credential, scheme, path |
//! | `vault.wallet.seed-exported` | `wallet:<id>` | `recipient`, `authorization` | tenant, owner, recovery |
//! | `vault.master.rotated` | `vault` | `master-key-id` | from, to, keys, wallets |

use crate::error::Error;
use crate::ids::KeyId;
use crate::record::KeyRecord;
use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use sha2::{Digest as _, Sha256};

/// Builds and encodes one record: `kind`, `subject`, digests, metadata.
pub(crate) fn record(
    kind: &str,
    subject: &str,
    now_ms: u64,
    submitter: &str,
    digests: &[(&str, [u8; 32])],
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, Error> {
    let mut b = EvidenceRecord::builder(kind, subject, UnixMillis(now_ms), submitter);
    for (label, value) in digests {
        b = b.digest_value(label, DigestAlgorithm::Sha256, *value);
    }
    for (k, v) in metadata {
        b = b.metadata(k, v);
    }
    Ok(b.build()?.encode())
}

/// The `vault.key.created` record of key `id`: derived from the key record's public
/// fields, so the drainer can produce it from the store (see `store::OUTBOX_KEYS`).
pub(crate) fn key_created(
    id: &KeyId,
    key: &KeyRecord,
    tenant: &str,
    submitter: &str,
) -> Result<Vec<u8>, Error> {
    record(
        "vault.key.created",
        &format!("key:{id}"),
        key.created_ms,
        submitter,
        &[("public-key", Sha256::digest(&key.public_key).into())],
        &[
            ("algorithm", key.algorithm.name()),
            ("owner", &key.owner.to_string()),
            ("tenant", tenant),
        ],
    )
}

/// Event codes stored in the usage indexes.
/// (Code 2, key signatures, is not stored: signatures have `index.redb`.)
pub(crate) mod code {
    pub(crate) const KEY_DISABLED: u8 = 3;
    pub(crate) const GRANT_CREATED: u8 = 4;
    pub(crate) const CREDENTIAL_REGISTERED: u8 = 5;
    pub(crate) const CREDENTIAL_REVOKED: u8 = 6;
    pub(crate) const RECOVERY: u8 = 7;
    pub(crate) const WALLET_CREATED: u8 = 8;
    pub(crate) const WALLET_SIGNED: u8 = 9;
    pub(crate) const WALLET_SEED_EXPORTED: u8 = 10;
}
