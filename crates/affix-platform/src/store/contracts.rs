//! A contract's tables: `contracts` (the row: status, content, document, head of the
//! event chain), `contract_parties` (who signs, with invite tokens by hash), `events`
//! (the chain, each with its evidence record), `signatures` and `party_state` (a
//! party's one-time code, signature image and prepared signature during the ceremony).
//!
//! The evidence columns of `events` (`submitted`, `leaf_hash`, `receipt`) are written
//! by the evidence queue, [`super::evidence`].

use sqlx::Row as _;

use super::{i, u};
use crate::Error;

type Any = sqlx::Any;

/// A new `contracts` row (its event count starts at 0; `updated_ms` is `created_ms`).
#[derive(Debug, Clone)]
pub struct NewContractRow<'a> {
    /// Contract id.
    pub id: &'a str,
    /// Tenant id.
    pub tenant: &'a str,
    /// Template name.
    pub template: &'a str,
    /// Title.
    pub title: &'a str,
    /// Status name.
    pub status: &'a str,
    /// The canonical content (`AFCT`).
    pub content: Vec<u8>,
    /// The uploaded document, if any.
    pub document: Option<Vec<u8>>,
    /// Its file name.
    pub document_name: Option<String>,
    /// Head of the (empty) chain.
    pub head: &'a [u8; 32],
    /// Creation time.
    pub created_ms: u64,
    /// Expiry.
    pub expires_ms: u64,
    /// The loan note's rule set (JSON).
    pub loan_rules: Option<String>,
}

/// A new `contract_parties` row.
#[derive(Debug, Clone)]
pub struct NewPartyRow<'a> {
    /// Contract id.
    pub contract: &'a str,
    /// Party id.
    pub party: &'a str,
    /// Tenant id.
    pub tenant: &'a str,
    /// Person id.
    pub person: &'a str,
    /// Position in the content's party list (0 is the initiator).
    pub position: u64,
    /// `initiator` or `signer`.
    pub role: &'a str,
    /// Salt of the party's identity commitment.
    pub salt: &'a [u8; 32],
    /// Signs with the organization's seal.
    pub seal: bool,
}

/// A party's invite, found by its token's hash.
#[derive(Debug, Clone)]
pub struct InviteRow {
    /// Contract id.
    pub contract_id: String,
    /// Party id.
    pub party_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// When the invite expires, if set.
    pub invite_expires_ms: Option<u64>,
}

/// The head of a contract: what changes with each step.
#[derive(Debug, Clone)]
pub struct HeadRow {
    /// Template name.
    pub template_id: String,
    /// Title.
    pub title: String,
    /// Hash of the last event.
    pub head: Vec<u8>,
    /// Number of events.
    pub event_count: u64,
    /// Creation time.
    pub created_ms: u64,
    /// Last change.
    pub updated_ms: u64,
}

/// A party as stored.
#[derive(Debug, Clone)]
pub struct PartyRow {
    /// Party id.
    pub party_id: String,
    /// Person id.
    pub person_id: String,
    /// Salt of the identity commitment.
    pub salt: Vec<u8>,
    /// Signs with the organization's seal.
    pub seal: bool,
}

/// One event with its evidence record and, once the ledger has them, its leaf hash and
/// receipt.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// The event's canonical bytes.
    pub bytes: Vec<u8>,
    /// The evidence record.
    pub record: Vec<u8>,
    /// Leaf hash in the ledger.
    pub leaf_hash: Option<Vec<u8>>,
    /// The receipt (C2SP tlog-proof text).
    pub receipt: Option<String>,
}

/// What the signer's credential approved for one signature (columns of `signatures`
/// since migration 0011; none for older signatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// The vault authorization, `affix_vault::Authorization::encode`.
    pub authorization: Vec<u8>,
    /// The credential kind (`affix_vault::CredentialKind::name`).
    pub credential_kind: String,
    /// The credential's public key (raw Ed25519, SEC1 P-256 or a COSE key).
    pub credential_public_key: Vec<u8>,
    /// Passkeys: the relying party id.
    pub rp_id: Option<String>,
    /// Passkeys: the origin the platform accepted ceremonies from.
    pub rp_origin: Option<String>,
}

/// One party's signature.
#[derive(Debug, Clone)]
pub struct SignatureRow {
    /// Party id.
    pub party_id: String,
    /// The CMS signature (DER).
    pub cms: Vec<u8>,
    /// The signer's certificate (DER).
    pub certificate: Vec<u8>,
    /// The RFC 3161 time-stamp token (DER).
    pub timestamp_token: Vec<u8>,
    /// The handwritten-signature image (PNG).
    pub image: Vec<u8>,
    /// What the signer's credential approved.
    pub approval: Option<ApprovalRow>,
}

