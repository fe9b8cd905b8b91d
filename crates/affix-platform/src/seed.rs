//! Bulk seeding and inspection of the store for benchmarks (`affix-bench loans`), behind
//! the `bench` feature: nothing outside the benchmark writes this way.
//!
//! The loan scheduler benchmark needs a million effective loans in the state the
//! platform leaves them in, much faster than a million signing ceremonies. These
//! functions write the same rows `create_contract`, `open_loan` and the scheduler
//! write — with multi-row inserts in one transaction per call — so the SQL stays in the
//! crate that owns the schema. The caller computes the pure part (content, book, due
//! actions) with `affix-contract`, as the platform does.
//!
//! The seeded contracts carry no signing events (the scheduler never reads them): event
//! count 0 and an all-zero head.

// Counts and times are stored as SQL BIGINT (i64); they come from the caller's loop
// counters and clocks, far below 2^63.
#![allow(clippy::cast_possible_wrap)]

use affix_contract::{ContractContent, DueAction, PartyId, RuleSet, Sha256Digest, Template};
use affix_identity::Date;
use sqlx::Row as _;

use crate::service::loans::action_text;
use crate::store::Engine;
use crate::{Error, Platform};

/// Rows per multi-row INSERT: at most 14 columns × 500 = 7,000 parameters, within
/// SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 500;

/// The template name `create_contract` stores for a loan note (its API name).
const LOAN_NOTE_TEMPLATE: &str = "loan_note";

/// Validity of a seeded contract's invitations (as the platform's default).
const EXPIRY_MS: u64 = 14 * 86_400_000;

/// A person of the seeded tenant.
#[derive(Debug, Clone)]
pub struct SeedPerson {
    /// Person id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Mobile number.
    pub mobile: String,
}

/// A party of a seeded loan note.
#[derive(Debug, Clone)]
pub struct SeedParty {
    /// The party id in the contract content.
    pub id: PartyId,
    /// The person (of [`seed_persons`]) behind it.
    pub person_id: String,
    /// The salt of the party's identity commitment in the content.
    pub salt: [u8; 32],
}

/// An effective loan note and its loan after the scheduler's days before the evaluated
/// one: the actions it enqueued then (stored as carried out) and the next due day.
#[derive(Debug, Clone)]
pub struct SeedLoan {
    /// The signed content (a loan note).
    pub content: ContractContent,
    /// When the contract was created.
    pub created_ms: u64,
    /// Lender, then borrower.
    pub parties: [SeedParty; 2],
    /// The loan book's head.
    pub head: Sha256Digest,
    /// The next day a rule is due, if any.
    pub next_due: Option<Date>,
    /// The actions already enqueued, each with the time its evidence record carries.
    pub actions: Vec<(DueAction, u64)>,
}

fn ms(value: u64) -> i64 {
    value as i64
}

/// `INSERT INTO table (cols) VALUES ($1, …), …` for `rows` rows.
fn insert_sql(table: &str, cols: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut p = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            p += 1;
            sql.push('$');
            sql.push_str(&p.to_string());
        }
        sql.push(')');
    }
    sql
}

/// Creates tenant `id`.
///
/// # Errors
/// [`Error::Db`] (a tenant with this id exists, or the store fails).
pub async fn seed_tenant(platform: &Platform, id: &str, name: &str) -> Result<(), Error> {
    crate::store::tenants::insert(platform.store.pool(), id, name, 0).await
}

