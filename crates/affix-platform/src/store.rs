//! The database: one sqlx `AnyPool` over SQLite (embedded default) or PostgreSQL, with
//! the schema migrations of each engine (`migrations/sqlite`, `migrations/postgres`,
//! kept in step). Queries use `$n` placeholders, which both engines accept, and only
//! the types both share (`BIGINT` as `i64`, `TEXT`, `BLOB`/`BYTEA` as bytes).
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a transaction that returned is on
//! disk, so nothing acknowledged is lost on a crash. SQLite has one writer at a time:
//! writes go through [`Store::writer`], a pool of one connection, so that writers wait
//! their turn in the pool's queue instead of polling SQLite's lock (its busy handler
//! sleeps 1, 2, 5, … 100 ms between tries).

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _};

use crate::Error;

pub mod audit;
pub mod contracts;
pub mod evidence;
pub mod idempotency;
pub(crate) mod loans;
pub mod persons;
pub mod signers;
pub mod tenants;
pub mod webhooks;

/// Which engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` / `postgresql:` URLs.
    Postgres,
}

impl Engine {
    /// The engine of `url`.
    ///
    /// # Errors
    /// [`Error::Config`] for other schemes.
    pub fn of(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            Err(Error::Config(
                "database URL must start with sqlite: or postgres:".into(),
            ))
        }
    }
}

/// The connection pool and its engine.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: one connection for writes; PostgreSQL: `pool` again.
    writer: AnyPool,
    engine: Engine,
}

impl Store {
    /// Connects and applies pending migrations.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL; [`Error::Db`] if the database cannot be reached
    /// or migrated.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        install_default_drivers();
        let engine = Engine::of(url)?;
        let pool = Self::options(engine, if engine == Engine::Sqlite { 4 } else { 16 })
            .connect(url)
            .await?;
        let migrator = match engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| Error::Db(sqlx::Error::Migrate(Box::new(e))))?;
        let writer = match engine {
            Engine::Sqlite => Self::options(engine, 1).connect(url).await?,
            Engine::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            engine,
        })
    }

    fn options(engine: Engine, connections: u32) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for writes (see the module documentation). A write through
    /// [`Self::pool`] is still correct, only slower under contention; never take a
    /// second writer connection while holding one (SQLite's pool has one).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }
}

/// `u64` → `i64` for storage (values above `i64::MAX` do not occur: times, counts).
pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `i64` from storage → `u64`.
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