/// A new `signatures` row.
#[derive(Debug, Clone)]
pub struct NewSignatureRow<'a> {
    /// Contract id.
    pub contract: &'a str,
    /// Party id.
    pub party: &'a str,
    /// The CMS signature (DER).
    pub cms: &'a [u8],
    /// The signer's certificate (DER).
    pub certificate: &'a [u8],
    /// The RFC 3161 time-stamp token (DER).
    pub timestamp_token: &'a [u8],
    /// The handwritten-signature image (PNG).
    pub image: &'a [u8],
    /// What the signer's credential approved.
    pub approval: &'a ApprovalRow,
    /// When it was made.
    pub created_ms: u64,
}

/// A listing query: the tenant's contracts before a cursor, filtered.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    /// Tenant id.
    pub tenant: &'a str,
    /// Cursor: created before this time, or at it with a smaller id.
    pub before_ms: i64,
    /// Cursor id.
    pub before_id: &'a str,
    /// Status name.
    pub status: Option<&'a str>,
    /// Template name.
    pub template: Option<&'a str>,
    /// Person id of a party.
    pub person: Option<&'a str>,
    /// Created at or after.
    pub created_from: Option<u64>,
    /// Created before.
    pub created_to: Option<u64>,
    /// Rows wanted.
    pub limit: i64,
}

/// A column of `party_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyStateColumn {
    /// The one-time code challenge.
    Otp,
    /// The handwritten-signature image.
    Image,
    /// The prepared signature.
    Prepared,
}

impl PartyStateColumn {
    fn name(self) -> &'static str {
        match self {
            PartyStateColumn::Otp => "otp",
            PartyStateColumn::Image => "image",
            PartyStateColumn::Prepared => "prepared",
        }
    }
}

/// Inserts a contract row.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    new: NewContractRow<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO contracts (id, tenant_id, template_id, title, status, content, document, document_name, event_count, head, created_ms, updated_ms, expires_ms, loan_rules) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10, $11, $12)",
    )
    .bind(new.id)
    .bind(new.tenant)
    .bind(new.template)
    .bind(new.title)
    .bind(new.status)
    .bind(new.content)
    .bind(new.document)
    .bind(new.document_name)
    .bind(new.head.to_vec())
    .bind(i(new.created_ms))
    .bind(i(new.expires_ms))
    .bind(new.loan_rules)
    .execute(executor)
    .await?;
    Ok(())
}

/// Inserts a party row.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_party<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    new: NewPartyRow<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO contract_parties (contract_id, party_id, tenant_id, person_id, position, role, salt, seal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.contract)
    .bind(new.party)
    .bind(new.tenant)
    .bind(new.person)
    .bind(i(new.position))
    .bind(new.role)
    .bind(new.salt.to_vec())
    .bind(i64::from(new.seal))
    .execute(executor)
    .await?;
    Ok(())
}

/// Moves the contract `id` from `seq` events to `seq + 1` with its new status and head;
/// whether it was still at `seq` (another step may have got there first).
///
/// # Errors
/// [`Error::Db`].
pub async fn advance<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    seq: u64,
    status: &str,
    head: &[u8; 32],
    updated_ms: u64,
) -> Result<bool, Error> {
    let updated = sqlx::query(
        "UPDATE contracts SET status = $1, event_count = $2, head = $3, updated_ms = $4 WHERE id = $5 AND event_count = $6",
    )
    .bind(status)
    .bind(i(seq + 1))
    .bind(head.to_vec())
    .bind(i(updated_ms))
    .bind(id)
    .bind(i(seq))
    .execute(executor)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Appends event number `seq` with its evidence record, queued for the ledger.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_event<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    seq: u64,
    bytes: Vec<u8>,
    record: Vec<u8>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO events (contract_id, seq, bytes, record, submitted) VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(id)
    .bind(i(seq))
    .bind(bytes)
    .bind(record)
    .execute(executor)
    .await?;
    Ok(())
}

/// The head of the contract `id` of `tenant`, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn head<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
) -> Result<Option<HeadRow>, Error> {
    let Some(row) = sqlx::query(
        "SELECT template_id, title, head, event_count, created_ms, updated_ms FROM contracts WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(tenant)
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(HeadRow {
        template_id: row.try_get("template_id")?,
        title: row.try_get("title")?,
        head: row.try_get("head")?,
        event_count: u(row.try_get("event_count")?),
        created_ms: u(row.try_get("created_ms")?),
        updated_ms: u(row.try_get("updated_ms")?),
    }))
}