/// Adds `persons` to `tenant`, in one transaction.
///
/// # Errors
/// [`Error::Db`].
pub async fn seed_persons(
    platform: &Platform,
    tenant: &str,
    persons: &[SeedPerson],
) -> Result<(), Error> {
    let cols = ["id", "tenant_id", "name", "email", "mobile", "created_ms"];
    let mut tx = platform.store.pool().begin().await?;
    for rows in persons.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql("persons", &cols, rows.len());
        let mut q = sqlx::query(&sql);
        for p in rows {
            q = q
                .bind(p.id.clone())
                .bind(tenant)
                .bind(p.name.clone())
                .bind(p.email.clone())
                .bind(p.mobile.clone())
                .bind(0_i64);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Adds loan notes (`loans`) of `tenant`, every one under `rules` and evaluated through
/// `evaluated_through`, in one transaction: the contract, its two parties, the loan and
/// the actions already enqueued (state `done`, their records submitted). Returns the
/// number of actions stored.
///
/// # Errors
/// [`Error::Contract`] encoding an action's record; [`Error::Db`].
pub async fn seed_loans(
    platform: &Platform,
    tenant: &str,
    rules: &RuleSet,
    evaluated_through: Date,
    loans: &[SeedLoan],
) -> Result<u64, Error> {
    let rules_json = rules.to_json();
    let title = Template::loan_note().title().to_owned();
    let mut tx = platform.store.pool().begin().await?;
    const CONTRACT_COLS: [&str; 14] = [
        "id",
        "tenant_id",
        "template_id",
        "title",
        "status",
        "content",
        "document",
        "document_name",
        "event_count",
        "head",
        "created_ms",
        "updated_ms",
        "expires_ms",
        "loan_rules",
    ];
    for rows in loans.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql("contracts", &CONTRACT_COLS, rows.len());
        let mut q = sqlx::query(&sql);
        for l in rows {
            q = q
                .bind(l.content.contract_id().to_string())
                .bind(tenant)
                .bind(LOAN_NOTE_TEMPLATE)
                .bind(title.clone())
                .bind("effective")
                .bind(l.content.encode())
                .bind(None::<Vec<u8>>)
                .bind(None::<String>)
                .bind(0_i64)
                .bind(vec![0u8; 32])
                .bind(ms(l.created_ms))
                .bind(ms(l.created_ms))
                .bind(ms(l.created_ms + EXPIRY_MS))
                .bind(rules_json.clone());
        }
        q.execute(&mut *tx).await?;
    }
    const PARTY_COLS: [&str; 8] = [
        "contract_id",
        "party_id",
        "tenant_id",
        "person_id",
        "position",
        "role",
        "salt",
        "seal",
    ];
    for rows in loans.chunks(ROWS_PER_INSERT / 2) {
        let sql = insert_sql("contract_parties", &PARTY_COLS, rows.len() * 2);
        let mut q = sqlx::query(&sql);
        for l in rows {
            for (position, party) in l.parties.iter().enumerate() {
                q = q
                    .bind(l.content.contract_id().to_string())
                    .bind(party.id.to_string())
                    .bind(tenant)
                    .bind(party.person_id.clone())
                    .bind(position as i64)
                    .bind(if position == 0 { "initiator" } else { "signer" })
                    .bind(party.salt.to_vec())
                    .bind(0_i64);
            }
        }
        q.execute(&mut *tx).await?;
    }
    // As open_loan fills a loans row, after the scheduler's days up to
    // `evaluated_through`.
    const LOAN_COLS: [&str; 11] = [
        "contract_id",
        "tenant_id",
        "lender_party",
        "borrower_party",
        "rules",
        "event_count",
        "action_count",
        "head",
        "next_due",
        "evaluated_through",
        "created_ms",
    ];
    for rows in loans.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql("loans", &LOAN_COLS, rows.len());
        let mut q = sqlx::query(&sql);
        for l in rows {
            q = q
                .bind(l.content.contract_id().to_string())
                .bind(tenant)
                .bind(l.parties[0].id.to_string())
                .bind(l.parties[1].id.to_string())
                .bind(rules_json.clone())
                .bind(0_i64)
                .bind(l.actions.len() as i64)
                .bind(l.head.as_bytes().to_vec())
                .bind(l.next_due.map(|d| d.to_string()))
                .bind(evaluated_through.to_string())
                .bind(ms(l.created_ms));
        }
        q.execute(&mut *tx).await?;
    }
    const ACTION_COLS: [&str; 11] = [
        "key",
        "contract_id",
        "seq",
        "day",
        "rule",
        "action",
        "state",
        "deliveries",
        "record",
        "submitted",
        "created_ms",
    ];
    let actions: Vec<_> = loans
        .iter()
        .flat_map(|l| {
            l.actions
                .iter()
                .enumerate()
                .map(move |(seq, a)| (l, seq, a))
        })
        .collect();
    for rows in actions.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql("loan_actions", &ACTION_COLS, rows.len());
        let mut q = sqlx::query(&sql);
        for (l, seq, (a, at_ms)) in rows {
            q = q
                .bind(a.key.as_str().to_owned())
                .bind(l.content.contract_id().to_string())
                .bind(*seq as i64)
                .bind(a.on.to_string())
                .bind(a.rule.as_str().to_owned())
                .bind(action_text(&a.action))
                .bind("done")
                .bind("[]")
                .bind(a.to_evidence(&platform.submitter, *at_ms)?.encode())
                .bind(1_i64)
                .bind(ms(l.created_ms));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(actions.len() as u64)
}

/// Refreshes the planner statistics of the loan tables, as autovacuum/ANALYZE would
/// have them on a live database. (On PostgreSQL only the platform's tables: a plain
/// ANALYZE warns about every shared catalog a non-superuser may not analyze.)
///
/// # Errors
/// [`Error::Db`].
pub async fn analyze(platform: &Platform) -> Result<(), Error> {
    sqlx::query(match platform.store.engine() {
        Engine::Sqlite => "ANALYZE",
        Engine::Postgres => {
            "ANALYZE tenants, persons, contracts, contract_parties, loans, loan_actions"
        }
    })
    .execute(platform.store.pool())
    .await?;
    Ok(())
}

/// Loans with a rule due on or before `day`.
///
/// # Errors
/// [`Error::Db`].
pub async fn due_loans(platform: &Platform, day: Date) -> Result<u64, Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM loans WHERE next_due IS NOT NULL AND next_due <= $1",
    )
    .bind(day.to_string())
    .fetch_one(platform.store.pool())
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Whether any loan has a rule due on or before `day`.
///
/// # Errors
/// [`Error::Db`].
pub async fn any_loan_due(platform: &Platform, day: Date) -> Result<bool, Error> {
    let row: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM loans WHERE next_due IS NOT NULL AND next_due <= $1 LIMIT 1",
    )
    .bind(day.to_string())
    .fetch_optional(platform.store.pool())
    .await?;
    Ok(row.is_some())
}