/// The title of the contract `id` (which exists).
///
/// # Errors
/// [`Error::Db`] (also for a missing contract).
pub async fn title<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<String, Error> {
    Ok(
        sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
            .bind(id)
            .fetch_one(executor)
            .await?,
    )
}

/// The canonical content of the contract `id` (which exists).
///
/// # Errors
/// [`Error::Db`] (also for a missing contract).
pub async fn content<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Vec<u8>, Error> {
    Ok(
        sqlx::query_scalar("SELECT content FROM contracts WHERE id = $1")
            .bind(id)
            .fetch_one(executor)
            .await?,
    )
}

/// The document of the contract `id` (which exists), if it has one.
///
/// # Errors
/// [`Error::Db`] (also for a missing contract).
pub async fn document<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(
        sqlx::query_scalar("SELECT document FROM contracts WHERE id = $1")
            .bind(id)
            .fetch_one(executor)
            .await?,
    )
}

/// The content, document and document name of the contract `id` (which exists).
///
/// # Errors
/// [`Error::Db`] (also for a missing contract).
pub async fn content_and_document<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<(Vec<u8>, Option<Vec<u8>>, Option<String>), Error> {
    let row = sqlx::query("SELECT content, document, document_name FROM contracts WHERE id = $1")
        .bind(id)
        .fetch_one(executor)
        .await?;
    Ok((
        row.try_get("content")?,
        row.try_get("document")?,
        row.try_get("document_name")?,
    ))
}

/// The bytes of the first `event_count` events of `id`, in order.
///
/// # Errors
/// [`Error::Db`].
pub async fn event_bytes<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    event_count: u64,
) -> Result<Vec<Vec<u8>>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT bytes FROM events WHERE contract_id = $1 AND seq < $2 ORDER BY seq",
    )
    .bind(id)
    .bind(i(event_count))
    .fetch_all(executor)
    .await?)
}

/// Every event of `id` with its evidence, in order.
///
/// # Errors
/// [`Error::Db`].
pub async fn events<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Vec<EventRow>, Error> {
    let rows = sqlx::query(
        "SELECT bytes, record, leaf_hash, receipt FROM events WHERE contract_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                bytes: r.try_get("bytes")?,
                record: r.try_get("record")?,
                leaf_hash: r.try_get("leaf_hash")?,
                receipt: r.try_get("receipt")?,
            })
        })
        .collect()
}

/// The parties of `id`, in position order.
///
/// # Errors
/// [`Error::Db`].
pub async fn parties<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Vec<PartyRow>, Error> {
    let rows = sqlx::query(
        "SELECT party_id, person_id, salt, seal FROM contract_parties WHERE contract_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PartyRow {
                party_id: r.try_get("party_id")?,
                person_id: r.try_get("person_id")?,
                salt: r.try_get("salt")?,
                seal: r.try_get::<i64, _>("seal")? != 0,
            })
        })
        .collect()
}

/// The invite whose token hashes to `invite_hash`, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn invite<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    invite_hash: &[u8; 32],
) -> Result<Option<InviteRow>, Error> {
    let Some(row) = sqlx::query(
        "SELECT contract_id, party_id, tenant_id, invite_expires_ms FROM contract_parties WHERE invite_hash = $1",
    )
    .bind(invite_hash.to_vec())
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    let expires: Option<i64> = row.try_get("invite_expires_ms")?;
    Ok(Some(InviteRow {
        contract_id: row.try_get("contract_id")?,
        party_id: row.try_get("party_id")?,
        tenant_id: row.try_get("tenant_id")?,
        invite_expires_ms: expires.map(u),
    }))
}

/// Sets the party's invite token (by hash) and its expiry.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_invite<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
    invite_hash: &[u8; 32],
    expires_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE contract_parties SET invite_hash = $1, invite_expires_ms = $2 WHERE contract_id = $3 AND party_id = $4",
    )
    .bind(invite_hash.to_vec())
    .bind(i(expires_ms))
    .bind(contract)
    .bind(party)
    .execute(executor)
    .await?;
    Ok(())
}

/// Ends every invite of the contract at `now_ms`.
///
/// # Errors
/// [`Error::Db`].
pub async fn expire_invites<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    now_ms: u64,
) -> Result<(), Error> {
    sqlx::query("UPDATE contract_parties SET invite_expires_ms = $1 WHERE contract_id = $2")
        .bind(i(now_ms))
        .bind(contract)
        .execute(executor)
        .await?;
    Ok(())
}

/// (id, created time) of the tenant's contracts matching `query`, newest first.
///
/// # Errors
/// [`Error::Db`].
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    query: &ListQuery<'_>,
) -> Result<Vec<(String, i64)>, Error> {
    let mut sql = String::from(
        "SELECT c.id, c.created_ms FROM contracts c WHERE c.tenant_id = $1 AND (c.created_ms < $2 OR (c.created_ms = $2 AND c.id < $3))",
    );
    let mut n = 3;
    let mut binds: Vec<String> = Vec::new();
    let mut int_binds: Vec<(usize, i64)> = Vec::new();
    if let Some(s) = query.status {
        n += 1;
        sql.push_str(&format!(" AND c.status = ${n}"));
        binds.push(s.to_owned());
    }
    if let Some(t) = query.template {
        n += 1;
        sql.push_str(&format!(" AND c.template_id = ${n}"));
        binds.push(t.to_owned());
    }
    if let Some(p) = query.person {
        n += 1;
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM contract_parties p WHERE p.contract_id = c.id AND p.person_id = ${n})"
        ));
        binds.push(p.to_owned());
    }
    let text_binds = binds.len();
    if let Some(f) = query.created_from {
        n += 1;
        sql.push_str(&format!(" AND c.created_ms >= ${n}"));
        int_binds.push((n, i(f)));
    }
    if let Some(t) = query.created_to {
        n += 1;
        sql.push_str(&format!(" AND c.created_ms < ${n}"));
        int_binds.push((n, i(t)));
    }
    n += 1;
    sql.push_str(&format!(
        " ORDER BY c.created_ms DESC, c.id DESC LIMIT ${n}"
    ));
    let mut q = sqlx::query(&sql)
        .bind(query.tenant)
        .bind(query.before_ms)
        .bind(query.before_id);
    for b in binds.iter().take(text_binds) {
        q = q.bind(b.clone());
    }
    for (_, v) in &int_binds {
        q = q.bind(*v);
    }
    q = q.bind(query.limit);
    let rows = q.fetch_all(executor).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("created_ms")?)))
        .collect()
}

/// (id, tenant) of up to 100 open contracts whose expiry is at or before `now_ms`.
///
/// # Errors
/// [`Error::Db`].
pub async fn due_to_expire<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    now_ms: u64,
) -> Result<Vec<(String, String)>, Error> {
    let rows = sqlx::query(
        "SELECT id, tenant_id FROM contracts WHERE status IN ('draft', 'sent', 'partially_signed') AND expires_ms <= $1 LIMIT 100",
    )
    .bind(i(now_ms))
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("tenant_id")?)))
        .collect()
}

/// The signatures of `id`, in the order they were made.
///
/// # Errors
/// [`Error::Db`].
pub async fn signatures<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Vec<SignatureRow>, Error> {
    let rows = sqlx::query(
        "SELECT party_id, cms, certificate, timestamp_token, image, authorization_proof, credential_kind, credential_public_key, rp_id, rp_origin FROM signatures WHERE contract_id = $1 ORDER BY created_ms",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SignatureRow {
                party_id: r.try_get("party_id")?,
                cms: r.try_get("cms")?,
                certificate: r.try_get("certificate")?,
                timestamp_token: r.try_get("timestamp_token")?,
                image: r.try_get("image")?,
                approval: match r.try_get::<Option<Vec<u8>>, _>("authorization_proof")? {
                    None => None,
                    Some(authorization) => Some(ApprovalRow {
                        authorization,
                        credential_kind: r.try_get("credential_kind")?,
                        credential_public_key: r.try_get("credential_public_key")?,
                        rp_id: r.try_get("rp_id")?,
                        rp_origin: r.try_get("rp_origin")?,
                    }),
                },
            })
        })
        .collect()
}

/// Inserts a party's signature.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_signature<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    new: NewSignatureRow<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO signatures (contract_id, party_id, cms, certificate, timestamp_token, image, created_ms, authorization_proof, credential_kind, credential_public_key, rp_id, rp_origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(new.contract)
    .bind(new.party)
    .bind(new.cms.to_vec())
    .bind(new.certificate.to_vec())
    .bind(new.timestamp_token.to_vec())
    .bind(new.image.to_vec())
    .bind(i(new.created_ms))
    .bind(new.approval.authorization.clone())
    .bind(new.approval.credential_kind.clone())
    .bind(new.approval.credential_public_key.clone())
    .bind(new.approval.rp_id.clone())
    .bind(new.approval.rp_origin.clone())
    .execute(executor)
    .await?;
    Ok(())
}