/// Loans evaluated through exactly `day`.
///
/// # Errors
/// [`Error::Db`].
pub async fn loans_evaluated_through(platform: &Platform, day: Date) -> Result<u64, Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM loans WHERE evaluated_through = $1")
        .bind(day.to_string())
        .fetch_one(platform.store.pool())
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Every loan action stored.
///
/// # Errors
/// [`Error::Db`].
pub async fn loan_action_count(platform: &Platform) -> Result<u64, Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM loan_actions")
        .fetch_one(platform.store.pool())
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The actions due on `day`, counted by rule, in rule order.
///
/// # Errors
/// [`Error::Db`].
pub async fn loan_actions_by_rule(
    platform: &Platform,
    day: Date,
) -> Result<Vec<(String, u64)>, Error> {
    let rows = sqlx::query(
        "SELECT rule, COUNT(*) AS n FROM loan_actions WHERE day = $1 GROUP BY rule ORDER BY rule",
    )
    .bind(day.to_string())
    .fetch_all(platform.store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("rule")?,
                u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
            ))
        })
        .collect()
}

/// A loan as the scheduler reads it from the store, still encoded (the benchmark times
/// the decoding): its signed content, rules and book head.
#[derive(Debug, Clone)]
pub struct StoredLoan {
    /// The contract content's encoding.
    pub content: Vec<u8>,
    /// The loan's rules, as JSON.
    pub rules: String,
    /// The book's head.
    pub head: Sha256Digest,
}

/// Up to `limit` loans evaluated through `day`.
///
/// # Errors
/// [`Error::Db`]; [`Error::Internal`] for a head that is not 32 bytes.
pub async fn loans_evaluated_on(
    platform: &Platform,
    day: Date,
    limit: u64,
) -> Result<Vec<StoredLoan>, Error> {
    let rows = sqlx::query(
        "SELECT c.content, l.rules, l.head FROM loans l JOIN contracts c ON c.id = l.contract_id \
         WHERE l.evaluated_through = $1 LIMIT $2",
    )
    .bind(day.to_string())
    .bind(ms(limit))
    .fetch_all(platform.store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let head: Vec<u8> = r.try_get("head")?;
            Ok(StoredLoan {
                content: r.try_get("content")?,
                rules: r.try_get("rules")?,
                head: Sha256Digest::from_bytes(
                    head.as_slice()
                        .try_into()
                        .map_err(|_| Error::Internal("stored loan head is not 32 bytes".into()))?,
                ),
            })
        })
        .collect()
}