/// The e-mail address of `person` and the party's stored one-time code challenge.
///
/// # Errors
/// [`Error::Db`] (also for a missing person).
pub async fn email_and_otp<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
    person: &str,
) -> Result<(String, Option<Vec<u8>>), Error> {
    let row = sqlx::query(
        "SELECT p.email, s.otp FROM persons p LEFT JOIN party_state s ON s.contract_id = $1 AND s.party_id = $2 WHERE p.id = $3",
    )
    .bind(contract)
    .bind(party)
    .bind(person)
    .fetch_one(executor)
    .await?;
    Ok((row.try_get("email")?, row.try_get("otp")?))
}

/// The party's stored one-time code challenge, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn otp<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(
        sqlx::query_scalar("SELECT otp FROM party_state WHERE contract_id = $1 AND party_id = $2")
            .bind(contract)
            .bind(party)
            .fetch_optional(executor)
            .await?
            .flatten(),
    )
}

/// Replaces the party's one-time-code challenge `old` by `new` only if it is still
/// `old` (compare and swap); returns whether it was. Concurrent checks of one code
/// are thereby serialized: each attempt is counted on the state it read.
///
/// # Errors
/// [`Error::Db`].
pub async fn swap_otp<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE party_state SET otp = $1 WHERE contract_id = $2 AND party_id = $3 AND otp = $4",
    )
    .bind(new.to_vec())
    .bind(contract)
    .bind(party)
    .bind(old.to_vec())
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// [`swap_otp`] that also handles a party with no one-time-code state yet (`old` =
/// `None`: no `party_state` row, or its `otp` is NULL): the new state is written only if
/// there still is none. Returns whether the swap happened.
///
/// # Errors
/// [`Error::Db`].
pub async fn swap_otp_state<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
    old: Option<&[u8]>,
    new: &[u8],
) -> Result<bool, Error> {
    if let Some(old) = old {
        return swap_otp(executor, contract, party, old, new).await;
    }
    let done = sqlx::query(
        "INSERT INTO party_state (contract_id, party_id, otp) VALUES ($1, $2, $3) \
         ON CONFLICT (contract_id, party_id) DO UPDATE SET otp = excluded.otp WHERE party_state.otp IS NULL",
    )
    .bind(contract)
    .bind(party)
    .bind(new.to_vec())
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Clears the party's one-time-code state: the identity-check lock, the counters of
/// challenges and failed codes, and any pending challenge (the party asks for a new
/// code). For the path that re-invites a party (a fresh invite token), in the same
/// transaction.
///
/// # Errors
/// [`Error::Db`].
pub async fn reset_identity_lock<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE party_state SET otp = NULL WHERE contract_id = $1 AND party_id = $2")
        .bind(contract)
        .bind(party)
        .execute(executor)
        .await?;
    Ok(())
}

/// Whether the party stored a signature image (without reading it).
///
/// # Errors
/// [`Error::Db`].
pub async fn has_image<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
) -> Result<bool, Error> {
    let image = sqlx::query(
        "SELECT 1 FROM party_state WHERE contract_id = $1 AND party_id = $2 AND image IS NOT NULL",
    )
    .bind(contract)
    .bind(party)
    .fetch_optional(executor)
    .await?;
    Ok(image.is_some())
}

/// The party's prepared signature and signature image, if the party has a state row.
///
/// # Errors
/// [`Error::Db`].
#[allow(clippy::type_complexity)]
pub async fn prepared_and_image<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
) -> Result<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>, Error> {
    let Some(state) = sqlx::query(
        "SELECT prepared, image FROM party_state WHERE contract_id = $1 AND party_id = $2",
    )
    .bind(contract)
    .bind(party)
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some((state.try_get("prepared")?, state.try_get("image")?)))
}

/// Sets one `party_state` column of the party, creating its row if needed.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_party_state<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
    column: PartyStateColumn,
    value: Option<Vec<u8>>,
) -> Result<(), Error> {
    let column = column.name();
    // `column` is one of our constants, never input.
    let sql = format!(
        "INSERT INTO party_state (contract_id, party_id, {column}) VALUES ($1, $2, $3) \
         ON CONFLICT (contract_id, party_id) DO UPDATE SET {column} = excluded.{column}"
    );
    sqlx::query(&sql)
        .bind(contract)
        .bind(party)
        .bind(value)
        .execute(executor)
        .await?;
    Ok(())
}

/// Clears the party's prepared signature (it was used).
///
/// # Errors
/// [`Error::Db`].
pub async fn clear_prepared<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    contract: &str,
    party: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE party_state SET prepared = NULL WHERE contract_id = $1 AND party_id = $2")
        .bind(contract)
        .bind(party)
        .execute(executor)
        .await?;
    Ok(())
}
